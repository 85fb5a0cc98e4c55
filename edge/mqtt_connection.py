"""What the ``mqtt`` sink and the ``mqtt`` source share: the broker's connection keys and a configured paho client.

:class:`ConnectionConfig` holds the keys (host, port, TLS, credentials, keep-alive, reconnect delays) with their
checks; each plugin's ``Config`` subclasses it. :func:`make_client` builds a paho-mqtt 2.x client (MQTT 3.1.1,
the callback API version 2) with TLS and credentials set, not connected; paho is imported only then, so a
gateway without it runs every other plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from edge.config_types import SECRET
from edge.errors import ConfigError

FILE_KEYS = ("ca_file", "cert_file", "key_file", "password_file")


@dataclass(frozen=True, kw_only=True)
class ConnectionConfig:
    """The broker's address, TLS and credentials: keys of every MQTT plugin."""

    host: str = "localhost"
    port: int | None = None
    client_id: str | None = None
    qos: int = 1
    keepalive_s: int = 60
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, metadata=SECRET)
    password_file: Path | None = None
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0

    def __post_init__(self) -> None:
        problems = [
            (bool(self.host.strip()), "host must not be empty"),
            (self.qos in (0, 1, 2), f"qos {self.qos} must be 0, 1 or 2 (1: at least once; 0 may lose messages)"),
            (self.port is None or 0 < self.port < 65536, f"port {self.port} must be 1 to 65535"),
            (self.keepalive_s >= 5, f"keepalive_s {self.keepalive_s} must be at least 5"),
            (0 < self.reconnect_min_s <= self.reconnect_max_s, "need 0 < reconnect_min_s <= reconnect_max_s"),
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
        ]
        for ok, message in problems:
            if not ok:
                raise ValueError(message)


class Resolver(Protocol):
    """What resolves a config path (a plugin's context: relative to the config file's folder)."""

    def resolve(self, path: Path) -> Path: ...


def default_port(config: ConnectionConfig) -> int:
    """The broker's port: ``port``, else 8883 with TLS and 1883 without."""
    return config.port or (8883 if config.tls else 1883)


def peers(config: ConnectionConfig) -> list[tuple[str, int]]:
    """The one host an MQTT plugin connects to (for the service's network policy)."""
    return [(config.host, default_port(config))]


def config_files(config: ConnectionConfig, context: Resolver) -> dict[str, Path]:
    """The config's file keys that are set, resolved relative to the config file."""
    paths = {key: getattr(config, key) for key in FILE_KEYS}
    return {key: context.resolve(path) for key, path in paths.items() if path is not None}


def read_password(config: ConnectionConfig, password_file: Path | None) -> str | None:
    """``password``, or the first line of ``password_file`` if only its owner may read it."""
    if password_file is None:
        return config.password
    try:
        mode = password_file.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"mqtt password_file {password_file} is open to its group or to others (mode {mode:04o}); "
                "a secret must be readable by the agent's user alone: chown it to that user "
                f"and chmod 600 {password_file}"
            )
        return password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"mqtt password_file {password_file} cannot be read: {exc}; make the agent's user its owner "
            "(mode 0600) or set password"
        ) from exc


def make_client(
    config: ConnectionConfig,
    client_id: str,
    files: dict[str, Path],
    will: tuple[str, bytes] | None = None,
    clean_session: bool = True,
) -> Any:
    """A paho client, not connected; ``files`` are the resolved paths of the config's file keys.

    ``will`` (topic, payload) is published retained by the broker if the connection is lost;
    ``clean_session=False`` asks the broker to keep the client's subscriptions and queue its QoS 1/2
    messages while it is away (a persistent session, found again by ``client_id``).
    """
    try:
        from paho.mqtt import client as paho
    except ImportError as exc:
        raise ConfigError("the mqtt plugins need paho-mqtt 2.x: pip install 'edge-anomaly[mqtt]'") from exc
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session, protocol=paho.MQTTv311
    )
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    if config.username is not None:
        client.username_pw_set(config.username, read_password(config, files.get("password_file")))
    if config.tls:
        names = ("ca_file", "cert_file", "key_file")
        ca, cert, key = (str(files[k]) if k in files else None for k in names)
        try:
            client.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
        except (OSError, ValueError) as exc:
            shown = ", ".join(f"{k} {v}" for k, v in files.items() if k in names) or "the system's CAs"
            raise ConfigError(
                f"mqtt TLS set-up failed with {shown}: {exc}; check that the files exist, are "
                "PEM and readable by the agent's user"
            ) from exc
    client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)  # type: ignore[arg-type]
    return client


def refusal_hint(reason: Any) -> str:
    """What to do about a CONNACK or SUBACK failure, by paho's reason code (its text, as paho names it)."""
    text = str(reason).lower()
    if "user name or password" in text:
        return "check username and password (or password_file) against the broker's password file"
    if "not authori" in text:  # mosquitto's answer to a wrong password too
        return (
            "check username and password (or password_file), the client certificate, and that the broker "
            "lets this user in (its password file, allow_anonymous)"
        )
    if "identifier" in text:
        return "the broker refuses the client id: set client_id to a shorter name of letters and digits"
    return "check username, password, the client certificate and client_id"
