"""What the agent exports to Prometheus: every series, built afresh from the running pipeline at each write.

The numbers are the ones ``edge-agent status`` shows (the same counters, carried across reloads), plus each
sensor's last score and the LSTM calls' latency. Every series has the ``gateway`` label. The list of series
with their meaning is in docs/gateway-config.md ("Metrics for Prometheus"); a test keeps the two in step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, get_args

from edge.core.events import FaultKind
from edge.metrics.exposition import Buckets, Family, Kind, Labels
from edge.version import __version__

if TYPE_CHECKING:  # the series are built on the gateway, but the module stays importable without numpy
    from edge.core.outcome import Scored
    from edge.pipeline import Pipeline

PREFIX = "edge_anomaly_"
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]+")

#: the per-sensor counters of the detector (``Counters``): metric name part and help
SENSOR_COUNTERS = {
    "readings": "readings received",
    "scored": "readings scored",
    "warmup": "readings that only fed the model (warm-up after a start or a break)",
    "unscored_faulty": "faulty readings left unscored",
    "alerts": "alerts raised",
    "bridged": "readings or missing values filled with the model's forecast",
    "accepted": "alerts closed by accepting their condition as the new normal",
    "regime_warnings": "warnings that readings sit at another operating point",
}


#: the recorder's counters that are levels, not counts (``queued``: outcomes waiting for its writer)
RECORDER_LEVELS = frozenset({"queued"})


class LastScores:
    """A pipeline observer that keeps each sensor's last scored outcome: one look per block in steady scoring
    (the block's last outcome; back through the block only while it warms up or is faulty)."""

    def __init__(self) -> None:
        self.last: dict[str, Scored] = {}

    def __call__(self, sensor: str, outcomes: Sequence[Scored]) -> None:
        if outcomes and outcomes[-1].state == "scored":
            self.last[sensor] = outcomes[-1]
            return
        for outcome in reversed(outcomes):
            if outcome.state == "scored":
                self.last[sensor] = outcome
                return


def name_part(key: str) -> str:
    """A plugin's counter key as part of a metric name: ``peak pending`` -> ``peak_pending``."""
    return _NOT_NAME.sub("_", key).strip("_").lower() or "value"


class Families:
    """Families by name, in the order first asked for."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.by_name: dict[str, Family] = {}

    def add(self, name: str, kind: Kind, help: str, labels: Labels, value: float | Buckets) -> None:
        """One sample of ``edge_anomaly_<name>`` (made on first use), with the ``gateway`` label first."""
        full = PREFIX + name
        family = self.by_name.get(full)
        if family is None:
            family = self.by_name[full] = Family(full, kind, help)
        family.add({"gateway": self.gateway, **labels}, value)

    def counts(
        self, prefix: str, what: str, labels: Labels, values: Mapping[str, float], levels: frozenset[str]
    ) -> None:
        """A plugin's counters: counts as ``<prefix>_<key>_total`` counters, levels as ``<prefix>_<key>`` gauges."""
        for key, value in sorted(values.items()):
            if key in levels:
                self.add(f"{prefix}_{name_part(key)}", "gauge", f"{what} level {key!r}, now", labels, value)
            else:
                self.add(f"{prefix}_{name_part(key)}_total", "counter", f"{what} count {key!r}", labels, value)


def families(
    pipeline: Pipeline, last: Mapping[str, Scored], gateway: str, summary: Mapping[str, Any] | None = None
) -> list[Family]:
    """Every series of the running agent (``summary``: the status summary, for what only it holds)."""
    out = Families(gateway)
    out.add("info", "gauge", "1, labelled with the agent's version", {"version": __version__}, 1)
    if summary is not None:
        _agent(out, summary)
    for name, model in pipeline.models.items():
        meta = model.metadata
        labels = {"model": name, "precision": meta.precision, "weights_sha256": model.weights_sha256[:12]}
        out.add("model_info", "gauge", "1 per loaded model, labelled with its precision and weights", labels, 1)
    for spec, source in zip(pipeline.config.sources, pipeline.sources):
        _sensor(out, pipeline, source.sensor, last.get(source.sensor))
        labels = {"sensor": source.sensor, "source": spec.type}
        counted = pipeline.source_counters(source)
        out.counts("source", f"the {spec.type} source's", labels, counted, source.LEVELS)
    for guard in pipeline.sinks:
        labels = {"sink": guard.sink.describe()}
        totals = guard.totals()
        for key in ("sent", "failed", "dropped", "retried"):
            out.add(f"sink_{key}_total", "counter", f"events a sink {key} (its delivery's count)", labels, totals[key])
        own = {k.split(".", 1)[1]: v for k, v in totals.items() if "." in k}
        out.counts(
            f"sink_{name_part(guard.sink.name)}", f"the {guard.sink.name} sink's", labels, own, guard.sink.LEVELS
        )
    for name, model in pipeline.models.items():
        shot = model.latency.snapshot()
        out.add(
            "lstm_call_seconds",
            "histogram",
            "duration of each onnxruntime call of the model (a block of readings is one call)",
            {"model": name},
            Buckets(shot.bounds_s, shot.cumulative, shot.sum_s),
        )
        out.add("lstm_readings_total", "counter", "readings stepped through the model", {"model": name}, shot.rows)
    recorder = (summary or {}).get("recorder")  # the field recorder's counters, when it records
    if isinstance(recorder, Mapping):
        numbers = {k: v for k, v in recorder.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        out.counts("recorder", "the field recorder's", {}, numbers, RECORDER_LEVELS)
    return list(out.by_name.values())


def _agent(out: Families, summary: Mapping[str, Any]) -> None:
    running = summary.get("state") == "running"
    out.add("running", "gauge", "1 while the agent runs; 0 in the file's last write, at its stop", {}, int(running))
    uptime = summary.get("uptime_s")
    if isinstance(uptime, int | float):
        out.add("uptime_seconds", "gauge", "seconds since the agent started", {}, uptime)
    reload = summary.get("last_reload") or {}
    out.add(
        "reloads_total", "counter", "reloads asked for (SIGHUP), whatever their outcome", {}, reload.get("count", 0)
    )
    if reload:
        out.add("last_reload_ok", "gauge", "1 when the last reload was applied in full, else 0", {}, int(reload["ok"]))


def _sensor(out: Families, pipeline: Pipeline, sensor: str, scored: Scored | None) -> None:
    detector = pipeline.detectors[sensor]
    labels = {"sensor": sensor, "model": pipeline.model_of[sensor]}
    counters = vars(detector.counters)
    for key, meaning in SENSOR_COUNTERS.items():
        out.add(f"{key}_total", "counter", f"per sensor: {meaning}", labels, counters[key])
    for kind in get_args(FaultKind):  # every kind from 0, so that rate() sees the first one
        count = detector.faults.counts.get(kind, 0)
        out.add("faults_total", "counter", "faults raised, by kind", {**labels, "kind": kind}, count)
    out.add(
        "suppressed_total", "counter", "rises above the threshold during a cooldown", labels, detector.policy.suppressed
    )
    out.add("protected_total", "counter", "anomalous readings kept out of learning", labels, detector.scorer.protected)
    out.add("alert_open", "gauge", "1 while the sensor has an open alert", labels, int(detector.alert is not None))
    out.add("faults_active", "gauge", "faults active now on the sensor", labels, len(detector.faults.active))
    out.add("threshold", "gauge", "the level at which an alert is raised", labels, detector.settings.decision.threshold)
    score, level, when = (math.nan,) * 3 if scored is None else (scored.score, scored.level, scored.reading.timestamp)
    out.add("score", "gauge", "the anomaly score of the sensor's last scored reading (NaN: none yet)", labels, score)
    out.add("level", "gauge", "the level alerts are decided on, at the last scored reading", labels, level)
    out.add("last_scored_timestamp_seconds", "gauge", "time of the last scored reading (Unix)", labels, when)
    channel_scores = scored.channel_scores if scored is not None else ()
    for i, channel in enumerate(detector.channels):
        value = channel_scores[i] if i < len(channel_scores) else math.nan
        out.add(
            "channel_score",
            "gauge",
            "each channel's score at the last scored reading",
            {**labels, "channel": channel},
            value,
        )
