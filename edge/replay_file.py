"""``edge-agent replay``: a CSV through the very pipeline the service runs, as fast as it can.

Rows are scored in blocks (``--block``, one LSTM call per block) with exactly the results of one row at a
time, so row ``i``'s output depends on rows ``0..i`` only. The output repeats every input column and adds
``anomaly_score`` (overall, in [0, 1]; 0 when not scored: how surprising the reading is now),
``alert`` (0/1: an alert is open, raised on the scorer's level and held while the condition lasts), ``state``
(``warmup``, ``scored``, ``fault``, or ``dropped`` for an unreadable row) and one
``score_<channel>`` column per channel.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from edge.assembly import build_pipeline
from edge.config import AgentConfig, AgentSection, DetectorSection, ModelSection
from edge.core.detector import Counters, Scored
from edge.errors import ConfigError, EdgeError
from edge.model.loader import load_model
from edge.pipeline import Pipeline
from edge.plugins import SINK_TYPES, SOURCE_TYPES, PluginSpec, load_spec
from edge.sources.replay import Record, ReplaySource


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
    units: tuple[str, ...] = ()  # per channel, "" when not known; empty when none is
    rows: int = 0
    dropped: int = 0
    seconds: float = 0.0
    trace: ReplayTrace | None = None


def replay_config(
    model: Path,
    input_csv: Path,
    base: AgentConfig | None = None,
    sensor: str | None = None,
    log_events: bool = True,
    units: list[str] | None = None,
) -> AgentConfig:
    """The config of a replay: a replay source, a log sink, and ``base``'s detector settings and, when ``base``
    has a source for this sensor, its model's threshold and the source's ``units`` (unless ``units`` given)."""
    sensor = sensor or input_csv.stem
    table: dict[str, Any] = {"type": "replay", "sensor": sensor, "path": str(input_csv.resolve())}
    section = ModelSection(path=model.resolve())
    if base is not None:
        known = base.model_for_sensor(sensor)
        if known is not None:
            section = replace(known, path=section.path)
        units = units or next((s.config.units for s in base.sources if s.config.sensor == sensor), None)
    if units is not None:
        table["units"] = units
    source = load_spec(SOURCE_TYPES, "source", table, "replay input")
    sinks: tuple[PluginSpec, ...] = ()
    if log_events:
        sinks = (load_spec(SINK_TYPES, "sink", {"type": "log"}, "replay log"),)
    if base is None:
        return AgentConfig(None, AgentSection(), (section,), DetectorSection(), (source,), sinks)
    return replace(base, models=(section,), sources=(source,), sinks=sinks)


DEFAULT_BLOCK = 64  # rows per call: as fast as 256 here, and onnxruntime keeps 1.1 MiB less in buffers


def replay(
    model: Path,
    input_csv: Path,
    output: Path,
    *,
    config: AgentConfig | None = None,
    keep_trace: bool = False,
    log_events: bool = True,
    sensor: str | None = None,
    units: list[str] | None = None,
    block: int = DEFAULT_BLOCK,
) -> ReplaySummary:
    """Replay ``input_csv`` through ``model`` and write ``output``, scoring ``block`` rows per call.

    Blocks change only the speed: every output column is the same for any ``block`` (1: one reading per call).
    """
    if block < 1:
        raise ConfigError(f"--block {block}: give 1 (one reading per call) or more")
    replayed = replay_config(model, input_csv, config, sensor, log_events, units)
    pipeline = build_pipeline(replayed, {replayed.model.name: load_model(model)})
    source = pipeline.sources[0]
    if not isinstance(source, ReplaySource):
        raise EdgeError(f"replay needs a replay source, not {source.describe()}")
    detector = pipeline.detectors[source.sensor]
    summary = ReplaySummary(
        detector.counters,
        detector.settings.decision.threshold,
        detector.channels,
        detector.units,
        trace=ReplayTrace() if keep_trace else None,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pipeline.open()
    try:
        with output.open("w", newline="") as handle:
            _stream(pipeline, source, RowWriter(handle, source.delimiter), summary, block)
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from exc
    finally:
        pipeline.close()
    summary.seconds = time.perf_counter() - started
    return summary


class RowWriter:
    """Writes rows of strings exactly as ``csv.writer`` does; a row with nothing to quote is joined directly."""

    def __init__(self, handle: TextIO, delimiter: str) -> None:
        self.handle, self.delimiter = handle, delimiter
        self.writer = csv.writer(handle, delimiter=delimiter)  # its line end: "\r\n"

    def writerows(self, rows: Iterable[list[str]]) -> None:
        delimiter, plain = self.delimiter, []
        for row in rows:
            line = delimiter.join(row)
            if (
                len(row) > 1
                and line.count(delimiter) == len(row) - 1
                and '"' not in line
                and "\r" not in line
                and "\n" not in line
            ):
                plain.append(line)
                continue
            if plain:
                self.handle.write("\r\n".join(plain) + "\r\n")
                plain = []
            self.writer.writerow(row)  # a field with the delimiter, a quote or a line break in it
        if plain:
            self.handle.write("\r\n".join(plain) + "\r\n")


def _stream(pipeline: Pipeline, source: ReplaySource, writer: RowWriter, summary: ReplaySummary, block: int) -> None:
    writer.writerows([[*source.header, "anomaly_score", "alert", "state", *(f"score_{c}" for c in summary.channels)]])
    records = source.records()
    while chunk := list(itertools.islice(records, block)):
        scored = iter(pipeline.handle_block([reading for _, reading in chunk if reading is not None]))
        writer.writerows(_rows(chunk, scored, summary, len(source.header)))


def _rows(chunk: list[Record], scored: Iterator[Scored], summary: ReplaySummary, width: int) -> Iterator[list[str]]:
    """The output rows of one chunk of input records, in order; each row's fields padded to ``width``."""
    channels = summary.channels
    unscored = ["0.000000"] * len(channels)
    trace = summary.trace
    for fields, reading in chunk:
        summary.rows += 1
        if len(fields) != width:
            fields = (fields + [""] * width)[:width]
        if reading is None:
            summary.dropped += 1
            yield [*fields, "", "0", "dropped", *[""] * len(channels)]
            continue
        outcome = next(scored)
        if outcome.state == "scored":
            yield [
                *fields,
                f"{outcome.score:.6f}",
                "1" if outcome.alerting else "0",
                "scored",
                *[f"{s:.6f}" for s in outcome.channel_scores],
            ]
        else:
            yield [*fields, "0.000000", "0", outcome.state, *unscored]
        if trace is not None:
            trace.timestamps.append(reading.timestamp)
            trace.values.append(reading.values)
            trace.expected.append(outcome.expected or None)
            trace.scores.append(outcome.score if outcome.state == "scored" else None)
            trace.levels.append(outcome.level if outcome.state == "scored" else None)
            trace.alerts.append(outcome.alerting)
