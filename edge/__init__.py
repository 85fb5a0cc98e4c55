"""edge-anomaly gateway runtime.

Everything under ``edge`` runs on a gateway: it needs numpy and onnxruntime and
never imports torch or onnx.
"""

from edge.version import __version__

__all__ = ["__version__"]
