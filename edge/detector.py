"""One sensor's streaming detector: faults → forecaster → scorer → alert policy.

``score_one(reading)`` does O(1) work: one LSTM step, one scorer update, one decision.
Warm-up is explicit: after a start, a restore that does not fit, or any break in the
stream (a fault, a gap), the first ``warmup`` readings only feed the model's state and
are never scored, so a resumed stream cannot alert on the model's own cold start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from edge.decision import AlertPolicy, DecisionSettings
from edge.events import Alert, Event, Reading, SourceFault
from edge.faults import FaultMonitor, FaultSettings
from edge.forecaster import StreamingForecaster
from edge.likelihood import LikelihoodScorer, LikelihoodSettings
from edge.model_file import LoadedModel
from edge.scoring import AdaptationSettings, AdaptiveScorer

SampleState = Literal["warmup", "scored", "fault"]
_ID_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-4f0e-9a51-2d8e7c6b5a40")


@dataclass(frozen=True)
class DetectorSettings:
    """Everything that shapes one sensor's decisions, resolved against its model."""

    warmup: int
    decision: DecisionSettings
    faults: FaultSettings
    adaptation: AdaptationSettings = AdaptationSettings()
    scoring: str = "calibrated"  # or "likelihood" (edge.likelihood)
    likelihood: LikelihoodSettings = LikelihoodSettings()


@dataclass(frozen=True)
class Scored:
    """The outcome of one reading."""

    reading: Reading
    state: SampleState
    score: float = 0.0
    channel_scores: tuple[float, ...] = ()
    expected: tuple[float, ...] = ()
    alerting: bool = False
    events: list[Event] = field(default_factory=list)


@dataclass
class Counters:
    """Per-sensor accounting, shown in status and the periodic log line."""

    readings: int = 0
    scored: int = 0
    warmup: int = 0
    unscored_faulty: int = 0
    alerts: int = 0
    faults: int = 0


class Detector:
    """Streams one sensor's readings through its model and decides."""

    def __init__(self, sensor: str, model: LoadedModel, settings: DetectorSettings) -> None:
        meta = model.metadata
        self.sensor = sensor
        self.channels = meta.channels
        self.model_sha256 = model.weights_sha256
        self.settings = settings
        self.counters = Counters()
        self.forecaster = StreamingForecaster.from_model(model)
        self.scorer: AdaptiveScorer | LikelihoodScorer = (
            LikelihoodScorer(meta.calibration, settings.likelihood) if settings.scoring == "likelihood"
            else AdaptiveScorer(meta.calibration, settings.adaptation, settings.decision.clear_at))
        self.policy = AlertPolicy(settings.decision)
        self.faults = FaultMonitor(sensor, meta.channels, settings.faults, meta.constant_channels)
        self._mean = [float(m) for m in meta.norm_mean]
        self._std = [float(d) for d in meta.norm_std]
        self.alert: Alert | None = None
        self._forecast: list[float] | None = None
        self._seen = 0

    def _restart(self) -> None:
        self.forecaster.reset()
        self.scorer.reset()
        self._forecast = None
        self._seen = 0

    def _pause(self, time: float) -> list[Event]:
        """Scoring stops: close an open alert (its end is now) and forget the stream's state."""
        events = []
        if self.policy.interrupt(time) and self.alert is not None:
            events.append(Event("clear", replace(self.alert, end=time), time))
            self.alert = None
        self._restart()
        return events

    def score_one(self, reading: Reading, received: float | None = None) -> Scored:
        """Judge, score and decide on one reading."""
        counters = self.counters
        counters.readings += 1
        check = self.faults.check(reading, received)
        events = check.events
        if events:
            counters.faults += sum(1 for e in events if e.kind == "fault")
        if check.resumed or not check.scorable:
            events = self._pause(reading.timestamp) + events
        if not check.scorable:
            counters.unscored_faulty += 1
            return Scored(reading, "fault", events=events)
        observed = reading.values
        x = [(v - m) / d for v, m, d in zip(observed, self._mean, self._std)]
        previous = self._forecast
        warm = previous is not None and self._seen >= self.settings.warmup
        self._forecast = self.forecaster.step_normalized(x).tolist()
        self._seen += 1
        if not warm or previous is None:
            counters.warmup += 1
            return Scored(reading, "warmup", events=events)
        counters.scored += 1
        expected = tuple(p * d + m for p, m, d in zip(previous, self._mean, self._std))
        score, channel_scores = self.scorer.score_one([a - b for a, b in zip(x, previous)], x)
        decision = self.policy.update(reading.timestamp, score)
        if decision.alerting:
            events.extend(self._track(reading, score, channel_scores, expected, decision.state))
        elif decision.state == "cleared" and self.alert is not None:
            events.append(Event("clear", replace(self.alert, end=reading.timestamp), reading.timestamp))
            self.alert = None
        return Scored(reading, "scored", score, tuple(channel_scores), expected, decision.alerting, events)

    def _track(self, reading: Reading, score: float, channel_scores: list[float], expected: tuple[float, ...],
               state: str) -> list[Event]:
        """Open an alert, or keep its peak up to date."""
        if state == "active" and self.alert is not None and score <= self.alert.score:
            return []
        threshold = self.settings.decision.threshold
        picked = [i for i, s in enumerate(channel_scores) if s >= threshold] or [
            max(range(len(channel_scores)), key=channel_scores.__getitem__)]
        peak = {
            "channels": tuple(self.channels[i] for i in picked),
            "score": score,
            "observed": tuple(float(reading.values[i]) for i in picked),
            "expected": tuple(expected[i] for i in picked),
        }
        if state == "active" and self.alert is not None:
            self.alert = replace(self.alert, **peak)
            return []
        self.counters.alerts += 1
        start = reading.timestamp
        name = f"{self.model_sha256}/{self.sensor}/{start!r}"
        self.alert = Alert(id=uuid.uuid5(_ID_NAMESPACE, name).hex[:16], sensor=self.sensor, start=start,
                           threshold=threshold, model_sha256=self.model_sha256, **peak)
        return [Event("alert", self.alert, start)]

    def source_fault(self, fault: SourceFault) -> list[Event]:
        """The source lost (or regained) the sensor."""
        events = self.faults.source_fault(fault.message, fault.timestamp, fault.cleared)
        self.counters.faults += sum(1 for e in events if e.kind == "fault")
        if events and not fault.cleared:
            events = self._pause(fault.timestamp) + events
        return events

    def tick(self, now: float) -> list[Event]:
        """Regular call on the service's clock: raises a stale fault when readings stop."""
        events = self.faults.tick(now)
        if events:
            self.counters.faults += len(events)
            events = self._pause(now) + events
        return events

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: model state, the stream's position and the scorer's statistics."""
        h, c = self.forecaster.state
        return {
            "model_sha256": self.model_sha256,
            "sensor": self.sensor,
            "h": h.tolist(),
            "c": c.tolist(),
            "forecast": self._forecast,
            "seen": self._seen,
            "last_timestamp": self.faults.last_timestamp,
            "last_sequence": self.faults.last_sequence,
            "scorer": self.scorer.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state` of the same model; raises ``ValueError`` if it does not fit."""
        if state.get("model_sha256") != self.model_sha256:
            raise ValueError("it was written for another model")
        h, c = (np.asarray(state[k], dtype=np.float32) for k in ("h", "c"))
        forecast = state.get("forecast")
        if forecast is not None:
            forecast = [float(f) for f in forecast]
            if len(forecast) != len(self.channels):
                raise ValueError(f"saved forecast has {len(forecast)} channels, expected {len(self.channels)}")
        seen = int(state["seen"]) if forecast is not None else 0
        previous = self.forecaster.state
        self.forecaster.state = (h, c)
        try:
            self.scorer.restore(state["scorer"])
        except (KeyError, TypeError, ValueError):
            self.forecaster.state = previous
            raise
        self._forecast = forecast
        self._seen = seen
        self.faults.resume_after(state.get("last_timestamp"), state.get("last_sequence"))
