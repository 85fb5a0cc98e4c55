"""Alert feedback: the alerts a gateway raised and what a technician said of them, kept with the recordings.

Both files live in a sensor's recording folder (``<recorder folder>/<sensor>/``), one JSON object a line,
appended, so a crash cuts at most the last line (a cut line is skipped when read):

- ``alerts.jsonl``: every ALERT and CLEAR the recorder saw (``event``, ``id``, ``sensor``, ``channels``,
  ``start``, ``end``, ``score``, ``threshold``, ``model``; times in Unix seconds);
- ``labels.jsonl``: every acknowledgement and label (``id``, ``sensor``, ``start``, ``end``, ``at``, ``by``,
  ``via`` (``cli`` or ``mqtt``), and ``ack: true`` or ``label`` (``false-alarm`` or ``confirmed``) with a
  ``note``). The latest label of an alert is the one that counts.

``edge-export --data <folder>/<sensor>`` reads them: a confirmed alert's readings are left out of training,
and its summary says how the new model would decide on every labelled alert.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge import recording
from edge.core.events import Alert, Event

ALERTS_FILE = "alerts.jsonl"
LABELS_FILE = "labels.jsonl"
LABELS = ("false-alarm", "confirmed")
MIN_PREFIX = 6  # an alert id may be given by its first characters, at least this many


@dataclass(frozen=True)
class AlertRecord:
    """One alert as the feedback knows it: where and when (``end`` None while it is open)."""

    id: str
    sensor: str
    start: float
    end: float | None = None
    score: float = 0.0
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What was said of one alert: acknowledged (when, by whom) and its latest label and note."""

    alert: AlertRecord
    acked_at: float | None = None
    acked_by: str = ""
    label: str | None = None
    note: str = ""


def alert_entry(event: Event) -> str:
    """The ``alerts.jsonl`` line of an alert or clear event (with its newline).

    >>> a = Alert("5c0e", "pump-1", ("temperature",), 10.0, 0.9, 0.5, (81.0,), (75.0,), model="pump")
    >>> alert_entry(Event("alert", a, 10.0))[:60]
    '{"event": "alert", "id": "5c0e", "sensor": "pump-1", "channe'
    """
    alert = event.subject
    if not isinstance(alert, Alert):
        raise TypeError(f"alert_entry needs an alert or clear event, not {event.kind}")
    entry = {
        "event": event.kind,
        "id": alert.id,
        "sensor": alert.sensor,
        "channels": list(alert.channels),
        "start": alert.start,
        "end": alert.end,
        "score": alert.score,
        "threshold": alert.threshold,
        "model": alert.model,
    }
    return json.dumps(entry) + "\n"


def read_lines(path: Path) -> Iterator[dict[str, Any] | None]:
    """Each non-blank line of a ``.jsonl`` file as its JSON object, or None for a line that is not an object
    with an ``id`` (cut by a crash, or written by hand); nothing when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        yield entry if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a ``.jsonl`` file; a line that is not one is skipped."""
    return (entry for entry in read_lines(path) if entry is not None)


def _record(entry: dict[str, Any]) -> AlertRecord:
    end = entry.get("end")
    return AlertRecord(
        id=entry["id"],
        sensor=str(entry.get("sensor", "")),
        start=float(entry.get("start", 0.0)),
        end=None if end is None else float(end),
        score=float(entry.get("score", 0.0)),
        channels=tuple(entry.get("channels", ())),
    )


def read_alerts(sensor_folder: Path) -> dict[str, AlertRecord]:
    """The alerts of one sensor's folder by id, each with its end once its CLEAR was written."""
    alerts: dict[str, AlertRecord] = {}
    for entry in _entries(sensor_folder / ALERTS_FILE):
        try:
            alerts[entry["id"]] = _record(entry)  # a clear comes after its alert: the end and peak win
        except (TypeError, ValueError):
            continue
    return alerts


def read_verdicts(sensor_folder: Path) -> dict[str, Verdict]:
    """What was said of each alert of one sensor's folder, by id (the latest label wins)."""
    verdicts: dict[str, Verdict] = {}
    for entry in _entries(sensor_folder / LABELS_FILE):
        try:
            record = _record(entry)
        except (TypeError, ValueError):
            continue
        known = verdicts.get(record.id, Verdict(record))
        if entry.get("ack"):
            known = Verdict(record, float(entry.get("at", 0.0)), str(entry.get("by", "")), known.label, known.note)
        elif entry.get("label") in LABELS:
            known = Verdict(record, known.acked_at, known.acked_by, entry["label"], str(entry.get("note", "")))
        verdicts[record.id] = known
    return verdicts


def find_alert(root: Path, alert_id: str, recent: list[AlertRecord] | None = None) -> AlertRecord:
    """The alert ``alert_id`` (or the one it is a prefix of) in any sensor folder under ``root``, else among
    ``recent`` (the status file's last alerts); ``LookupError`` saying why not."""
    if len(alert_id) < MIN_PREFIX:
        raise LookupError(f"alert id {alert_id!r} is too short: give at least {MIN_PREFIX} of its characters")
    known: dict[str, AlertRecord] = {a.id: a for a in recent or []}
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            known.update(read_alerts(folder))
    matches = sorted({a for i, a in known.items() if i.startswith(alert_id)}, key=lambda a: a.id)
    if len(matches) > 1:
        raise LookupError(f"alert id {alert_id!r} fits {len(matches)} alerts ({', '.join(a.id for a in matches)})")
    if not matches:
        raise LookupError(
            f"no alert {alert_id!r} in {root} (the recorder keeps every alert there while [recorder] is enabled) "
            "nor among the status file's last alerts; `edge-agent status` lists the recent ids"
        )
    return matches[0]


def append_entry(path: Path, entry: dict[str, Any]) -> None:
    """Append one line durably; a file made by root (``sudo edge-agent label``) is given the folder's owner,
    so the agent can append to it too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (json.dumps(entry) + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created and os.geteuid() == 0:
        owner = path.parent.stat()
        os.chown(path, owner.st_uid, owner.st_gid)


def add_feedback(
    root: Path,
    alert: AlertRecord,
    *,
    at: float,
    by: str,
    via: str,
    label: str | None = None,
    note: str = "",
) -> Path:
    """Store an acknowledgement (``label`` None) or a label of ``alert``; returns the file written."""
    if label is not None and label not in LABELS:
        raise ValueError(f"label {label!r} must be one of {', '.join(LABELS)}")
    entry: dict[str, Any] = {**asdict(alert), "channels": list(alert.channels), "at": at, "by": by, "via": via}
    entry.update({"ack": True} if label is None else {"label": label, "note": note})
    path = root / recording.sensor_folder(alert.sensor) / LABELS_FILE
    append_entry(path, entry)
    return path
