"""The ``mqtt`` sink's keys and their checks (the connection keys are :mod:`edge.mqtt_connection`'s)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.mqtt_connection import ConnectionConfig, default_port

__all__ = ["Config", "default_port"]


@dataclass(frozen=True, kw_only=True)
class Config(ConnectionConfig):
    """Keys of the ``mqtt`` sink: the broker's connection, then what it publishes where."""

    topic_prefix: str = "edge-anomaly"
    name: str | None = None
    outbox_max_events: int = 100_000
    max_inflight: int = 20
    telemetry: bool = False  # a rate-limited score state per sensor on <prefix>/<gateway>/sensors/<sensor>/state
    telemetry_interval_s: float = 10.0  # at most one state message per sensor this often
    homeassistant: bool = False  # Home Assistant's MQTT discovery configs for those states (turns telemetry on)
    discovery_prefix: str = "homeassistant"
    feedback: bool = False  # take acks and labels of alerts on <prefix>/<gateway>/feedback (see inbox.py)

    @property
    def publishes_telemetry(self) -> bool:
        """Whether the state topics are published (``telemetry``, or ``homeassistant`` which needs them)."""
        return self.telemetry or self.homeassistant

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = [
            (self.outbox_max_events >= 1, "outbox_max_events must be at least 1"),
            (self.max_inflight >= 1, "max_inflight must be at least 1"),
            (
                bool(self.topic_prefix)
                and not any(c in self.topic_prefix for c in "+#")
                and not self.topic_prefix.endswith("/"),
                f"topic_prefix {self.topic_prefix!r} must be non-empty, without + or # and without a trailing /",
            ),
            (self.telemetry_interval_s >= 0.1, "telemetry_interval_s must be at least 0.1"),
            (
                bool(self.discovery_prefix)
                and not any(c in self.discovery_prefix for c in "+#")
                and self.discovery_prefix.strip("/") == self.discovery_prefix,
                f"discovery_prefix {self.discovery_prefix!r} must be non-empty, without + or # and without a "
                "leading or trailing /",
            ),
            (
                self.name is None or (self.name.replace("-", "").replace("_", "").isalnum()),
                f"name {self.name!r} may hold letters, digits, - and _ only",
            ),
        ]
        for ok, message in problems:
            if not ok:
                raise ValueError(message)
