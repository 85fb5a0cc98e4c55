"""The ``mqtt`` sink's keys and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.config_types import SECRET


@dataclass(frozen=True, kw_only=True)
class Config:
    """Keys of the ``mqtt`` sink."""

    host: str = "localhost"
    port: int | None = None
    topic_prefix: str = "edge-anomaly"
    client_id: str | None = None
    name: str | None = None
    qos: int = 1
    keepalive_s: int = 60
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, metadata=SECRET)
    password_file: Path | None = None
    outbox_max_events: int = 100_000
    max_inflight: int = 20
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0

    def __post_init__(self) -> None:
        problems = [
            (bool(self.host.strip()), "host must not be empty"),
            (self.qos in (0, 1, 2), f"qos {self.qos} must be 0, 1 or 2 (1: at least once; 0 loses events)"),
            (self.port is None or 0 < self.port < 65536, f"port {self.port} must be 1 to 65535"),
            (self.keepalive_s >= 5, f"keepalive_s {self.keepalive_s} must be at least 5"),
            (self.outbox_max_events >= 1, "outbox_max_events must be at least 1"),
            (self.max_inflight >= 1, "max_inflight must be at least 1"),
            (0 < self.reconnect_min_s <= self.reconnect_max_s, "need 0 < reconnect_min_s <= reconnect_max_s"),
            (
                bool(self.topic_prefix)
                and not any(c in self.topic_prefix for c in "+#")
                and not self.topic_prefix.endswith("/"),
                f"topic_prefix {self.topic_prefix!r} must be non-empty, without + or # and without a trailing /",
            ),
            (
                not (self.password is not None and self.password_file is not None),
                "set password or password_file, not both",
            ),
            (
                self.username is not None or (self.password is None and self.password_file is None),
                "a password needs a username",
            ),
            (
                self.tls or (self.ca_file, self.cert_file, self.key_file) == (None, None, None),
                "ca_file, cert_file and key_file need tls = true",
            ),
            ((self.cert_file is None) == (self.key_file is None), "cert_file and key_file go together"),
            (
                self.name is None or (self.name.replace("-", "").replace("_", "").isalnum()),
                f"name {self.name!r} may hold letters, digits, - and _ only",
            ),
        ]
        for ok, message in problems:
            if not ok:
                raise ValueError(message)


def default_port(config: Config) -> int:
    """The broker's port: ``port``, else 8883 with TLS and 1883 without."""
    return config.port or (8883 if config.tls else 1883)
