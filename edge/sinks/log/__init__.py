"""``log``: one line per event for the technician, with journald fields when logging goes there.

An alert reads ``ALERT pump-1/bearing_temp_c score=0.998 minor (threshold 0.990) observed=81.2 degC
expected=74.9 degC since 12:03:10 [id 5c0e…, model pump 568371f76d6a]`` (units when the source knows
them; the model when it has a name). Each line also carries structured fields (ALERT_ID, SENSOR,
CHANNEL, SCORE, THRESHOLD, OBSERVED, EXPECTED, UNIT, MODEL, MODEL_SHA, EVENT) that the journald
handler sends natively: ``journalctl -u edge-anomaly SENSOR=pump-1``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from edge.core.events import Alert, Event, Fault, format_time, iso_time
from edge.plugins import PluginContext, read_sample
from edge.sinks.base import Sink

log = logging.getLogger("edge.core.events")

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it


@dataclass(frozen=True, kw_only=True)
class Config:
    """Keys of the ``log`` sink."""

    clears: bool = True
    faults: bool = True


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}" if abs(value) < 1e9 else f"{value:.4g}"


def _duration(seconds: float) -> str:
    """
    >>> _duration(3725)
    '1h02m05s'
    """
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _values(alert: Alert, values: tuple[float, ...]) -> str:
    """``81.2 degC,0.31 mm/s``: each channel's value with its unit when known."""
    return ",".join(_number(v) + (f" {alert.unit(i)}" if alert.unit(i) else "") for i, v in enumerate(values))


def _tag(alert: Alert) -> str:
    """``[id 5c0e…, model pump 568371f76d6a]``; the id alone for an unnamed model."""
    model = f", model {alert.model} {alert.model_sha256[:12]}" if alert.model else ""
    return f"[id {alert.id}{model}]"


def alert_line(event: Event) -> str:
    """The technician's line for an alert or its clearing."""
    alert = event.subject
    if not isinstance(alert, Alert):
        raise TypeError(f"alert_line needs an alert or clear event, not {event.kind}")
    where = f"{alert.sensor}/{'+'.join(alert.channels)}"
    observed = _values(alert, alert.observed)
    expected = _values(alert, alert.expected)
    if event.kind == "alert":
        return (
            f"ALERT {where} score={alert.score:.3f} {alert.severity} (threshold {alert.threshold:.3f}) "
            f"observed={observed} "
            f"expected={expected} since {format_time(alert.start)} {_tag(alert)}"
        )
    lasted = _duration((alert.end or alert.start) - alert.start)
    ended = f" ({alert.ended_by})" if alert.ended_by else ""
    return (
        f"CLEAR {where} after {lasted}{ended}, peak score={alert.score:.3f} {alert.severity} "
        f"(threshold {alert.threshold:.3f}) observed={observed} expected={expected} {_tag(alert)}"
    )


def fault_line(event: Event) -> str:
    """The technician's line for a sensor fault or its end."""
    fault = event.subject
    if not isinstance(fault, Fault):
        raise TypeError(f"fault_line needs a fault event, not {event.kind}")
    if event.kind == "fault_cleared":
        lasted = _duration((fault.end or fault.start) - fault.start)
        return f"FAULT CLEARED {fault.sensor} {fault.kind} after {lasted}; scoring resumes"
    if fault.end is not None:
        return f"FAULT {fault.sensor} {fault.kind}: {fault.detail}; scoring restarts with a warm-up"
    if fault.kind == "nan":  # the detector fills a short streak with the model's forecast
        return f"FAULT {fault.sensor} {fault.kind}: {fault.detail}; the model's forecast fills it, scoring goes on"
    return f"FAULT {fault.sensor} {fault.kind}: {fault.detail}; scoring paused"


def journal_fields(event: Event) -> dict[str, Any]:
    """Structured fields of an event for journald."""
    subject = event.subject
    fields: dict[str, Any] = {"EVENT": event.kind.upper(), "SENSOR": subject.sensor}
    if isinstance(subject, Alert):
        fields.update(
            ALERT_ID=subject.id,
            CHANNEL=",".join(subject.channels),
            SCORE=f"{subject.score:.6f}",
            THRESHOLD=f"{subject.threshold:.6f}",
            OBSERVED=",".join(map(repr, subject.observed)),
            EXPECTED=",".join(map(repr, subject.expected)),
            MODEL_SHA=subject.model_sha256,
            START=iso_time(subject.start),
        )
        if subject.model:
            fields["MODEL"] = subject.model
        if subject.units:
            fields["UNIT"] = ",".join(subject.units)
        if subject.end is not None:
            fields["END"] = iso_time(subject.end)
    else:
        fields.update(FAULT=subject.kind, DETAIL=subject.detail, START=iso_time(subject.start))
        if subject.channels:
            fields["CHANNEL"] = ",".join(subject.channels)
    return fields


class LogSink(Sink):
    """Writes each event as one log line on the ``edge.core.events`` logger."""

    name = "log"

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config = config

    def send(self, event: Event) -> None:
        """Log one event: alerts and faults at WARNING, their ends at INFO."""
        is_alert = isinstance(event.subject, Alert)
        if not is_alert and not self.config.faults:
            return
        if event.kind in ("clear", "fault_cleared") and not self.config.clears:
            return
        line = alert_line(event) if is_alert else fault_line(event)
        level = logging.WARNING if event.kind in ("alert", "fault") else logging.INFO
        log.log(level, line, extra={"journal_fields": journal_fields(event)})


PLUGIN = LogSink
