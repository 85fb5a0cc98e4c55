"""The paho client of the ``mqtt`` sink: MQTT 3.1.1, a clean session, the last will, credentials and TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.errors import ConfigError
from edge.sinks.mqtt.settings import Config


def read_password(config: Config, password_file: Path | None) -> str | None:
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


def make_client(config: Config, client_id: str, files: dict[str, Path], will: tuple[str, bytes] | None) -> Any:
    """A paho client, not connected; ``files`` are the resolved paths of the config's file keys.

    The sink's outbox, not a broker session, is the source of truth, so the session is clean;
    ``will`` (topic, payload) is published retained by the broker if the connection is lost.
    """
    try:
        from paho.mqtt import client as paho
    except ImportError as exc:
        raise ConfigError("the mqtt sink needs paho-mqtt 2.x: pip install 'edge-anomaly[mqtt]'") from exc
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=paho.MQTTv311
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
    client.max_inflight_messages_set(config.max_inflight + 2)
    client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)  # type: ignore[arg-type]
    return client
