"""What the ``mqtt`` sink publishes: one JSON message per event.

Alert payload (``alert`` or ``clear``; the clear carries the alert's id, its ``end`` and peak values)::

    {"id": "5c0e9f3a1b2d4e6f", "event": "alert", "gateway": "gw-17", "sensor": "pump-1",
     "channels": ["bearing_temp_c"], "score": 0.998, "threshold": 0.99, "observed": [81.2],
     "expected": [74.9], "units": ["degC"], "start": "2026-03-17T12:03:10.000Z", "end": null,
     "model": "pump", "model_sha256": "ab12…", "severity": "minor", "ended_by": null}

``units`` has one entry per channel ("" when not known; null when the source knows none); ``model`` is the
name of the model that scores the sensor.

``severity`` grades the peak against the threshold (minor, major, critical); ``ended_by`` says how a clear
ended: "back to normal", "accepted as the new normal", "interrupted" or "closed by a reload with new settings"
(null on an alert).

Fault payload (``fault`` or ``fault_cleared``; ``id`` is derived from gateway, sensor, kind and start)::

    {"id": "0d4b…", "event": "fault", "gateway": "gw-17", "sensor": "pump-1", "fault": "stale",
     "detail": "no reading for 61 s", "channels": [], "start": "…Z", "end": null}

State payload (``telemetry``; ``<prefix>/<gateway>/sensors/<sensor>/state``, retained, QoS 0, at most one per
sensor per ``telemetry_interval_s``; see :mod:`edge.sinks.mqtt.telemetry`)::

    {"gateway": "gw-17", "sensor": "pump-1", "time": "2026-03-17T12:03:10.000Z", "state": "scored",
     "score": 0.41, "peak": 0.998, "level": 0.37, "threshold": 0.99, "alerting": true, "faults": [],
     "readings": 10000, "interval_s": 10.0, "channels": ["bearing_temp_c", "vibration_mm_s"],
     "units": ["degC", "mm/s"], "model": "pump"}

``score`` is the last scored reading's score (kept from earlier messages when none was scored since), ``peak``
the highest score since the previous message (null when none was scored meanwhile: warm-up, faults),
``level`` the last level alerts are decided on, against ``threshold``; ``state`` the last reading's (warmup,
scored, fault); ``alerting`` whether an alert is open; ``faults`` the active fault kinds; ``readings`` how
many readings since the previous message; ``time`` the last one's timestamp (null before any).

Numbers that are not finite are written as ``null``; times are ISO 8601 UTC with milliseconds.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from edge.core.events import Alert, Event, iso_time
from edge.digest import uuid5

_FAULT_NAMESPACE = uuid.UUID("b3f4d0a2-6c1e-4f7a-8d2b-9e5c3a1f0e77")


def number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def event_payload(event: Event, gateway: str) -> dict[str, Any]:
    """The JSON-ready message for one event (see the module docstring for the schema)."""
    subject = event.subject
    if isinstance(subject, Alert):
        return {
            "id": subject.id,
            "event": event.kind,
            "gateway": gateway,
            "sensor": subject.sensor,
            "channels": list(subject.channels),
            "score": number(subject.score),
            "threshold": number(subject.threshold),
            "observed": [number(v) for v in subject.observed],
            "expected": [number(v) for v in subject.expected],
            "units": list(subject.units) if subject.units else None,
            "start": iso_time(subject.start),
            "end": iso_time(subject.end),
            "model": subject.model or None,
            "model_sha256": subject.model_sha256,
            "severity": subject.severity,
            "ended_by": subject.ended_by or None,
        }
    fault_id = uuid5(_FAULT_NAMESPACE, f"{gateway}/{subject.sensor}/{subject.kind}/{subject.start!r}").hex[:16]
    return {
        "id": fault_id,
        "event": event.kind,
        "gateway": gateway,
        "sensor": subject.sensor,
        "fault": subject.kind,
        "detail": subject.detail,
        "channels": list(subject.channels),
        "start": iso_time(subject.start),
        "end": iso_time(subject.end),
    }


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def online_payload(
    gateway: str, client_id: str, summary: dict[str, Any], counters: dict[str, int], started: float
) -> dict[str, Any]:
    """The retained ``online`` status: the gateway, its models (weights hash by name), its sensors (state, model,
    weights hash and units, from the agent's status ``summary``) and the sink's ``counters``."""
    sensors = {
        name: {key: s.get(key) for key in ("state", "model", "weights_sha256", "units")}
        for name, s in summary.get("sensors", {}).items()
    }
    now = time.time()
    return {
        "state": "online",
        "gateway": gateway,
        "client_id": client_id,
        "time": iso_time(now),
        "agent": summary.get("state", "running"),
        "uptime_s": summary.get("uptime_s", round(now - started, 1)),
        "models": {name: m.get("weights_sha256") for name, m in summary.get("models", {}).items()},
        "sensors": sensors,
        "mqtt": counters,
    }
