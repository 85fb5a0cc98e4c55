"""What the metrics for Prometheus cost: CPU per second of a sensor at 1 kHz, on top of scoring it.

Three costs, each timed on its own (the median of several rounds):

- the LSTM-call timing: two ``perf_counter_ns`` and one ``LatencyHistogram.observe`` per onnxruntime call;
- the last-score observer: one call per block of a sensor's outcomes;
- a render of every series, written atomically to the textfile, once per ``interval_s`` (15 s by default),
  for a pipeline of the committed test model with 1 and with 8 sensors after 2,000 readings each.

At 1 kHz the worst case is a block of one reading each time (one LSTM call and one observer call per reading:
blocks only make it cheaper). Prints one markdown table.

Run: ``.venv/bin/python bench/metrics_cost.py``
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, command_line, machine_line

from edge.assembly import build_pipeline
from edge.config import parse_config
from edge.core.events import Reading
from edge.core.latency import LatencyHistogram
from edge.core.outcome import Scored
from edge.metrics.publish import Metrics

MODEL = ROOT / "tests" / "fixtures" / "model.onnx"
RATE_HZ = 1000
INTERVAL_S = 15.0


def per_call_ns(call, n: int = 200_000, rounds: int = 5) -> float:
    """Median over ``rounds`` of the time of one ``call()``, loop overhead taken out."""

    def loop(body) -> float:
        start = time.perf_counter_ns()
        for _ in range(n):
            body()
        return (time.perf_counter_ns() - start) / n

    empty = statistics.median(loop(lambda: None) for _ in range(rounds))
    return statistics.median(loop(call) for _ in range(rounds)) - empty


def timing_ns() -> float:
    histogram, clock = LatencyHistogram(), time.perf_counter_ns

    def timed() -> None:
        start = clock()
        histogram.observe(clock() - start)

    return per_call_ns(timed)


def observer_ns() -> float:
    metrics = Metrics(parse_config(config_data(Path("/nonexistent"), 1)).metrics, "gw")
    block = [Scored(Reading("s", 0.0, (1.0, 2.0)), "scored", 0.1, (0.1, 0.05))]
    return per_call_ns(lambda: metrics.observer("s", block))


def config_data(folder: Path, sensors: int) -> dict:
    sources = [{"type": "replay", "sensor": f"pump-{i}", "path": str(folder / "x.csv")} for i in range(sensors)]
    return {
        "model": {"path": str(MODEL)},
        "sources": sources,
        "sinks": [{"type": "log"}],
        "metrics": {"textfile": str(folder / "edge_anomaly.prom"), "interval_s": INTERVAL_S},
    }


def render_ms(sensors: int, rounds: int = 50) -> tuple[float, int]:
    """Median time of one render + atomic write, and the file's size in bytes."""
    with tempfile.TemporaryDirectory(prefix="edge-bench-metrics-") as name:
        folder = Path(name)
        config = parse_config(config_data(folder, sensors))
        pipeline = build_pipeline(config)
        metrics = Metrics(config.metrics, "gw")
        pipeline.observers = [metrics.observer]
        for i in range(2000):
            wobble = 0.01 * (i % 7)  # never a flatline
            pipeline.handle_block(
                [Reading(f"pump-{s}", float(i), (20.0 + s + wobble, 1.0 - wobble)) for s in range(sensors)]
            )
        summary = {"state": "running", "uptime_s": 1.0}
        times = []
        for _ in range(rounds):
            start = time.perf_counter_ns()
            metrics.update(pipeline, summary)
            times.append((time.perf_counter_ns() - start) / 1e6)
        return statistics.median(times), (folder / "edge_anomaly.prom").stat().st_size


def main() -> int:
    logging.disable(logging.WARNING)  # the pipeline's event lines
    print(machine_line())
    print(command_line(None))
    print()
    timed, observed = timing_ns(), observer_ns()
    print("| cost | each | how often at 1 kHz | CPU per second |")
    print("|---|---:|---|---:|")
    print(
        f"| LSTM-call timing (2 perf_counter_ns + observe) | {timed:.0f} ns | 1000 calls/s (blocks of 1) | "
        f"{timed * RATE_HZ / 1e3:.0f} µs |"
    )
    print(
        f"| last-score observer | {observed:.0f} ns | 1000 blocks/s (blocks of 1) | {observed * RATE_HZ / 1e3:.0f} µs |"
    )
    for sensors in (1, 8):
        ms, size = render_ms(sensors)
        print(
            f"| render + atomic textfile write, {sensors} sensor{'s' if sensors > 1 else ''} ({size} bytes) | "
            f"{ms:.2f} ms | every {INTERVAL_S:g} s | {ms * 1e3 / INTERVAL_S:.0f} µs |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
