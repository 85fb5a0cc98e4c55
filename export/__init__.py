"""edge-anomaly workstation side: train, calibrate, quantize and export the detector."""
