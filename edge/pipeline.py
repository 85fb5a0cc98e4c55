"""The running pipeline: sources → detectors → sinks, for a config and its models.

:mod:`edge.assembly` builds it. Sensors of one model share its onnxruntime session; sensors that tick
together are stepped in one call. Events go to every sink, outcomes to the observers.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.config import AgentConfig
from edge.core.counters import carried
from edge.core.detector import Detector, Scored
from edge.core.events import Alert, Event, Reading, SourceFault
from edge.core.forecaster import step_together
from edge.errors import EdgeError
from edge.model.loader import LoadedModel
from edge.running import RunningSink
from edge.sources.base import Source

log = logging.getLogger(__name__)

#: told every sensor's outcomes (each carries its reading) after they were decided and their events sent:
#: the field recorder and the metrics; called on the scoring thread, so it must only hand them on, never wait
Observer = Callable[[str, Sequence[Scored]], None]


@dataclass
class Pipeline:
    """The models by name, a detector per sensor (scored with its source's model), the sources and the sinks."""

    config: AgentConfig
    models: dict[str, LoadedModel]
    model_of: dict[str, str]  # sensor -> the name of the model that scores it
    detectors: dict[str, Detector]
    sources: list[Source]
    sinks: list[RunningSink]
    recent_alerts: deque[Event] = field(default_factory=lambda: deque(maxlen=10))
    last_readings: dict[str, Reading] = field(default_factory=dict)
    counted_before: dict[str, dict[str, int]] = field(default_factory=dict)  # per sensor, by replaced sources
    adopted: set[int] = field(default_factory=set)  # sources taken over open from the pipeline before (ids)
    handed_over: set[int] = field(default_factory=set)  # sources the next pipeline took over: not closed here
    fixed_units: frozenset[str] = frozenset()  # sensors whose config sets ``units``: what a device says is ignored
    observers: list[Observer] = field(default_factory=list)
    sink_observers: list[Observer] = field(default_factory=list)  # the sinks' own (Sink.watch), set by open()
    failing_observers: set[str] = field(default_factory=set)
    _unit_sources: dict[str, Source] | None = field(default=None, init=False, repr=False)  # learn_units' sources

    @property
    def model(self) -> LoadedModel:
        """The only model (a pipeline with several has no single one)."""
        if len(self.models) != 1:
            raise EdgeError(f"the pipeline has {len(self.models)} models: {', '.join(self.models)}")
        return next(iter(self.models.values()))

    def model_for(self, sensor: str) -> LoadedModel:
        """The model that scores ``sensor``."""
        return self.models[self.model_of[sensor]]

    def describe_models(self) -> str:
        """``model pump /etc/edge-anomaly/pump.onnx (int8, weights 568371f76d6a), sensors pump-1, pump-2``, one
        entry per model, joined by ``; ``."""
        parts = []
        for name, model in self.models.items():
            sensors = [s for s, n in self.model_of.items() if n == name]
            named = f"{name} " if len(self.models) > 1 else ""
            parts.append(
                f"model {named}{model.path} ({model.metadata.precision}, weights {model.weights_sha256[:12]}), "
                f"sensors {', '.join(sensors) or 'none'}"
            )
        return "; ".join(parts)

    def adopt_sources(self, old: Pipeline) -> list[str]:
        """Take over ``old``'s open sources whose settings did not change (a reload), so a port or file is not
        closed and reopened: nothing that arrives meanwhile is lost. Returns the sensors taken over.

        A source is built for its model's channels and sample period: one whose model changed those is new."""
        taken = []
        for i, spec in enumerate(self.config.sources):
            meta = self.model_for(spec.config.sensor).metadata
            for j, old_spec in enumerate(old.config.sources):
                source = old.sources[j]
                old_meta = old.model_for(old_spec.config.sensor).metadata
                if (meta.channels, meta.sample_period_s) != (old_meta.channels, old_meta.sample_period_s):
                    continue
                if (old_spec.type, old_spec.config) == (spec.type, spec.config) and id(source) not in old.handed_over:
                    self.sources[i] = source
                    self._unit_sources = None
                    self.adopted.add(id(source))
                    old.handed_over.add(id(source))
                    taken.append(source.sensor)
                    break
        return taken

    def learn_units(self, sensor: str) -> None:
        """Give ``sensor``'s detector its source's units (a firmware's HELLO states them once it comes), unless
        the config's ``units`` key fixed them."""
        if self._unit_sources is None:
            self._unit_sources = {s.sensor: s for s in self.sources if s.sensor not in self.fixed_units}
        source = self._unit_sources.get(sensor)
        if source is not None:
            units = source.units()
            detector = self.detectors[sensor]
            if units and units != detector.units:
                detector.units = tuple(units)

    def source_counters(self, source: Source) -> dict[str, int]:
        """A source's counters since the agent started, across reloads that kept its sensor and type."""
        return carried(self.counted_before.get(source.sensor, {}), source.counters(), source.LEVELS)

    def carry_over(self, old: Pipeline) -> None:
        """Go on counting from ``old``'s totals (a reload): a source of the same sensor and type, and the
        n-th sink of each type, take over what their predecessors counted."""
        previous = {(s.sensor, type(s)): s for s in old.sources}
        for source in self.sources:
            before = previous.get((source.sensor, type(source)))
            if before is not None and before is not source:  # a source taken over open counts on by itself
                self.counted_before[source.sensor] = old.source_counters(before)
        old_sinks: dict[type, list[RunningSink]] = {}
        for guard in old.sinks:
            old_sinks.setdefault(type(guard.sink), []).append(guard)
        for guard in self.sinks:
            same = old_sinks.get(type(guard.sink), [])
            if same:
                guard.carry_over(same.pop(0))

    def open(self) -> None:
        """Open sinks, then sources, then take the sinks' observers (:meth:`Sink.watch`); on failure close what
        was opened and re-raise."""
        opened: list[Any] = []
        try:
            for sink in self.sinks:
                sink.sink.open()
                opened.append(sink.sink)
            for source in self.sources:
                if id(source) not in self.adopted:  # taken over open at a reload
                    source.open()
                    opened.append(source)
        except BaseException:
            for thing in reversed(opened):
                thing.close()
            raise
        watching = (guard.watch(self.detectors) for guard in self.sinks)
        self.sink_observers = [observer for observer in watching if observer is not None]

    def handle(self, item: Reading | SourceFault, received: float | None = None) -> Scored | None:
        """Score a reading (or take a source's fault report) and send the events it causes."""
        self.learn_units(item.sensor)
        detector = self.detectors[item.sensor]
        if isinstance(item, SourceFault):
            self.dispatch(detector.source_fault(item))
            return None
        self.last_readings[item.sensor] = item
        scored = detector.score_one(item, received)
        if scored.events:
            self.dispatch(scored.events)
        self._observe(item.sensor, [scored])
        return scored

    def handle_block(self, readings: Sequence[Reading], received: Sequence[float | None] | None = None) -> list[Scored]:
        """Score readings in order, each sensor's consecutive readings as one block; send their events.

        Exactly what :meth:`handle` on each in turn does: the same outcomes, the same events in the same order.
        """
        outcomes: list[Scored] = []
        start = 0
        while start < len(readings):
            sensor = readings[start].sensor
            end = start + 1
            while end < len(readings) and readings[end].sensor == sensor:
                end += 1
            self.learn_units(sensor)
            detector = self.detectors[sensor]
            self.last_readings[sensor] = readings[end - 1]
            scored = detector.score_block(readings[start:end], None if received is None else received[start:end])
            for outcome in scored:
                if outcome.events:
                    self.dispatch(outcome.events)
            self._observe(sensor, scored)
            outcomes.extend(scored)
            start = end
        return outcomes

    def handle_sensors(
        self, blocks: Mapping[str, tuple[Sequence[Reading], Sequence[float | None] | None]]
    ) -> dict[str, list[Scored]]:
        """Score one block per sensor; sensors whose blocks are plain and equally long share one LSTM call.

        Each sensor's outcomes are exactly :meth:`handle_block`'s on its block (and so one at a time's); the
        events go out sensor by sensor, in ``blocks``' order.
        """
        planned = {}
        for sensor, (readings, received) in blocks.items():
            self.learn_units(sensor)
            if readings:
                self.last_readings[sensor] = readings[-1]
            planned[sensor] = self.detectors[sensor].begin_block(readings, received)
        together: dict[tuple[int, int], list[str]] = {}  # (session, rows) -> sensors stepped in one call
        for sensor, block in planned.items():
            if block.inputs is not None:
                key = (id(self.detectors[sensor].forecaster.session), len(block.inputs))
                together.setdefault(key, []).append(sensor)
        forecasts: dict[str, np.ndarray] = {}
        for sensors in together.values():
            if len(sensors) > 1:
                inputs = [rows for s in sensors if (rows := planned[s].inputs) is not None]  # all: see above
                outputs = step_together([self.detectors[s].forecaster for s in sensors], inputs)
                forecasts.update(zip(sensors, outputs))
        outcomes = {}
        for sensor, block in planned.items():
            outcomes[sensor] = self.detectors[sensor].finish_block(block, forecasts.get(sensor))
            for outcome in outcomes[sensor]:
                if outcome.events:
                    self.dispatch(outcome.events)
            self._observe(sensor, outcomes[sensor])
        return outcomes

    def _observe(self, sensor: str, outcomes: Sequence[Scored]) -> None:
        for observer in (*self.observers, *self.sink_observers):
            try:
                observer(sensor, outcomes)
            except Exception as exc:  # an observer's failure must never stop scoring; said once per streak
                name = _name(observer)
                if name not in self.failing_observers:
                    log.error("observer %s failed on %s's readings: %s (scoring goes on)", name, sensor, exc)
                self.failing_observers.add(name)
            else:
                if self.failing_observers and _name(observer) in self.failing_observers:
                    log.info("observer %s works again", _name(observer))
                    self.failing_observers.discard(_name(observer))

    def tick(self, now: float) -> None:
        """Stale checks on the service's clock."""
        for detector in self.detectors.values():
            events = detector.tick(now)
            if events:
                self.dispatch(events)

    def overdue(self, now: float) -> list[str]:
        """Sensors silent past their stale limit (the service's clock)."""
        return [name for name, detector in self.detectors.items() if detector.faults.overdue(now)]

    def dispatch(self, events: list[Event]) -> None:
        """Every event to every sink; alerts are also kept for the status file."""
        for event in events:
            if isinstance(event.subject, Alert):
                self.recent_alerts.append(event)
            for sink in self.sinks:
                sink.send(event)

    def close(self) -> None:
        """Close sources, then flush and close sinks."""
        for source in self.sources:
            if id(source) in self.handed_over:
                continue  # the pipeline after a reload reads it now
            try:
                source.close()
            except Exception as exc:  # closing must reach every plugin
                log.warning("closing source %s failed: %s", source.describe(), exc)
        for sink in self.sinks:
            sink.flush()
            sink.close()


def _name(observer: Observer) -> str:
    """An observer as log lines name it."""
    return getattr(observer, "__qualname__", None) or repr(observer)
