"""Live benchmark: simulated firmware → pseudo-terminals → serial sources → the service, scoring in blocks.

Trains the default int8 model with ``edge-export`` (a subprocess: this process never imports torch) on the
bundled pump history, writes new rows of the same pump, and runs two scenarios, each for ``--seconds``:

- one sensor at 1 kHz (``--period-ms 1``);
- eight sensors at 100 Hz each, sharing the model.

Each sensor is one ``python -m firmware_bridge.sim --csv`` child on its own pty, streaming the new rows as
real frames in real time. The service (:class:`edge.service.agent.Service`, the code ``edge-agent run`` runs) runs in
this process with the serial sources and a log sink, each scenario once per ``max_block_delay_ms`` asked
for (``--delays``; 0 scores what has arrived and waits for nothing). Measured after ``--settle`` seconds:

- CPU as % of one core: this process's user + system time from ``/proc/self/stat`` (the service's main
  thread and its source threads; the simulators are other processes and not counted);
- latency per reading from its hand-over by the source thread (decoded, stamped on the monotonic clock
  by the service's pump) to its decision (``Pipeline.handle_block`` returned), p50 / p99 / max;
- readings decided per second and the mean block size (readings per LSTM call);
- LSTM calls: onnxruntime runs per reading (a batch of sensors stepped together is one run);
- this process's peak RSS (``VmHWM``) at the end of all scenarios;
- one onnxruntime call on a block of 6 readings, back to back and after 1, 5 and 20 ms asleep between calls;
- the peak RSS of ``edge-agent run`` as its own process (GNU time's maximum resident set), one serial sensor
  at 1 kHz with the default ``max_block_delay_ms`` and the log sink, for ``--seconds`` worth of readings
  (``--max-readings``): the service as a gateway runs it (goal: at most 60 MiB).

Run: ``.venv/bin/python bench/live.py [--seconds 60] [--delays 0,5,20]`` (quick: ``--seconds 10``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from common import (
    HISTORY,
    ROOT,
    command_line,
    export_default_model,
    gnu_time_peak_mib,
    machine_line,
    note,
    peak_rss_mib,
    summary,
    write_pump_rows,
)

from edge.config_sections import AgentSection
from edge.pipeline import Pipeline
from edge.service.agent import Service
from edge.service.notify import Notifier

DEFAULT_DELAY_MS = next(f.default for f in fields(AgentSection) if f.name == "max_block_delay_ms")
GOAL_CPU_1KHZ = 1.0  # % of one core
GOAL_RSS_MIB = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    """Sensors, each streaming at ``1000 / period_ms`` readings per second."""

    name: str
    sensors: int
    period_ms: int


SCENARIOS = (Scenario("1 sensor at 1 kHz", 1, 1), Scenario("8 sensors at 100 Hz each", 8, 10))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per run (60)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before measuring (3)")
    parser.add_argument(
        "--delays",
        default=f"0,5,{DEFAULT_DELAY_MS:g}",
        help=f"max_block_delay_ms values to run, comma-separated (0,5,{DEFAULT_DELAY_MS:g}: the default)",
    )
    return parser.parse_args(argv)


def cpu_seconds() -> float:
    """This process's user + system CPU time, all threads, from /proc."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class LatencyProbe:
    """Wraps ``Pipeline.handle_block`` and ``handle_sensors``: per reading, monotonic time from hand-over to
    decision, and the LSTM calls made."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.runs = 0  # onnxruntime runs while measuring
        self.measuring = False
        self._originals = (Pipeline.handle_block, Pipeline.handle_sensors)
        self._run = ort.InferenceSession.run

    def _record(self, received: Sequence[float | None] | None) -> None:
        if self.measuring and received is not None:
            done = time.monotonic()
            self.latencies.extend(done - r for r in received if r is not None)

    def __enter__(self) -> LatencyProbe:
        probe = self
        block, sensors = self._originals

        def timed_block(pipeline: Pipeline, readings: Sequence[Any], received: Any = None) -> Any:
            outcomes = block(pipeline, readings, received)
            probe._record(received)
            return outcomes

        def timed_sensors(pipeline: Pipeline, blocks: Any) -> Any:
            outcomes = sensors(pipeline, blocks)
            for _, received in blocks.values():
                probe._record(received)
            return outcomes

        def counted_run(session: Any, *args: Any, **keys: Any) -> Any:
            probe.runs += probe.measuring
            return probe._run(session, *args, **keys)

        ort.InferenceSession.run = counted_run  # type: ignore[method-assign]
        Pipeline.handle_block = timed_block  # type: ignore[method-assign]
        Pipeline.handle_sensors = timed_sensors  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        Pipeline.handle_block, Pipeline.handle_sensors = self._originals  # type: ignore[method-assign]
        ort.InferenceSession.run = self._run  # type: ignore[method-assign]


def config_text(tmp: Path, model: Path, links: list[Path], delay_ms: float) -> str:
    """An agent config: one serial source per link, a log sink, dirs under ``tmp``."""
    text = (
        f"[agent]\nstate_dir = {json.dumps(str(tmp / 'state'))}\nruntime_dir = {json.dumps(str(tmp / 'run'))}\n"
        f'log_target = "stderr"\nlog_level = "warning"\nmax_block_delay_ms = {delay_ms}\n\n'
        f"[model]\npath = {json.dumps(str(model))}\n\n"
    )
    for i, link in enumerate(links):
        text += f'[[sources]]\ntype = "serial"\nsensor = "pump-{i}"\nport = {json.dumps(str(link))}\n\n'
    return text + '[[sinks]]\ntype = "log"\n'


def start_simulators(
    tmp: Path, scenario: Scenario, rows: Path, channels: str
) -> tuple[list[subprocess.Popen], list[Path]]:
    sims, links = [], []
    for i in range(scenario.sensors):
        link = tmp / f"tty-{scenario.period_ms}-{i}"
        sims.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "firmware_bridge.sim",
                    "--link",
                    str(link),
                    "--csv",
                    str(rows),
                    "--channels",
                    channels,
                    "--units",
                    "degC,mm/s,A",
                    "--period-ms",
                    str(scenario.period_ms),
                    "--seed",
                    str(i),
                    "--device-id",
                    f"sim-{i}",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
        links.append(link)
    for sim in sims:
        assert sim.stdout is not None
        sim.stdout.readline()  # "simulator: ... on /dev/pts/N": the link exists
    return sims, links


def run_scenario(
    tmp: Path,
    model: Path,
    rows: Path,
    channels: str,
    scenario: Scenario,
    delay_ms: float,
    seconds: float,
    settle: float,
) -> dict[str, Any]:
    folder = tmp / f"{scenario.sensors}x{scenario.period_ms}-{delay_ms:g}"
    folder.mkdir()
    sims, links = start_simulators(folder, scenario, rows, channels)
    config = folder / "agent.toml"
    config.write_text(config_text(folder, model, links, delay_ms))
    service = Service(config, Notifier())
    try:
        with LatencyProbe() as probe:
            thread = threading.Thread(target=service.run, daemon=True)
            thread.start()
            time.sleep(settle)
            assert service.pipeline is not None, "the service did not start"
            detectors = list(service.pipeline.detectors.values())
            readings0 = sum(d.counters.readings for d in detectors)
            probe.measuring = True
            cpu0, wall0 = cpu_seconds(), time.monotonic()
            time.sleep(seconds)
            cpu1, wall1 = cpu_seconds(), time.monotonic()
            probe.measuring = False
            readings = sum(d.counters.readings for d in detectors) - readings0
            calls = probe.runs
            faults = sum(d.counters.faults for d in detectors)
            service.request_stop()
            thread.join(timeout=30)
    finally:
        for sim in sims:
            sim.terminate()
        for sim in sims:
            sim.wait(timeout=10)
    latency = summary(np.asarray(probe.latencies) * 1e3)
    elapsed = wall1 - wall0
    return {
        "scenario": scenario.name,
        "delay_ms": delay_ms,
        "cpu_pct": 100.0 * (cpu1 - cpu0) / elapsed,
        "rate": readings / elapsed,
        "expected_rate": scenario.sensors * 1000.0 / scenario.period_ms,
        "p50_ms": latency["median"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "per_call": readings / calls if calls else 0.0,
        "faults": faults,
    }


def call_after_sleep(model: Path, block: int = 6, calls: int = 300) -> dict[float, float]:
    """Median µs of one onnxruntime call on ``block`` readings, back to back and after sleeping between calls
    (what a service that wakes for each block pays: the CPU's caches and clock have gone cold meanwhile)."""
    from edge.model.runtime import gateway_session_options

    session = ort.InferenceSession(str(model), gateway_session_options(), providers=["CPUExecutionProvider"])
    layers, hidden = session.get_inputs()[1].shape[0], session.get_inputs()[1].shape[2]
    channels = session.get_inputs()[0].shape[2]
    state = np.zeros((layers, 1, hidden), dtype=np.float32)
    x = np.random.default_rng(0).normal(size=(1, block, channels)).astype(np.float32)
    medians = {}
    for sleep_ms in (0.0, 1.0, 5.0, 20.0):
        spent = []
        for _ in range(calls):
            start = time.perf_counter_ns()
            session.run(None, {"x": x, "h0": state, "c0": state})
            spent.append((time.perf_counter_ns() - start) / 1e3)
            if sleep_ms:
                time.sleep(sleep_ms / 1e3)
        medians[sleep_ms] = float(np.median(spent))
    return medians


def service_peak_rss(tmp: Path, model: Path, rows: Path, channels: str, seconds: float) -> float:
    """Peak RSS (MiB) of ``edge-agent run`` in its own process: one serial sensor at 1 kHz, ``seconds`` of it."""
    folder = tmp / "service-rss"
    folder.mkdir()
    scenario = SCENARIOS[0]
    sims, links = start_simulators(folder, scenario, rows, channels)
    config = folder / "agent.toml"
    config.write_text(config_text(folder, model, links, float(DEFAULT_DELAY_MS)))
    readings = int(seconds * 1000 / scenario.period_ms)
    try:
        return gnu_time_peak_mib(
            [sys.executable, "-m", "edge.cli", "run", "--config", config, "--max-readings", str(readings)], cwd=ROOT
        )
    finally:
        for sim in sims:
            sim.terminate()
        for sim in sims:
            sim.wait(timeout=10)


def train(tmp: Path) -> tuple[Path, Path, str]:
    """The model (edge-export, a subprocess), the rows to stream and their channel names."""
    model, rows = export_default_model(tmp / "model.onnx"), tmp / "live.csv"
    write_pump_rows(rows, 100_000)
    with HISTORY.open() as handle:
        channels = ",".join(next(csv.reader(handle))[1:])
    return model, rows, channels


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    delays = [float(d) for d in args.delays.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="edge-bench-live-") as name:
        tmp = Path(name)
        note("live", "training the default model with edge-export")
        model, rows, channels = train(tmp)
        for scenario in SCENARIOS:
            for delay in delays:
                note("live", f"{scenario.name}, max_block_delay_ms = {delay:g}, {args.seconds:g} s")
                results.append(run_scenario(tmp, model, rows, channels, scenario, delay, args.seconds, args.settle))
        note("live", f"edge-agent run in its own process, 1 sensor at 1 kHz, {args.seconds:g} s")
        service_rss = service_peak_rss(tmp, model, rows, channels, args.seconds)
        process_rss = peak_rss_mib()  # before the session of the next measurement
        cold = call_after_sleep(model)
    print(
        "| scenario | max_block_delay_ms | readings/s decided (sent) | CPU, % of one core | latency p50 / p99 / "
        "max, ms | readings per LSTM call | goal | met? |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for r in results:
        one_khz = r["scenario"].startswith("1 sensor")
        goal = f"CPU ≤ {GOAL_CPU_1KHZ:g} %" if one_khz else ""
        met = ("met" if r["cpu_pct"] <= GOAL_CPU_1KHZ else "**not met**") if one_khz else ""
        print(
            f"| {r['scenario']} | {r['delay_ms']:g} | {r['rate']:,.0f} ({r['expected_rate']:,.0f}) | "
            f"{r['cpu_pct']:.1f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} / {r['max_ms']:.1f} | "
            f"{r['per_call']:.1f} | {goal} | {met} |"
        )
    print()
    print(f"- peak RSS of this process (the service, its sources, the probe; no torch): {process_rss:.1f} MiB")
    met = "met" if service_rss <= GOAL_RSS_MIB else "**not met**"
    print(
        "- peak RSS of `edge-agent run` in its own process (1 serial sensor at 1 kHz, "
        f"max_block_delay_ms = {DEFAULT_DELAY_MS:g}, "
        f"log sink, {args.seconds:g} s of readings): {service_rss:.1f} MiB (goal ≤ {GOAL_RSS_MIB:g} MiB: {met})"
    )
    print(f"- sensor faults raised over all runs: {sum(r['faults'] for r in results)}")
    print(
        "- one onnxruntime call on 6 readings, median over 300, back to back and with a sleep between calls "
        "(why a reading costs more live than in replay: each wake-up finds caches and clock cold): "
        + ", ".join(f"{'no sleep' if ms == 0 else f'{ms:g} ms asleep'}: {us:.0f} µs" for ms, us in cold.items())
    )
    print(machine_line())
    print(command_line(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
