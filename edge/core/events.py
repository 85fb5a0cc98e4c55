"""What flows through the runtime: readings in, events out (pure data, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

FaultKind = Literal["nan", "stale", "flatline", "time_gap", "sequence_gap", "source"]
EventKind = Literal["alert", "clear", "fault", "fault_cleared"]


@dataclass(frozen=True)
class Reading:
    """One timestamped multi-channel sample from a sensor.

    ``timestamp`` is Unix seconds; ``sequence`` is the source's frame counter when it has
    one (gaps in it are lost readings); ``row`` is the input row for replayed data.
    """

    sensor: str
    timestamp: float
    values: tuple[float, ...]
    sequence: int | None = None
    row: int | None = None


@dataclass(frozen=True)
class SourceFault:
    """A source's report about its own trouble (port gone, bus error), or its recovery."""

    sensor: str
    timestamp: float
    message: str
    cleared: bool = False


@dataclass(frozen=True)
class Alert:
    """An anomaly on one sensor: raised at ``start``, cleared at ``end``.

    ``channels`` are the channels whose own scores crossed the threshold (the highest one if
    only the overall score did); ``score``, ``observed`` and ``expected`` are taken at the
    highest overall score seen so far, ``observed``/``expected`` per entry of ``channels``, and
    ``units`` too ("" for a channel whose unit is not known; empty when none is). ``model`` is
    the name of the model that scores the sensor.
    """

    id: str
    sensor: str
    channels: tuple[str, ...]
    start: float
    score: float
    threshold: float
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    end: float | None = None
    model_sha256: str = ""
    ended_by: str = ""
    units: tuple[str, ...] = ()
    model: str = ""  # when ended: "back to normal", "accepted as the new normal" or "interrupted"

    def unit(self, index: int) -> str:
        """The unit of ``channels[index]``, "" when not known."""
        return self.units[index] if index < len(self.units) else ""

    @property
    def severity(self) -> str:
        """How far the peak went past the threshold: minor, major or critical."""
        ratio = self.score / self.threshold if self.threshold > 0 else 1.0
        return "minor" if ratio < 1.25 else "major" if ratio < 1.6 else "critical"


@dataclass(frozen=True)
class Fault:
    """A sensor fault: the data cannot be scored (it is never counted as an anomaly)."""

    sensor: str
    kind: FaultKind
    start: float
    detail: str
    channels: tuple[str, ...] = ()
    end: float | None = None


@dataclass(frozen=True)
class Event:
    """What a sink receives: an alert raised or cleared, a fault raised or cleared."""

    kind: EventKind
    subject: Alert | Fault
    time: float = field(default=0.0)

    @property
    def sensor(self) -> str:
        """The sensor the event is about."""
        return self.subject.sensor


def format_time(timestamp: float) -> str:
    """UTC ``HH:MM:SS`` for log lines, with the date when it is not today's.

    >>> format_time(0.0)
    '1970-01-01 00:00:00'
    """
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    if moment.date() == datetime.now(tz=UTC).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso_time(timestamp: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds, or None.

    >>> iso_time(1.5)
    '1970-01-01T00:00:01.500Z'
    """
    if timestamp is None or not math.isfinite(timestamp):
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
