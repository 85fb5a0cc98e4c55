"""The technicians' alert labels in ``edge-export --data <recordings>/<sensor>``.

A sensor's recording folder holds ``alerts.jsonl`` and ``labels.jsonl`` beside the recordings
(:mod:`edge.feedback`). Training leaves out the rows of every **confirmed** alert (from the ``--window`` rows
before its start to its end, as breaks); a **false alarm** is normal data and stays. After the export, the new
model is replayed through the gateway's own runtime (:func:`edge.replay_file.replay`) over every row of the
folder, break rows included, and each labelled alert gets the new model's decision over its span.

Why a replay of the whole folder: the runtime's decision at a row depends on every row before it (the LSTM
state, the scorer's running statistics, debounce and hold), and the runtime itself treats a break row as the
gateway did: a short one is bridged, a long gap between files costs a warm-up. Scoring only an alert's own
rows would start cold and decide otherwise than the gateway would.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from edge import feedback
from edge.config import AgentConfig
from edge.replay_file import replay
from export.recordings import FolderRows

END_FROM_RECORDINGS = "the recordings' alert column"


@dataclass(frozen=True)
class LabelledAlert:
    """An alert a technician labelled, with where its rows are (``end`` None: its rows are not recorded)."""

    id: str
    sensor: str
    channels: tuple[str, ...]
    start: float
    end: float | None
    end_from: str  # alerts.jsonl, labels.jsonl or END_FROM_RECORDINGS; "" when no end is known
    label: str
    note: str
    score: float  # the peak level the gateway's model reached

    def when(self) -> str:
        """``2023-11-19 10:13:20–11:53:20 UTC`` (the end's date too when it is another day)."""
        start = datetime.fromtimestamp(self.start, UTC)
        text = start.strftime("%Y-%m-%d %H:%M:%S")
        if self.end is not None:
            end = datetime.fromtimestamp(self.end, UTC)
            text += "–" + end.strftime("%H:%M:%S" if end.date() == start.date() else "%Y-%m-%d %H:%M:%S")
        return text + " UTC"


@dataclass
class Feedback:
    """What a sensor folder's feedback files said, and what could not be used."""

    folder: Path
    alerts: list[LabelledAlert] = field(default_factory=list)  # the labelled ones, by start
    unlabelled: int = 0  # alerts of alerts.jsonl without a label (acknowledged or not)
    unknown_labels: int = 0  # lines of labels.jsonl that are neither an ack nor a known label
    unknown_ids: int = 0  # labelled ids neither in alerts.jsonl nor with a start in the label

    @property
    def found(self) -> bool:
        """The folder has feedback files with anything in them."""
        return bool(self.alerts or self.unlabelled or self.unknown_labels or self.unknown_ids)

    def confirmed_spans(self) -> list[tuple[float, float]]:
        """(start, end) of every confirmed alert whose rows are recorded: left out of training."""
        return [(a.start, a.end) for a in self.alerts if a.label == "confirmed" and a.end is not None]

    def describe(self) -> str:
        """One line for edge-export's output."""
        labels = [a.label for a in self.alerts]
        text = (
            f"alert feedback in {self.folder}: {len(self.alerts)} labelled alert(s) ({labels.count('confirmed')} "
            f"confirmed: left out of training; {labels.count('false-alarm')} false alarm(s): kept), "
            f"{self.unlabelled} unlabelled"
        )
        from_recordings = sum(a.end_from == END_FROM_RECORDINGS for a in self.alerts)
        if from_recordings:
            text += f"; {from_recordings} end(s) taken from {END_FROM_RECORDINGS} (their CLEAR was not logged)"
        unrecorded = sum(a.end is None for a in self.alerts)
        if unrecorded:
            text += f"; {unrecorded} labelled alert(s) not in the recordings (deleted by the recorder's limits?)"
        if self.unknown_labels:
            text += (
                f"; {self.unknown_labels} line(s) of {feedback.LABELS_FILE} neither an ack nor "
                f"{' nor '.join(feedback.LABELS)}: ignored"
            )
        if self.unknown_ids:
            text += f"; {self.unknown_ids} labelled id(s) not in {feedback.ALERTS_FILE} and without a start: ignored"
        return text


def _label_lines(folder: Path) -> tuple[int, set[str]]:
    """How many lines of labels.jsonl say nothing known, and the ids whose label lines give a start."""
    unknown, timed = 0, set[str]()
    for entry in feedback.read_lines(folder / feedback.LABELS_FILE):
        if entry is None:
            unknown += 1
            continue
        if not entry.get("ack") and entry.get("label") not in feedback.LABELS:
            unknown += 1
        if isinstance(entry.get("start"), int | float) and entry["start"] > 0:
            timed.add(entry["id"])
    return unknown, timed


def _recorded_end(rows: FolderRows, start: float) -> float | None:
    """The time of the last row of the alerting run that begins at ``start``; None when no such run is recorded."""
    first = int(np.searchsorted(rows.timestamps, start))
    if first >= len(rows.timestamps) or not rows.alerting[first]:
        return None
    calm = np.flatnonzero(~rows.alerting[first:])
    last = first + int(calm[0]) - 1 if calm.size else len(rows.alerting) - 1
    return float(rows.timestamps[last])


def read_feedback(rows: FolderRows) -> Feedback:
    """The labelled alerts of the folder ``rows`` were read from, each with its end (see the module)."""
    folder = rows.read.folder
    known = feedback.read_alerts(folder)
    verdicts = feedback.read_verdicts(folder)
    unknown, timed = _label_lines(folder)
    found = Feedback(folder, unknown_labels=unknown)
    found.unlabelled = sum(1 for i in known if i not in verdicts or verdicts[i].label is None)
    for alert_id, verdict in verdicts.items():
        if verdict.label is None:
            continue
        record = known.get(alert_id)
        if record is None and alert_id not in timed:
            found.unknown_ids += 1
            continue
        end, end_from = None, ""
        if record is not None and record.end is not None:
            end, end_from = record.end, feedback.ALERTS_FILE
        elif verdict.alert.end is not None:
            end, end_from = verdict.alert.end, feedback.LABELS_FILE
        record = record or verdict.alert
        if end is None:
            end = _recorded_end(rows, record.start)
            end_from = END_FROM_RECORDINGS if end is not None else ""
        elif not ((rows.timestamps >= record.start) & (rows.timestamps <= end)).any():
            end, end_from = None, ""  # its rows were deleted (or never recorded here)
        found.alerts.append(
            LabelledAlert(
                alert_id,
                record.sensor,
                record.channels,
                record.start,
                end,
                end_from,
                verdict.label,
                verdict.note,
                record.score,
            )
        )
    found.alerts.sort(key=lambda a: (a.start, a.id))
    return found


@dataclass(frozen=True)
class AlertDecision:
    """The new model's decision over one labelled alert's span, as the gateway's runtime makes it."""

    alert: LabelledAlert
    alerted: bool | None  # None: no row of the span was scored (or none is recorded)
    peak: float | None  # the highest decision level over the span's scored rows
    threshold: float
    scored_rows: int

    @property
    def decision(self) -> str:
        """``would alert (peak 0.930 ≥ threshold 0.250)`` and the like."""
        if self.alert.end is None:
            return "no decision: its rows are not in the recordings"
        if self.alerted is None or self.peak is None:
            return "no decision: no row of its span was scored (warm-up or faults)"
        relation = "≥" if self.peak >= self.threshold else "<"
        comparison = f"peak {self.peak:.3f} {relation} threshold {self.threshold:.3f}"
        if self.alerted:
            why = "" if relation == "≥" else "; an alert raised before the span was still open"
            return f"would alert ({comparison}{why})"
        why = "" if relation == "<" else "; debounce or cooldown held it back"
        return f"would not alert ({comparison}{why})"

    def line(self) -> str:
        """One line of the summary: id, sensor/channels, when, label (and note), old peak, decision."""
        alert = self.alert
        note = f' "{alert.note}"' if alert.note else ""
        end = " (end from the recordings)" if alert.end_from == END_FROM_RECORDINGS else ""
        return (
            f"{alert.id} {alert.sensor}/{','.join(alert.channels) or '?'} {alert.when()}{end}: {alert.label}{note}; "
            f"old peak {alert.score:.3f}; new model {self.decision}"
        )


def closing_count(decisions: list[AlertDecision]) -> str:
    """``false alarms: 3 of 4 no longer alerted; confirmed: 2 of 2 still alerted`` (and the undecided)."""
    false_alarms = [d for d in decisions if d.alert.label == "false-alarm" and d.alerted is not None]
    confirmed = [d for d in decisions if d.alert.label == "confirmed" and d.alerted is not None]
    text = (
        f"false alarms: {sum(not d.alerted for d in false_alarms)} of {len(false_alarms)} no longer alerted; "
        f"confirmed: {sum(bool(d.alerted) for d in confirmed)} of {len(confirmed)} still alerted"
    )
    undecided = len(decisions) - len(false_alarms) - len(confirmed)
    return text + (f"; {undecided} not decided" if undecided else "")


def replay_csv(rows: FolderRows, path: Path) -> Path:
    """Every row of the folder as a CSV the runtime replays: ``timestamp,<channels>``, a break or fault row
    with its values empty; values written with ``repr``, so they are read back as the very floats recorded."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(["timestamp", *rows.channels]) + "\n")
        for timestamp, values in zip(rows.timestamps, rows.values):
            fields = [repr(float(timestamp)), *("" if math.isnan(v) else repr(float(v)) for v in values)]
            handle.write(",".join(fields) + "\n")
    return path


def decide(model: Path, rows: FolderRows, found: Feedback, config: AgentConfig | None = None) -> list[AlertDecision]:
    """Replay ``model`` over every row of the folder through the runtime (``config``'s [detector] settings, or
    the defaults) and decide each labelled alert of ``found`` over its span."""
    if not found.alerts:
        return []
    sensor = found.alerts[0].sensor or rows.read.folder.name
    with tempfile.TemporaryDirectory(prefix="edge-export-feedback-") as tmp:
        data = replay_csv(rows, Path(tmp) / f"{rows.read.folder.name}.csv")
        summary = replay(
            model, data, Path(tmp) / "scores.csv", config=config, keep_trace=True, log_events=False, sensor=sensor
        )
    trace = summary.trace
    assert trace is not None  # keep_trace
    times = np.asarray(trace.timestamps)
    alerts = np.asarray(trace.alerts, dtype=bool)
    levels = np.asarray([math.nan if v is None else v for v in trace.levels], dtype=np.float64)
    decisions = []
    for alert in found.alerts:
        span = np.zeros(len(times), dtype=bool) if alert.end is None else (times >= alert.start) & (times <= alert.end)
        scored = span & np.isfinite(levels)
        peak = float(levels[scored].max()) if scored.any() else None
        alerted = bool(alerts[span].any()) if scored.any() else None
        decisions.append(AlertDecision(alert, alerted, peak, summary.threshold, int(scored.sum())))
    return decisions
