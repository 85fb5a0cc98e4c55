"""Score telemetry: per sensor, what its scores did since the last message, at most once per interval.

The pipeline tells :meth:`Telemetry.observe` each sensor's outcomes on the scoring thread (see
:meth:`edge.sinks.base.Sink.watch`). It only folds them into a few numbers under a short lock (the last
and the peak score, the last level, alerting, the active faults, how many readings) and, when the sensor's
message is due, sets the publisher's wake-up: no network I/O, no waiting. The mqtt sink's publisher thread
calls :meth:`Telemetry.take` while connected and publishes what it returns.

The rate limit is a hard cap: at most one message per sensor per ``interval_s``, whatever the input rate.
A message is due when something happened since the last one (readings, or a fault raised or cleared) and
the interval since the last one has passed; a change (an alert starting or ending, a fault) goes out as
soon as the cap allows, so at most ``interval_s`` late. Timely, durable alerts are the ``alerts`` topic's
job. Nothing happens for a sensor with nothing new: a silent sensor's last message stays (retained) until
its ``stale`` fault changes it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.core.events import iso_time
from edge.sinks.mqtt.payload import encode, number

if TYPE_CHECKING:
    from edge.core.detector import Detector
    from edge.core.outcome import Scored


@dataclass(slots=True)
class Window:
    """One sensor's numbers since its last message (``peak`` and ``readings`` start again at each)."""

    detector: Detector
    topic: str
    last: float | None = None  # the last scored reading's score (kept across messages)
    peak: float | None = None  # the highest score since the last message (None: nothing scored meanwhile)
    level: float | None = None
    state: str = "new"  # the last outcome's: warmup, scored, fault
    alerting: bool = False
    faults: tuple[str, ...] = ()
    readings: int = 0
    time: float | None = None  # the last reading's timestamp
    fresh: bool = False  # something to say since the last message
    woken: bool = False  # the publisher was told this sensor is due
    sent_at: float = -math.inf  # the clock at the last message


class Telemetry:
    """The state messages of the sensors given to :meth:`watch`; ``wake`` tells the publisher one is due."""

    def __init__(
        self,
        base_topic: str,
        gateway: str,
        interval_s: float,
        wake: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_topic, self.gateway, self.interval_s = base_topic, gateway, interval_s
        self.wake, self.clock = wake, clock
        self.windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def topic(self, sensor: str) -> str:
        """``<prefix>/<gateway>/sensors/<sensor>/state``."""
        return f"{self.base_topic}/sensors/{sensor}/state"

    def watch(self, detectors: Mapping[str, Detector]) -> None:
        """Follow these sensors (a new pipeline's); each one's first message is due at its first outcome."""
        with self._lock:
            self.windows = {sensor: Window(d, self.topic(sensor)) for sensor, d in detectors.items()}

    def observe(self, sensor: str, outcomes: Sequence[Scored]) -> None:
        """Fold one block's outcomes into the sensor's window (the scoring thread: one pass, no I/O)."""
        window = self.windows.get(sensor)
        if window is None or not outcomes:
            return
        last = peak = None
        for outcome in outcomes:
            if outcome.state == "scored" and math.isfinite(outcome.score):
                last = outcome.score
                peak = last if peak is None or last > peak else peak
        final = outcomes[-1]
        faults = tuple(sorted(window.detector.faults.active))
        with self._lock:
            if last is not None and peak is not None:
                window.last, window.level = last, final.level
                window.peak = peak if window.peak is None else max(window.peak, peak)
            window.state, window.alerting, window.faults = final.state, final.alerting, faults
            window.readings += len(outcomes)
            window.time = final.reading.timestamp
            self._touch(window)

    def fault_changed(self, sensor: str) -> None:
        """A fault of ``sensor`` was raised or cleared (its event, on the scoring thread): say so when due."""
        window = self.windows.get(sensor)
        if window is None:
            return
        faults = tuple(sorted(window.detector.faults.active))
        with self._lock:
            window.faults = faults
            self._touch(window)

    def _touch(self, window: Window) -> None:
        window.fresh = True
        if not window.woken and self.clock() - window.sent_at >= self.interval_s:
            window.woken = True
            self.wake()

    def take(self) -> list[tuple[str, bytes]]:
        """The state messages due now, as (topic, payload); their windows start again (the publisher thread)."""
        now = self.clock()
        due = []
        with self._lock:
            for sensor, window in self.windows.items():
                if window.fresh and now - window.sent_at >= self.interval_s:
                    due.append((window.topic, self.payload(sensor, window)))
                    window.peak, window.readings, window.fresh, window.woken = None, 0, False, False
                    window.sent_at = now
        return [(topic, encode(payload)) for topic, payload in due]

    def next_due(self) -> float | None:
        """Seconds until the next fresh sensor's message is due (0: now), None when none is waiting."""
        now = self.clock()
        with self._lock:
            waits = [w.sent_at + self.interval_s - now for w in self.windows.values() if w.fresh]
        return max(0.0, min(waits)) if waits else None

    def payload(self, sensor: str, window: Window) -> dict[str, Any]:
        """The state message (the schema is in :mod:`edge.sinks.mqtt.payload`)."""
        detector = window.detector
        return {
            "gateway": self.gateway,
            "sensor": sensor,
            "time": iso_time(window.time),
            "state": window.state,
            "score": None if window.last is None else number(window.last),
            "peak": None if window.peak is None else number(window.peak),
            "level": None if window.level is None else number(window.level),
            "threshold": number(detector.settings.decision.threshold),
            "alerting": window.alerting,
            "faults": list(window.faults),
            "readings": window.readings,
            "interval_s": self.interval_s,
            "channels": list(detector.channels),
            "units": list(detector.units) if detector.units else None,
            "model": detector.model_name or None,
        }
