"""The mqtt sink's feedback inbox (``feedback = true``): acks and labels for alerts, sent over MQTT.

A message on ``<topic_prefix>/<gateway>/feedback`` (QoS 1) is one JSON object::

    {"id": "5c0e9f3a", "ack": true, "by": "ann"}
    {"id": "5c0e9f3a1b2d4e6f", "label": "false-alarm", "note": "valve test", "by": "ann"}

``id`` is the alert's (or its first characters), as in its ALERT line and MQTT message. It is stored as
``edge-agent ack`` / ``label`` store it, with ``via: mqtt``; the answer goes to ``…/feedback/result``
(``{"id": …, "ok": true, "message": …}``, QoS 1, not retained). Anyone who may publish there may label: give
that topic to the people who may, in the broker's ACL.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from edge.core.events import Alert, Event
from edge.feedback import LABELS, AlertRecord, add_feedback, find_alert

log = logging.getLogger(__name__)

REMEMBERED = 1000  # alerts this sink sent, kept to find an id the recordings do not have
MAX_TEXT = 500


class FeedbackInbox:
    """Turns feedback messages into stored labels; remembers the alerts the sink sent."""

    def __init__(self, root: Path, topic: str) -> None:
        self.root = root
        self.topic = topic
        self.result_topic = f"{topic}/result"
        self._sent: OrderedDict[str, AlertRecord] = OrderedDict()
        self.counts = {"feedback": 0, "feedback_refused": 0}

    def remember(self, event: Event) -> None:
        """Note an alert or clear the sink sends, so that feedback can find it."""
        alert = event.subject
        if isinstance(alert, Alert):
            self._sent[alert.id] = AlertRecord(
                alert.id, alert.sensor, alert.start, alert.end, alert.score, alert.channels
            )
            self._sent.move_to_end(alert.id)
            while len(self._sent) > REMEMBERED:
                self._sent.popitem(last=False)

    def handle(self, payload: bytes) -> dict[str, Any]:
        """Store one message's feedback; returns the answer to publish (``ok`` false saying why)."""
        message: Any = None
        try:
            message = json.loads(payload)
            if not isinstance(message, dict) or not isinstance(message.get("id"), str):
                raise ValueError('not a JSON object with an "id"')
            label = message.get("label")
            if label is None and message.get("ack") is not True:
                raise ValueError(f'give "ack": true or "label": one of {", ".join(LABELS)}')
            if label is not None and label not in LABELS:
                raise ValueError(f"label {label!r} is not one of {', '.join(LABELS)}")
            alert = find_alert(self.root, message["id"], list(self._sent.values()))
        except (ValueError, LookupError) as exc:
            self.counts["feedback_refused"] += 1
            log.warning("mqtt feedback on %s refused: %s", self.topic, exc)
            return {
                "id": _text(message.get("id")) if isinstance(message, dict) else None,
                "ok": False,
                "message": str(exc),
            }
        by = _text(message.get("by")) or "mqtt"
        try:
            add_feedback(
                self.root, alert, at=time.time(), by=by, via="mqtt", label=label, note=_text(message.get("note"))
            )
        except OSError as exc:
            self.counts["feedback_refused"] += 1
            log.error("mqtt feedback for alert %s cannot be stored under %s: %s", alert.id, self.root, exc)
            return {"id": alert.id, "ok": False, "message": f"cannot be stored: {exc}"}
        self.counts["feedback"] += 1
        said = "acknowledged" if label is None else f"labelled {label}"
        log.info("alert %s (%s) %s by %s over MQTT", alert.id, alert.sensor, said, by)
        return {"id": alert.id, "ok": True, "message": f"{said} by {by}"}


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""
