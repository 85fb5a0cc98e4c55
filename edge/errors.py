"""The exception tree: each error also inherits the builtin it resembles."""


class EdgeError(Exception):
    """Base of every error edge-anomaly raises on purpose."""


class ConfigError(EdgeError, ValueError):
    """A setting is missing, unknown or contradicts the model; ``problems`` lists each one when there are several."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class ModelError(EdgeError, ValueError):
    """A model file is truncated, tampered with or incompatible."""


class WaitError(EdgeError):
    """Something the agent needs is busy or full for now (a locked outbox, a full disk): wait and retry.

    Not a configuration error: the service says what it waits for and tries again with back-off.
    """
