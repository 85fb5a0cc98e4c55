"""Sensor faults, told apart from anomalies: NaN, stale, flatline, gaps in time or sequence.

Pure logic: a :class:`FaultMonitor` looks at each reading before it is scored and says
whether it can be scored, how many readings were lost just before it (a short gap, up to
``max_gap_periods`` sample periods or lost frames, is bridged by the detector with the model's
own forecasts, no fault raised) and whether the stream was broken (a longer gap, a stale or
lost source: the model's state is stale and the detector re-warms). A fault whose ``end`` is set when it
is reported (a gap) is over at once; the others stay active until a reading clears them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from edge.core.events import Event, Fault, FaultKind, Reading

SEQUENCE_MODULUS = 1 << 16


READING_LIMIT = 3.4028234663852886e38  # float32's largest: the model computes in float32
FLAT_RUN_FACTOR = 2  # a channel is stuck once unchanged this many times longer than it ever was in training


def longest_flat_runs(series: np.ndarray, segments: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Per channel of ``series`` (rows x channels), the most readings in a row with one unchanged value
    within any ``(start, end)`` segment: how long this sensor holds a value when nothing is wrong."""
    longest = np.zeros(series.shape[1], dtype=np.int64)
    for start, end in segments:
        part = np.asarray(series[start:end])
        if len(part) == 0:
            continue
        for c in range(part.shape[1]):
            # a run starts wherever the value differs from the one before it
            starts = np.flatnonzero(np.concatenate(([True], part[1:, c] != part[:-1, c]), axis=0))
            lengths = np.diff(np.append(starts, len(part)))
            longest[c] = max(longest[c], int(lengths.max()))
    return tuple(int(v) for v in longest)


def usable(value: float) -> bool:
    """A reading's value can be scored: a number within float32's range (NaN and infinities are not)."""
    return -READING_LIMIT <= value <= READING_LIMIT


def missing_detail(channels: tuple[str, ...], values: tuple[float, ...]) -> str:
    """What is wrong with a reading's unusable values, channel by channel."""
    nan = [c for c, v in zip(channels, values) if math.isnan(v)]
    huge = [f"{c} = {v:g}" for c, v in zip(channels, values) if not math.isnan(v) and not usable(v)]
    parts = []
    if nan:
        parts.append(f"{', '.join(nan)} {'is' if len(nan) == 1 else 'are'} not a number")
    if huge:
        parts.append(f"{', '.join(huge)} beyond any sensor's range (float32 holds ±3.4e38)")
    return "; ".join(parts)


@dataclass(frozen=True)
class FaultSettings:
    """When a stream counts as faulty."""

    sample_period_s: float
    max_gap_periods: float = 6.0
    stale_after_s: float = 60.0
    flatline_samples: int = 60  # raised per channel to FLAT_RUN_FACTOR x its longest run in training
    sequence_modulus: int = SEQUENCE_MODULUS


@dataclass
class FaultCheck:
    """The verdict on one reading."""

    scorable: bool
    resumed: bool
    events: list[Event] = field(default_factory=list)
    missing: int = 0  # readings lost just before this one, short enough to bridge


class FaultMonitor:
    """Watches one sensor's stream; one instance per sensor."""

    def __init__(
        self,
        sensor: str,
        channels: tuple[str, ...],
        settings: FaultSettings,
        constant: tuple[str, ...] = (),
        flat_runs: tuple[int, ...] = (),
    ) -> None:
        """``constant``: channels that never moved in training (they may stay so); ``flat_runs``: per channel,
        the longest run of one value in training (:func:`longest_flat_runs`; empty: not known)."""
        self.sensor = sensor
        self._may_flatline = [c not in constant for c in channels]  # a channel constant in training may stay so
        runs = flat_runs if len(flat_runs) == len(channels) else (0,) * len(channels)
        self._flat_runs_trained = runs
        self._flat_limits = [max(settings.flatline_samples, FLAT_RUN_FACTOR * run) for run in runs]
        watched = [limit for limit, may in zip(self._flat_limits, self._may_flatline) if may]
        self._shortest_flat_limit = min(watched, default=math.inf)  # no run shorter is flat on any channel
        self.channels = channels
        self.settings = settings
        self.active: dict[FaultKind, Fault] = {}
        self.counts: dict[FaultKind, int] = {}
        self._last_time: float | None = None
        self._last_sequence: int | None = None
        self._last_arrival: float | None = None
        self._last_values: tuple[float, ...] | None = None
        self._flat_runs = [0] * len(channels)

    @property
    def last_timestamp(self) -> float | None:
        """Timestamp of the last reading seen."""
        return self._last_time

    @property
    def last_sequence(self) -> int | None:
        """Sequence number of the last reading seen, if the source numbers them."""
        return self._last_sequence

    def resume_after(self, timestamp: float | None, sequence: int | None) -> None:
        """Continue a stream restored from a checkpoint: the next reading is checked against these."""
        self._last_time, self._last_sequence = timestamp, sequence

    def _raise(self, fault: Fault, time: float) -> Event:
        self.counts[fault.kind] = self.counts.get(fault.kind, 0) + 1
        if fault.end is None:
            self.active[fault.kind] = fault
        return Event("fault", fault, time)

    def _clear(self, kind: FaultKind, time: float) -> Event:
        fault = replace(self.active.pop(kind), end=time)
        return Event("fault_cleared", fault, time)

    def check(self, reading: Reading, received: float | None = None) -> FaultCheck:
        """Judge ``reading``; ``received`` is its arrival on the service's clock (default: its timestamp)."""
        now = reading.timestamp
        self._last_arrival = now if received is None else received
        events: list[Event] = []
        resumed = False
        if self.active:
            for kind in ("stale", "source"):
                if kind in self.active:
                    events.append(self._clear(kind, now))
                    resumed = True
        gap, missing = self._gap(reading)
        if gap is not None:
            events.append(self._raise(gap, now))
            resumed = True
        self._last_time, self._last_sequence = now, reading.sequence
        values = reading.values
        total = sum(values)  # finite only when no value is NaN or infinite: then min and max are exact
        if total - total == 0.0 and values and -READING_LIMIT <= min(values) and max(values) <= READING_LIMIT:
            bad: tuple[str, ...] = ()
        else:
            bad = tuple(c for c, v in zip(self.channels, values) if not usable(v))
        if bad:
            if "nan" not in self.active:
                detail = missing_detail(self.channels, reading.values)
                events.append(self._raise(Fault(self.sensor, "nan", now, detail, bad), now))
            self._last_values = None
            return FaultCheck(scorable=False, resumed=resumed, events=events, missing=missing)
        if "nan" in self.active:  # the detector bridged the missing values, or re-warms after a long streak
            events.append(self._clear("nan", now))
        flat = self._flatline(reading.values)
        if flat and "flatline" not in self.active:
            detail = f"{self._flat_detail(flat)} (stuck sensor or frozen value)"
            events.append(self._raise(Fault(self.sensor, "flatline", now, detail, flat), now))
        elif not flat and "flatline" in self.active:
            events.append(self._clear("flatline", now))
            resumed = True
        return FaultCheck(scorable=not flat, resumed=resumed, events=events, missing=missing)

    @property
    def bridge_limit(self) -> int:
        """The most readings in a row the detector fills with forecasts before it re-warms instead."""
        return max(0, int(self.settings.max_gap_periods) - 1)

    def _gap(self, reading: Reading) -> tuple[Fault | None, int]:
        """A gap to raise as a fault (it breaks the stream), or the count of lost readings to bridge."""
        settings = self.settings
        if self._last_sequence is not None and reading.sequence is not None:
            lost = (reading.sequence - self._last_sequence - 1) % settings.sequence_modulus
            if lost > self.bridge_limit:
                detail = (
                    f"{lost} reading{'s' if lost != 1 else ''} lost (sequence {self._last_sequence} to "
                    f"{reading.sequence})"
                )
                return Fault(self.sensor, "sequence_gap", reading.timestamp, detail, end=reading.timestamp), 0
            if lost:
                return None, lost
        if self._last_time is None:
            return None, 0
        step, period = reading.timestamp - self._last_time, settings.sample_period_s
        if step < 0:  # a repeated timestamp (a coarse clock, a daylight-saving hour) is another sample
            detail = f"timestamp went back {-step:g} s (clock reset or replayed data)"
        elif step > settings.max_gap_periods * period:
            detail = f"no data for {step:g} s (expected every {period:g} s)"
        else:
            missing = max(0, round(step / period) - 1) if period > 0 and step > 1.5 * period else 0
            return None, 0 if reading.sequence is not None and self._last_sequence is not None else missing
        return Fault(self.sensor, "time_gap", self._last_time, detail, end=reading.timestamp), 0

    def _flatline(self, values: tuple[float, ...]) -> tuple[str, ...]:
        limit = self.settings.flatline_samples
        if limit <= 0:
            return ()
        previous = self._last_values
        self._last_values = values
        runs = self._flat_runs
        if previous is not None and len(values) == len(runs):
            self._flat_runs = runs = [run + 1 if was == value else 1 for run, was, value in zip(runs, previous, values)]
        else:
            for i, value in enumerate(values):
                runs[i] = runs[i] + 1 if previous is not None and previous[i] == value else 1
        if max(runs, default=0) < self._shortest_flat_limit:
            return ()
        return tuple(
            c
            for c, run, limit, watched in zip(self.channels, self._flat_runs, self._flat_limits, self._may_flatline)
            if watched and run >= limit
        )

    def _flat_detail(self, flat: tuple[str, ...]) -> str:
        """Which channels are unchanged, for how long, and why that is too long."""
        parts = []
        for c in flat:
            i = self.channels.index(c)
            limit, trained = self._flat_limits[i], self._flat_runs_trained[i]
            why = f"; at most {trained} in the training history" if limit > self.settings.flatline_samples else ""
            parts.append(f"{c} unchanged for {limit} readings{why}")
        return ", ".join(parts)

    def source_fault(self, message: str, time: float, cleared: bool) -> list[Event]:
        """A source reported losing (or regaining) its sensor."""
        if cleared:
            return [self._clear("source", time)] if "source" in self.active else []
        if "source" in self.active:
            return []
        return [self._raise(Fault(self.sensor, "source", time, message), time)]

    def overdue(self, now: float) -> bool:
        """True once the sensor has been silent past ``stale_after_s`` on the service's clock."""
        return self._last_arrival is not None and now - self._last_arrival > self.settings.stale_after_s

    def tick(self, now: float) -> list[Event]:
        """Check for staleness on the service's clock; call it regularly."""
        if self._last_arrival is None:
            self._last_arrival = now
        silent = now - self._last_arrival
        if silent <= self.settings.stale_after_s or "stale" in self.active:
            return []
        detail = f"no reading for {silent:.0f} s (stale_after = {self.settings.stale_after_s:g} s)"
        # ``now`` is the service's monotonic clock; faults, like readings, are stamped in the sensor's time
        stamp = self._last_time + silent if self._last_time is not None else time.time()
        return [self._raise(Fault(self.sensor, "stale", stamp, detail), stamp)]
