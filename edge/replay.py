"""``edge-agent replay``: a CSV through the very pipeline the service runs, as fast as it can.

Each input row is read, scored and decided before the next is read, so row ``i``'s output
depends on rows ``0..i`` only. The output repeats every input column and adds
``anomaly_score`` (overall, in [0, 1]; 0 when not scored: how surprising the reading is now),
``alert`` (0/1: an alert is open, raised on the scorer's level and held while the condition lasts), ``state``
(``warmup``, ``scored``, ``fault``, or ``dropped`` for an unreadable row) and one
``score_<channel>`` column per channel.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edge.config import AgentConfig, AgentSection, DetectorSection, ModelSection
from edge.detector import Counters
from edge.errors import ConfigError
from edge.model_file import load_model
from edge.pipeline import Pipeline, build_pipeline
from edge.plugins import SINK_TYPES, SOURCE_TYPES, PluginSpec, load_spec
from edge.sources.replay import ReplaySource


@dataclass
class ReplayTrace:
    """What ``--plot`` draws, kept only when asked for."""

    timestamps: list[float] = field(default_factory=list)
    values: list[tuple[float, ...]] = field(default_factory=list)
    expected: list[tuple[float, ...] | None] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    levels: list[float | None] = field(default_factory=list)
    alerts: list[bool] = field(default_factory=list)


@dataclass
class ReplaySummary:
    """Counts and timing of one replay; ``counters`` are the detector's own."""

    counters: Counters
    threshold: float
    channels: tuple[str, ...]
    rows: int = 0
    dropped: int = 0
    seconds: float = 0.0
    trace: ReplayTrace | None = None


def replay_config(model: Path, input_csv: Path, base: AgentConfig | None = None, sensor: str | None = None,
                  log_events: bool = True) -> AgentConfig:
    """The config of a replay: ``base``'s model threshold and detector settings, a replay source, a log sink."""
    source = load_spec(SOURCE_TYPES, "source", {"type": "replay", "sensor": sensor or input_csv.stem,
                                                "path": str(input_csv.resolve())}, "replay input")
    sinks: tuple[PluginSpec, ...] = ()
    if log_events:
        sinks = (load_spec(SINK_TYPES, "sink", {"type": "log"}, "replay log"),)
    if base is None:
        return AgentConfig(None, AgentSection(), ModelSection(path=model.resolve()), DetectorSection(),
                           (source,), sinks)
    return replace(base, model=replace(base.model, path=model.resolve()), sources=(source,), sinks=sinks)


def replay(model: Path, input_csv: Path, output: Path, *, config: AgentConfig | None = None,
           keep_trace: bool = False, log_events: bool = True, sensor: str | None = None) -> ReplaySummary:
    """Replay ``input_csv`` through ``model`` and write ``output``."""
    pipeline = build_pipeline(replay_config(model, input_csv, config, sensor, log_events), load_model(model))
    source = pipeline.sources[0]
    assert isinstance(source, ReplaySource)
    detector = pipeline.detectors[source.sensor]
    summary = ReplaySummary(detector.counters, detector.settings.decision.threshold, detector.channels,
                            trace=ReplayTrace() if keep_trace else None)
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pipeline.open()
    try:
        with output.open("w", newline="") as handle:
            _stream(pipeline, source, csv.writer(handle, delimiter=source.delimiter), summary)
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from exc
    finally:
        pipeline.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _stream(pipeline: Pipeline, source: ReplaySource, writer: Any, summary: ReplaySummary) -> None:
    unscored = ["0.000000"] * len(summary.channels)
    writer.writerow([*source.header, "anomaly_score", "alert", "state", *(f"score_{c}" for c in summary.channels)])
    trace = summary.trace
    width = len(source.header)
    for fields, reading in source.records():
        summary.rows += 1
        fields = (fields + [""] * width)[:width] if len(fields) != width else fields
        if reading is None:
            summary.dropped += 1
            writer.writerow([*fields, "", 0, "dropped", *[""] * len(summary.channels)])
            continue
        scored = pipeline.handle(reading)
        assert scored is not None
        if scored.state == "scored":
            scores = [f"{s:.6f}" for s in scored.channel_scores]
            writer.writerow([*fields, f"{scored.score:.6f}", int(scored.alerting), "scored", *scores])
        else:
            writer.writerow([*fields, "0.000000", 0, scored.state, *unscored])
        if trace is not None:
            trace.timestamps.append(reading.timestamp)
            trace.values.append(reading.values)
            trace.expected.append(scored.expected or None)
            trace.scores.append(scored.score if scored.state == "scored" else None)
            trace.levels.append(scored.level if scored.state == "scored" else None)
            trace.alerts.append(scored.alerting)
