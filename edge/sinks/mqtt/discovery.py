"""Home Assistant's MQTT discovery configs for the telemetry's state topics (``homeassistant = true``).

Per sensor two entities, on one device per gateway (``identifiers: ["edge_anomaly_<gateway>"]``):

- ``<discovery_prefix>/binary_sensor/edge_anomaly_<gateway>/<sensor>_anomaly/config``: "<sensor> anomaly",
  device class ``problem``, on while the sensor is alerting;
- ``<discovery_prefix>/sensor/edge_anomaly_<gateway>/<sensor>_score/config``: "<sensor> anomaly score",
  state class ``measurement``, the peak score (0-1) since the previous state message.

Both read the sensor's state topic (``value_template``), take the whole state message as attributes
(``json_attributes_topic``) and are available while the gateway's retained status says ``online`` (the status
topic, whose last will says ``offline``). The configs are published retained, QoS 1, at every connect; an empty
retained payload on a config topic removes its entity (:func:`removal`).

Home Assistant's object ids allow ``[a-zA-Z0-9_-]``: a gateway or sensor name with other characters is
written with ``_`` for them and a short hash of the name appended, so two names never meet.
"""

from __future__ import annotations

import re
from typing import Any

from edge.digest import sha256_hex
from edge.version import __version__

_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9_-]")


def object_id(name: str) -> str:
    """``name`` as Home Assistant allows in an object id (``pump-1`` stays, ``pump.1`` -> ``pump_1_5e9b2c``)."""
    safe = _NOT_ALLOWED.sub("_", name)
    return safe if safe == name else f"{safe}_{sha256_hex(name.encode())[:6]}"


def node_id(gateway: str) -> str:
    """The device's node id and identifier: ``edge_anomaly_<gateway>``."""
    return f"edge_anomaly_{object_id(gateway)}"


def device(gateway: str) -> dict[str, Any]:
    """The gateway as Home Assistant's device: every sensor's entities are grouped on it."""
    return {
        "identifiers": [node_id(gateway)],
        "name": f"edge-anomaly {gateway}",
        "manufacturer": "edge-anomaly",
        "model": "edge-agent",
        "sw_version": __version__,
    }


def availability(status_topic: str) -> list[dict[str, str]]:
    """The gateway's retained status (``online``, or ``offline`` from a stop or the last will)."""
    return [
        {
            "topic": status_topic,
            "value_template": "{{ value_json.state }}",
            "payload_available": "online",
            "payload_not_available": "offline",
        }
    ]


def configs(prefix: str, gateway: str, sensor: str, state_topic: str, status_topic: str) -> dict[str, dict[str, Any]]:
    """The two discovery configs of one sensor, by config topic."""
    node, entity = node_id(gateway), object_id(sensor)
    shared = {
        "state_topic": state_topic,
        "json_attributes_topic": state_topic,
        "availability": availability(status_topic),
        "device": device(gateway),
        "origin": {"name": "edge-anomaly", "sw_version": __version__},
    }
    return {
        f"{prefix}/binary_sensor/{node}/{entity}_anomaly/config": {
            "name": f"{sensor} anomaly",
            "unique_id": f"{node}_{entity}_anomaly",
            "device_class": "problem",
            "value_template": "{{ value_json.alerting }}",
            "payload_on": "True",
            "payload_off": "False",
            "icon": "mdi:alert-decagram",
            **shared,
        },
        f"{prefix}/sensor/{node}/{entity}_score/config": {
            "name": f"{sensor} anomaly score",
            "unique_id": f"{node}_{entity}_score",
            "state_class": "measurement",
            "value_template": "{{ value_json.peak }}",
            "suggested_display_precision": 3,
            "icon": "mdi:chart-bell-curve",
            **shared,
        },
    }


def removal(topics: list[str]) -> list[tuple[str, bytes]]:
    """Empty retained payloads that remove these entities (config topics) or clear these retained states."""
    return [(topic, b"") for topic in topics]
