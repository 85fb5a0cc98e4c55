"""Errors of the workstation side, in the same tree as the runtime's."""

from edge.errors import EdgeError


class DataError(EdgeError, ValueError):
    """The history CSV cannot be used as it is; the message says where and how to fix it."""


class ExportError(EdgeError, RuntimeError):
    """Conversion or quantization did not produce the model it should have."""


class ParityError(ExportError):
    """The quantized model disagrees with the reference too often to be shipped."""
