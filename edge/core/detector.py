"""One sensor's streaming detector: faults → forecaster → scorer → alert policy, one reading at a time.

``score_one(reading)`` does O(1) work: one LSTM step, one scorer judgement and lesson, one decision.
``score_block(readings)`` gives exactly the results of ``score_one`` on each in turn, with one LSTM call
per run of plain readings (the weight-only int8 file computes the same in blocks as one at a time).
Warm-up is explicit: after a start, a restore that does not fit, or a long break in the stream (a stale or
lost source, a long gap), the first ``warmup`` readings only feed the model's state and are never scored.
A short break (up to ``max_gap_periods`` lost readings, or as many readings with a missing value) is
bridged instead: the model steps on its own forecast for what is missing, so the state carries across.
The forecast is corrected online (its scale and offset per channel, :mod:`edge.core.forecast_correction`),
learned only from readings the protection lets the scorer learn as normal.

Two questions are answered per reading: the scorer's ``score`` (is this reading surprising now?) and the
alert (is the machine in an abnormal condition?): raised when the scorer's level reaches the threshold,
held while the readings stay away from the normal it was raised from (:mod:`edge.core.condition`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from edge.core.alerting import alert_id, alerting_channels, decision_level
from edge.core.compiled_condition import condition_monitor
from edge.core.condition import ConditionMonitor
from edge.core.decision import AlertPolicy
from edge.core.events import Alert, Event, Reading, SourceFault
from edge.core.faults import FaultCheck, FaultMonitor, usable
from edge.core.forecast_correction import ForecastCorrection
from edge.core.forecaster import StreamingForecaster
from edge.core.inputs import Inputs
from edge.core.outcome import Block, Counters, SampleState, Scored
from edge.core.regime import RegimeWatch
from edge.core.saved_state import ModelMismatch, read_saved_state
from edge.core.scorers import SCORERS, Judgement, Protected
from edge.core.settings import DetectorSettings
from edge.model.loader import LoadedModel

log = logging.getLogger(__name__)

__all__ = ["Block", "Counters", "Detector", "ModelMismatch", "SampleState", "Scored"]


def with_condition(judgement: Judgement, level: float, channel_levels: tuple[float, ...]) -> Judgement:
    """The scorer's judgement with the condition's rarity taken in: the rarer of the two decides, per channel
    too; the ``anomaly_score`` stays the scorer's."""
    return Judgement(
        max(judgement.level, level),
        judgement.score,
        tuple(max(a, b) for a, b in zip(judgement.channel_scores, channel_levels)),
    )


class Detector:
    """Streams one sensor's readings through its model and decides."""

    def __init__(self, sensor: str, model: LoadedModel, settings: DetectorSettings, model_name: str = "") -> None:
        meta = model.metadata
        if settings.scoring not in SCORERS:
            raise ValueError(f"scoring {settings.scoring!r} is not one of {', '.join(SCORERS)}")
        self.sensor = sensor
        self.channels = meta.channels
        self.model_sha256 = model.weights_sha256
        self.model_name = model_name
        #: each channel's unit, "" when not known (empty: none known); the pipeline sets it from the source
        self.units: tuple[str, ...] = ()
        self.settings = settings
        self.counters = Counters()
        self.forecaster = StreamingForecaster.from_model(model)
        self._calibration = meta.calibration
        self.scorer = SCORERS[settings.scoring](meta.calibration, settings)
        self._protected = Protected(self.scorer, settings.decision.clear_at)
        self._meta = meta
        self.condition = self._new_condition()
        self.policy = AlertPolicy(settings.decision)
        self.faults = FaultMonitor(
            sensor, meta.channels, settings.faults, meta.constant_channels, meta.flat_run_samples
        )
        self.inputs = Inputs(meta.norm_mean, meta.norm_std)
        self.alert: Alert | None = None
        self._judged: tuple[list[float] | None, float] = (None, 0.0)  # the last reading judged, its condition level
        self._forecast: list[float] | None = None  # for the next reading, corrected (normalised)
        self._model_forecast: list[float] | None = None  # the same, as the model made it
        self.correction = ForecastCorrection(len(meta.channels), settings.forecast_adapt_step)
        self._seen = 0
        self._missing_streak = 0
        self._accepting = False
        self._clock: float | None = None  # the last reading the scorer took in (a bridged loss: a period on)
        self._realign = False  # a break: the scorer is reset, for how long it lasted, at the next reading
        self.regime = RegimeWatch(sensor, meta.channels, self.inputs.mean, self.inputs.std)

    def _new_condition(self) -> ConditionMonitor:
        meta, settings = self._meta, self.settings.condition
        spread = meta.short_mean_sd if meta.short_mean_window == settings.window else ()
        return condition_monitor(len(meta.channels), settings, spread, meta.calibration.score_decades)

    def _restart(self) -> None:
        self.forecaster.reset()
        self._realign = True
        self.condition.reset()
        self._forecast = self._model_forecast = None
        self._seen = 0
        self.inputs.recent = []
        self._missing_streak = 0

    def _pause(self, time: float) -> list[Event]:
        """Scoring stops: close an open alert (its end is now) and forget the stream's state."""
        events = []
        if self.policy.interrupt(time) and self.alert is not None:
            end = max(time, self.alert.start)  # time may have gone back (a clock reset): never end before the start
            events.append(Event("clear", replace(self.alert, end=end, ended_by="interrupted"), end))
            self.alert = None
        self._restart()
        return events

    def _step(self, x: list[float]) -> None:
        """Feed one normalised reading to the model now."""
        self._advance(self.forecaster.step_normalized(self.inputs.filtered(x)).tolist())

    def _resume_scorer(self, time: float) -> None:
        """The first reading after a break: the scorer forgets its short-term context and learns how many
        sample periods the break lasted, so what it keeps aligned in time (the seasons) stays aligned."""
        clock, period = self._clock, self.faults.settings.sample_period_s
        lost = None
        if clock is not None and period > 0 and time > clock:
            lost = max(0, round((time - clock) / period) - 1)
        self.scorer.reset(lost)
        self._realign = False

    def _advance(self, forecast: list[float]) -> None:
        self._model_forecast = forecast
        self._forecast = self.correction.apply(forecast)
        self._seen += 1

    def _feed(self, x: list[float], forecast: list[float] | None) -> None:
        """``x`` enters the model: stepped now, or already stepped in its block (``forecast``)."""
        if forecast is None:
            self._step(x)
        else:
            self._advance(forecast)

    def _bridge(self, x: list[float] | None = None, missing: tuple[int, ...] = (), time: float | None = None) -> bool:
        """Fill a lost reading (``x`` None) or the ``missing`` channels of ``x`` (read at ``time``) with the
        model's forecast."""
        if self._forecast is None or self._missing_streak >= self.faults.bridge_limit:
            return False
        if time is not None:
            self._clock = time
        elif self._clock is not None:
            self._clock += self.faults.settings.sample_period_s
        filled = (
            list(self._forecast) if x is None else [self._forecast[i] if i in missing else v for i, v in enumerate(x)]
        )
        self._step(filled)
        self.scorer.bridge_one(filled)
        self._missing_streak += 1
        self.counters.bridged += 1
        return True

    def score_one(self, reading: Reading, received: float | None = None) -> Scored:
        """Judge, score and decide on one reading: a block of one."""
        return self.score_block((reading,), None if received is None else (received,))[0]

    def score_block(self, readings: Sequence[Reading], received: Sequence[float | None] | None = None) -> list[Scored]:
        """Judge, score and decide on readings in order, exactly as :meth:`score_one` on each in turn.

        Each run of plain readings (no fault, no gap, no break) goes through the model in one call:
        their inputs do not depend on its forecasts. A reading that needs the model's forecast first (one to
        bridge) or breaks the stream is taken on its own. ``received`` is each one's arrival time.
        """
        return self.finish_block(self.begin_block(readings, received))

    def begin_block(self, readings: Sequence[Reading], received: Sequence[float | None] | None = None) -> Block:
        """Check the readings for faults; when they are all plain, also work out the model's inputs.

        Then step the model on ``inputs`` (alone or batched with other sensors) and :meth:`finish_block`,
        or :meth:`finish_block` without forecasts to let this detector step it. Nothing else may come between.
        """
        arrivals = received if received is not None else (None,) * len(readings)
        checks = [self.faults.check(reading, arrival) for reading, arrival in zip(readings, arrivals)]
        if not readings or not all(c.scorable and not c.resumed and not c.missing for c in checks):
            return Block(readings, checks)
        xs = self.inputs.normalise_block(readings)
        return Block(readings, checks, xs, self.inputs.filtered_block(xs))

    def finish_block(self, block: Block, forecasts: np.ndarray | None = None) -> list[Scored]:
        """Score and decide a :meth:`begin_block`; ``forecasts`` are the model's outputs on its ``inputs``."""
        readings, checks = block.readings, block.checks
        if block.inputs is not None and block.xs is not None:
            if forecasts is None:
                forecasts = self.forecaster.step_block_normalized(block.inputs)
            return [
                self._score_scorable(reading, check, x, forecast)
                for reading, check, x, forecast in zip(readings, checks, block.xs, forecasts.tolist())
            ]
        outcomes: list[Scored] = []
        start, count = 0, len(readings)
        while start < count:
            end = start
            while end < count and checks[end].scorable and not checks[end].resumed and not checks[end].missing:
                end += 1
            if end == start:
                outcomes.append(self._score_irregular(readings[start], checks[start]))
                start += 1
                continue
            run = readings[start:end]
            xs = self.inputs.normalise_block(run)
            forecasts = self.forecaster.step_block_normalized(self.inputs.filtered_block(xs))
            outcomes.extend(
                self._score_scorable(reading, check, x, forecast)
                for reading, check, x, forecast in zip(run, checks[start:end], xs, forecasts.tolist())
            )
            start = end
        return outcomes

    def _score_irregular(self, reading: Reading, check: FaultCheck) -> Scored:
        """A reading after a break or a loss, or one that cannot be scored: stepped on its own."""
        counters = self.counters
        counters.readings += 1
        events = check.events
        if events:
            counters.faults += sum(1 for e in events if e.kind == "fault")
        if check.resumed:
            events = self._pause(reading.timestamp) + events
        for _ in range(check.missing):
            if not self._bridge():
                events = self._pause(reading.timestamp) + events
                break
        values = reading.values
        bad = tuple(i for i, v in enumerate(values) if not usable(v))
        if not check.scorable:
            counters.unscored_faulty += 1
            if not bad or not self._bridge(
                self.inputs.normalise(tuple(0.0 if i in bad else v for i, v in enumerate(values))),
                bad,
                reading.timestamp,
            ):
                events = self._pause(reading.timestamp) + events
            return Scored(reading, "fault", events=events)
        check.events = events
        return self._score_scorable(reading, check, self.inputs.normalise(values), None, counted=True)

    def _score_scorable(
        self, reading: Reading, check: FaultCheck, x: list[float], forecast: list[float] | None, counted: bool = False
    ) -> Scored:
        """Warm up on, or score and decide on, one scorable reading ``x`` (normalised).

        ``forecast`` is the model's output after ``x`` when the block already computed it; None: step now.
        """
        counters = self.counters
        events = check.events
        if not counted:
            counters.readings += 1
            if events:
                counters.faults += sum(1 for e in events if e.kind == "fault")
        self._missing_streak = 0
        if self._realign:
            self._resume_scorer(reading.timestamp)
        self._clock = reading.timestamp
        previous, model_previous = self._forecast, self._model_forecast
        warm = previous is not None and self._seen >= self.settings.warmup
        if not warm or previous is None:
            self._feed(x, forecast)
            self.scorer.bridge_one(x)  # not scored, but in time: the seasons stay aligned
            self.condition.learn_one(x, normal=False)
            counters.warmup += 1
            return Scored(reading, "warmup", events=events)
        counters.scored += 1
        residual = [a - b for a, b in zip(x, previous)]
        judgement = self.judge(residual, x)
        if self._accepting and judgement.level < self.settings.decision.clear_at:
            self._accepting = False  # the accepted condition has been learned: alerts are armed again
        was_open = self.policy.active
        holding = was_open and self.condition.holding(x)
        level = decision_level(judgement, self.settings)
        decision = self.policy.update(reading.timestamp, 0.0 if self._accepting else level, holding)
        alerting = decision.alerting
        if self.regime.check(x, self.condition):
            counters.regime_warnings += 1
        if self._accepting:  # learning the accepted condition as normal, by the stated rule
            self.scorer.learn_one(residual, x, True)
            normal = True
        else:
            normal = self._protected.learn_one(residual, x, judgement, alert_open=was_open or alerting)
        if normal and model_previous is not None:
            self.correction.learn(model_previous, x)  # as the scorer: never from an anomaly
        self.learn_condition(x, was_open or alerting)
        self._feed(x, forecast)
        expected = self.inputs.denormalise(previous)
        if alerting:
            events.extend(self._track(reading, judgement, expected, decision.state))
        elif decision.state in ("cleared", "accepted") and self.alert is not None:
            if decision.state == "accepted":
                counters.accepted += 1
                self.condition.rebase()
                self._accepting = True
                log.warning(
                    "sensor %s: alert %s has lasted %g s (accept_after_s); its readings are now taken as "
                    "the new normal and learned as such, with no new alert until the score is back below "
                    "%.3f",
                    self.sensor,
                    self.alert.id,
                    self.settings.decision.accept_after_s,
                    self.settings.decision.clear_at,
                )
            ended_by = "accepted as the new normal" if decision.state == "accepted" else "back to normal"
            events.append(
                Event("clear", replace(self.alert, end=reading.timestamp, ended_by=ended_by), reading.timestamp)
            )
            self.alert = None
        return Scored(
            reading,
            "scored",
            judgement.score,
            judgement.channel_scores,
            expected,
            alerting,
            events,
            judgement.level,
        )

    def judge(self, residual: list[float], x: list[float]) -> Judgement:
        """The scorer's judgement of a normalised residual and reading, with the condition's rarity taken in
        (nothing changes; :meth:`learn_condition` after the decision)."""
        judgement = self.scorer.score_one(residual, x)
        level, channel_levels = self.condition.judge(x)
        self._judged = (x, level)
        return with_condition(judgement, level, channel_levels) if level > 0.0 else judgement

    def learn_condition(self, x: list[float], alert_open: bool) -> None:
        """The condition takes the reading in: its normal learns only while no alert is open and the reading's
        short mean is not rare (below the clear level)."""
        judged, level = self._judged
        if judged is not x:
            level = self.condition.judge(x)[0]
        normal = not alert_open
        self.condition.learn_one(x, normal, normal and level < self.settings.decision.clear_at)

    def _track(self, reading: Reading, judgement: Judgement, expected: tuple[float, ...], state: str) -> list[Event]:
        """Open an alert, or keep its peak up to date."""
        level = judgement.level
        if state == "active" and self.alert is not None and level <= self.alert.score:
            return []
        channels, observed, forecast = alerting_channels(reading, judgement, expected, self.settings, self.channels)
        units = self._units_of(channels)
        if state == "active" and self.alert is not None:
            self.alert = replace(
                self.alert, channels=channels, score=level, observed=observed, expected=forecast, units=units
            )
            return []
        self.counters.alerts += 1
        start = reading.timestamp
        self.alert = Alert(
            id=alert_id(self.model_sha256, self.sensor, start),
            sensor=self.sensor,
            start=start,
            threshold=self.settings.decision.threshold,
            model_sha256=self.model_sha256,
            model=self.model_name,
            channels=channels,
            score=level,
            observed=observed,
            expected=forecast,
            units=units,
        )
        return [Event("alert", self.alert, start)]

    def _units_of(self, channels: tuple[str, ...]) -> tuple[str, ...]:
        if not any(self.units):
            return ()
        return tuple(self.units[self.channels.index(c)] for c in channels)

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

    def carry_over(self, old: Detector) -> list[Event]:
        """After a reload: take on ``old``'s counters, fault record and open alert (this one restored its state).

        An open alert goes on under this detector when the model and the decision settings are the same; else it
        is closed now, ended by the reload, so that every ALERT gets its CLEAR. Returns the events of that.
        """
        self.counters = old.counters
        self.regime.warned = set(old.regime.warned)
        if self.faults.settings == old.faults.settings and self.faults.channels == old.faults.channels:
            self.faults = old.faults  # active faults clear as they would have; counts go on
        else:
            self.faults.counts = dict(old.faults.counts)
        if old.alert is None:
            return []
        if (
            self.model_sha256 == old.model_sha256
            and self.settings.decision == old.settings.decision
            and self.settings.condition == old.settings.condition
        ):
            self.alert, self.policy, self._accepting = old.alert, old.policy, old._accepting
            self.condition = old.condition  # the normal it was raised from
            return []
        end = old.faults.last_timestamp or old.alert.start
        log.info(
            "sensor %s: alert %s closed by the reload (the new model or decision settings judge afresh)",
            self.sensor,
            old.alert.id,
        )
        return [Event("clear", replace(old.alert, end=end, ended_by="closed by a reload with new settings"), end)]

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps: model state, the stream's position and the scorer's statistics."""
        h, c = self.forecaster.state
        return {
            "model_sha256": self.model_sha256,
            "sensor": self.sensor,
            "h": h.tolist(),
            "c": c.tolist(),
            "forecast": self._forecast,
            "model_forecast": self._model_forecast,
            "correction": self.correction.state(),
            "seen": self._seen,
            "recent_inputs": self.inputs.recent,
            "last_timestamp": self.faults.last_timestamp,
            "last_sequence": self.faults.last_sequence,
            "scorer_clock": self._clock,
            "realign": self._realign,
            "scorer": self.scorer.state(),
            "condition": self.condition.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state` of the same model; raises ``ValueError`` if it does not fit.

        Every field is checked (types, shapes, finiteness) before anything changes, so a state that does not
        validate leaves the detector as it was: a damaged checkpoint can cost a warm-up, never a crash.
        """
        saved = read_saved_state(state, self.model_sha256, self.forecaster.state[0].shape, len(self.channels))
        scorer = SCORERS[self.settings.scoring](self._calibration, self.settings)
        condition = self._new_condition()
        correction = ForecastCorrection(len(self.channels), self.settings.forecast_adapt_step)
        for part, target in (("scorer", scorer), ("condition", condition), ("correction", correction)):
            if part not in state and part in ("condition", "correction"):  # an earlier version's checkpoint
                continue
            try:
                target.restore(state[part])
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise ValueError(f"saved {part} state does not fit ({type(exc).__name__}: {exc})") from exc
        self.forecaster.state = (saved.h, saved.c)
        self.scorer, self.condition, self.correction = scorer, condition, correction
        self._protected = Protected(scorer, self.settings.decision.clear_at)
        self._forecast, self._model_forecast = saved.forecast, saved.model_forecast
        self._seen = saved.seen
        self.inputs.recent = saved.recent_inputs
        self._clock, self._realign = saved.scorer_clock, saved.realign
        self.faults.resume_after(saved.last_timestamp, saved.last_sequence)
