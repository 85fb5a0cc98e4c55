"""edge-anomaly gateway runtime.

Everything under ``edge`` runs on a gateway: it needs numpy and onnxruntime and
never imports torch or onnx.
"""

from edge.privacy import opt_out_of_telemetry
from edge.version import __version__

opt_out_of_telemetry()  # before anything imports onnxruntime

__all__ = ["__version__"]
