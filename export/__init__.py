"""edge-anomaly workstation side: train, calibrate, quantize and export the detector."""

from edge.privacy import opt_out_of_telemetry

opt_out_of_telemetry()  # before export's modules import onnxruntime
