"""The service's optional parts around its pipeline: the field recorder and the metrics, kept across reloads.

Each is a pipeline observer while it runs (added to and removed from the service's ``observers``); a reload
keeps one whose section did not change, changes the metrics in place and replaces a recorder whose
``[recorder]`` changed (its counters go on, as the sources' do).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from edge.config import AgentConfig
from edge.metrics.publish import Metrics
from edge.pipeline import Observer, Pipeline
from edge.service.recorder import Recorder

log = logging.getLogger(__name__)

IDLE_METRICS_S = 60.0  # with metrics off, how often the loop looks again (a reload may turn them on)


class Extras:
    """The recorder and the metrics of one service; ``observers`` is the service's list, shared."""

    def __init__(self, observers: list[Observer]) -> None:
        self.observers = observers
        self.recorder: Recorder | None = None
        self._recorder_key: tuple[Any, ...] | None = None
        self.metrics: Metrics | None = None

    def use(self, pipeline: Pipeline) -> None:
        """Keep the recorder of an unchanged ``[recorder]`` (told the sensors' channels), else replace it."""
        config = pipeline.config
        section = config.recorder
        key = (section, section.folder_path(config.agent)) if section.enabled else None
        if key != self._recorder_key:
            counted = self._drop_recorder()
            if key is not None:
                self.recorder = Recorder(key[1], section)
                self.recorder.counts.update(counted)
                self.observers.append(self.recorder)
                log.info("recording readings under %s", key[1])
            self._recorder_key = key
        if self.recorder is not None:
            self.recorder.use({sensor: pipeline.model_for(sensor).metadata.channels for sensor in pipeline.model_of})

    def _drop_recorder(self) -> dict[str, int]:
        """Write what the recorder has queued and close its files (``[recorder]`` changed); returns its counts."""
        if self.recorder is None:
            return {}
        self.observers.remove(self.recorder)
        self.recorder.close()
        counted = dict(self.recorder.counts)
        self.recorder = None
        self._recorder_key = None
        return counted

    def recorder_counters(self) -> dict[str, int] | None:
        """The recorder's counters for the status summary (None without a recorder)."""
        return None if self.recorder is None else self.recorder.counters()

    def close_recorder(self) -> None:
        """At stop: write and close the recorder's files (it stays, so the last status shows its counters)."""
        if self.recorder is not None:
            self.recorder.close()

    def configure(self, config: AgentConfig, pipeline: Pipeline | None = None) -> None:
        """Start, change or keep the metrics as ``config``'s ``[metrics]`` says (at the start and each reload)."""
        gateway = config.agent.gateway_id or socket.gethostname()
        if self.metrics is not None:
            self.metrics.configure(config.metrics, gateway)
        elif config.metrics.enabled:
            self.metrics = Metrics(config.metrics, gateway)
            self.observers.append(self.metrics.observer)
            if pipeline is not None:
                pipeline.observers.append(self.metrics.observer)

    def write_metrics(self, pipeline: Pipeline, summary: dict[str, Any]) -> None:
        """Render the metrics: the textfile rewritten, the HTTP endpoint's text replaced (a failure is logged)."""
        if self.metrics is not None:
            self.metrics.update(pipeline, summary)

    def metrics_interval(self) -> float:
        """Seconds until the metrics are rendered again."""
        return self.metrics.section.interval_s if self.metrics is not None else IDLE_METRICS_S

    def close_metrics(self) -> None:
        """At stop: close the HTTP endpoint (the textfile stays, saying the agent is not running)."""
        if self.metrics is not None:
            self.metrics.close()
