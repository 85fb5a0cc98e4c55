"""The exception tree: each error also inherits the builtin it resembles."""


class EdgeError(Exception):
    """Base of every error edge-anomaly raises on purpose."""


class ConfigError(EdgeError, ValueError):
    """A setting is missing, unknown or contradicts the model."""


class ModelError(EdgeError, ValueError):
    """A model file is truncated, tampered with or incompatible."""
