"""End-to-end replay benchmark: the gateway runtime vs the seed's way, side by side, against the issue's goals.

Trains the default int8 model through the product path on the bundled pump history, writes a long CSV
of the same pump process (another seed, starting right after the history), then measures, each in its
own subprocess so that peak RSS is that path's alone:

- gateway: ``edge-agent replay --quiet`` over the whole long CSV (wall time, peak RSS), in its default blocks
  and with ``--block 1`` (one LSTM call per reading); the two outputs must be byte-identical;
- gateway, in process (``--child latency``, never imports torch): ``pipeline.handle`` per reading and
  ``pipeline.handle_block`` in replay's default blocks, the LSTM alone stepped and in blocks, and scoring + decision
  alone on the same readings;
- seed's way (``--child seed``): torch eager fp32, one thread, the whole window re-run from a zero state
  for every sample, the last output taken as the forecast, then the squared error;
- ``edge-agent run``: time from start to the ``READY=1`` datagram on ``NOTIFY_SOCKET``, then SIGTERM.

Prints a markdown table (goal and met columns) and a few context lines.

Run: ``.venv/bin/python bench/replay_speed.py [--rows N] [--latency-samples N] [--seed-samples N] [--ready-runs N]``
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    BIN,
    GNU_TIME,
    HISTORY,
    Stats,
    command_line,
    judge_and_decide,
    machine_line,
    note,
    peak_rss_mib,
    summary,
    time_each,
    verdict,
    write_pump_rows,
)

from edge.replay_file import DEFAULT_BLOCK as BLOCK

GOAL_RATIO, FLOOR_RATIO, GOAL_SCORE_US, GOAL_RSS_MIB, GOAL_READY_S = 50.0, 20.0, 10.0, 60.0, 0.5


def progress(text: str) -> None:
    """Progress on stderr; the report is stdout."""
    note("replay", text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the long CSV (200000)")
    parser.add_argument("--seed", type=int, default=8, help="generator seed of the long CSV (8; the history's is 7)")
    parser.add_argument("--latency-samples", type=int, default=50_000, help="readings timed one by one (50000)")
    parser.add_argument("--seed-samples", type=int, default=20_000, help="samples of the seed's way (20000)")
    parser.add_argument("--ready-runs", type=int, default=5, help="starts of edge-agent run (5)")
    parser.add_argument("--child", choices=("latency", "seed"), help=argparse.SUPPRESS)
    parser.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- child: the gateway in process (no torch) -------------------------------------------------------------


def child_latency(model: Path, data: Path, samples: int) -> dict[str, Any]:
    """Per-reading timings of the replay pipeline, the LSTM step alone and scoring + decision alone."""
    from edge.assembly import build_pipeline
    from edge.core.forecaster import StreamingForecaster
    from edge.replay_file import replay_config

    config = replay_config(model, data, log_events=False)
    pipeline = build_pipeline(config)
    records = (r for _, r in pipeline.sources[0].records() if r is not None)
    readings = list(itertools.islice(records, samples))
    overhead = time_each(lambda r: None, readings)
    handle = time_each(pipeline.handle, readings)
    detector = next(iter(pipeline.detectors.values()))
    blocked = build_pipeline(config, pipeline.models)
    blocks = [readings[i : i + BLOCK] for i in range(0, len(readings), BLOCK)]
    handle_block = time_each(blocked.handle_block, blocks)
    assert next(iter(blocked.detectors.values())).state() == detector.state(), "blocks changed the result"

    mean, std = np.asarray(pipeline.model.metadata.norm_mean), np.asarray(pipeline.model.metadata.norm_std)
    xs = [(np.asarray(r.values, dtype=np.float64) - mean) / std for r in readings]
    forecaster = StreamingForecaster.from_model(pipeline.model)
    forecasts: list[np.ndarray] = []
    step = time_each(lambda x: forecasts.append(forecaster.step_normalized(x).astype(np.float64)), xs)
    block_forecaster = StreamingForecaster.from_model(pipeline.model)
    x_blocks = [np.asarray(xs[i : i + BLOCK]) for i in range(0, len(xs), BLOCK)]
    step_block = time_each(block_forecaster.step_block_normalized, x_blocks)

    fresh = next(iter(build_pipeline(config, pipeline.models).detectors.values()))
    warmup = fresh.settings.warmup
    scored = [
        (readings[i].timestamp, (xs[i] - forecasts[i - 1]).tolist(), xs[i].tolist()) for i in range(warmup, len(xs))
    ]
    decide = time_each(lambda item: judge_and_decide(fresh, *item), scored)
    heavy = [m for m in ("torch", "onnx", "export") if m in sys.modules]
    assert not heavy, f"the gateway child imported {heavy}"
    return {
        "samples": len(readings),
        "handle": summary(handle),
        "step": summary(step),
        "decide": summary(decide),
        "handle_block_mean": float(handle_block.sum() / len(readings)),
        "step_block_mean": float(step_block.sum() / len(readings)),
        "decided": len(scored),
        "overhead": summary(overhead),
        "scored": detector.counters.scored,
        "alerts": detector.counters.alerts,
        "torch_imported": "torch" in sys.modules,
    }


# --- child: the seed's way (torch eager, a whole window per sample) --------------------------------------


def read_values(data: Path, channels: Sequence[str], rows: int) -> np.ndarray:
    """The first ``rows`` rows of ``channels`` from a CSV, float64 ``[rows, C]``."""
    with data.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = [header.index(c) for c in channels]
        return np.array([[float(row[c]) for c in columns] for row in itertools.islice(reader, rows)])


def child_seed(bundle: Path, data: Path, samples: int) -> dict[str, Any]:
    """Per-sample timings of the seed's way: re-run the whole window from a zero state for every sample."""
    import torch

    from export.forecaster import Forecaster

    torch.set_num_threads(1)
    spec = json.loads((bundle / "seed.json").read_text())
    model = Forecaster(len(spec["channels"]), spec["hidden"], spec["layers"])
    model.load_state_dict(torch.load(bundle / "seed.pt"))
    model.eval()
    window = spec["window"]
    values = read_values(data, spec["channels"], window + samples)
    mean, std = np.asarray(spec["mean"]), np.asarray(spec["std"])
    h0, c0 = model.zero_state(1)
    buffer: deque[np.ndarray] = deque(maxlen=window)
    forecast: list[np.ndarray] = []
    errors: list[np.ndarray] = []

    def seed_step(row: np.ndarray) -> None:
        x = (row - mean) / std
        if forecast:
            errors.append(np.square(x - forecast[-1]))
        buffer.append(x)
        with torch.inference_mode():
            y, _, _ = model(torch.from_numpy(np.asarray(buffer, dtype=np.float32)[None]), h0, c0)
        forecast.append(y[0, -1].numpy())

    time_each(seed_step, values[:window])  # fill the window, untimed
    durations = time_each(seed_step, values[window:])
    return {
        "samples": len(durations),
        "window": window,
        "per_sample": summary(durations),
        "seconds": float(durations.sum() / 1e6),
        "mse": float(np.mean(errors[window - 1 :])),
    }


# --- parent: subprocesses, READY, report ------------------------------------------------------------------


@dataclass
class ChildRun:
    """A finished subprocess: exit code, wall seconds, peak RSS (MiB), stdout."""

    code: int
    seconds: float
    rss_mib: float
    stdout: str


def reap(proc: subprocess.Popen[Any], timeout: float) -> tuple[int, float]:
    """Wait for ``proc`` with ``os.wait4``; exit code and ``ru_maxrss`` in MiB.

    That ``ru_maxrss`` counts the spawning process's RSS at the fork (Linux keeps the pre-exec peak), so
    it is only an upper bound here; GNU time or ``VmHWM`` give the child's own peak.
    """
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss / 1024  # Linux: ru_maxrss is in KiB
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{shlex.join(map(str, proc.args))} did not finish in {timeout:g} s")
        time.sleep(0.001)


def run_child(command: Sequence[str | Path], log: Path, timeout: float = 600.0) -> ChildRun:
    """Run ``command`` to the end under GNU time (for its peak RSS); stderr goes to ``log``; raise if it fails."""
    rss_file = log.with_suffix(".rss")
    wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file, *command] if GNU_TIME.exists() else list(command)
    with log.open("w") as errors:
        began = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in wrapped], stdout=subprocess.PIPE, stderr=errors, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        code, rss = reap(proc, timeout)
        seconds = time.perf_counter() - began
    if code != 0:
        raise RuntimeError(f"{shlex.join(map(str, command))} exited {code}:\n{log.read_text()[-3000:]}")
    if GNU_TIME.exists():
        rss = int(rss_file.read_text().split()[-1]) / 1024
    return ChildRun(code, seconds, rss, out)


def agent_config(tmp: Path, run: int, model: Path, data: Path) -> Path:
    """An ``edge-agent run`` config: one replay source at 10 readings/s, a log sink, dirs under ``tmp``."""
    path = tmp / f"agent-{run}.toml"
    path.write_text(
        f"[agent]\nstate_dir = {json.dumps(str(tmp / f'state-{run}'))}\n"
        f'runtime_dir = {json.dumps(str(tmp / f"run-{run}"))}\nlog_target = "stderr"\n\n'
        f"[model]\npath = {json.dumps(str(model))}\n\n"
        f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = {json.dumps(str(data))}\nrate = 10.0\n\n'
        '[[sinks]]\ntype = "log"\n'
    )
    return path


def time_ready(tmp: Path, run: int, model: Path, data: Path) -> dict[str, float]:
    """Start ``edge-agent run`` under a fake ``NOTIFY_SOCKET``: seconds to READY=1, then SIGTERM to exit."""
    address = str(tmp / f"notify-{run}.sock")
    config = agent_config(tmp, run, model, data)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, (tmp / f"agent-{run}.log").open("w") as log:
        sock.bind(address)
        sock.settimeout(30.0)
        env = {**os.environ, "NOTIFY_SOCKET": address}
        began = time.perf_counter()
        proc = subprocess.Popen(
            [str(BIN / "edge-agent"), "run", "--config", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            while b"READY=1" not in sock.recv(65536).split(b"\n"):
                pass
        except TimeoutError:
            proc.kill()
            raise
        ready = time.perf_counter() - began
        rss = peak_rss_mib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        stopping = time.perf_counter()
        code, _ = reap(proc, 30.0)
    return {"ready": ready, "exit": time.perf_counter() - stopping, "code": code, "rss": rss}


def train(tmp: Path) -> tuple[Path, int, str]:
    """The product path on the bundled history; the torch model is saved for the seed child.

    Returns the model path, the torch fp32 weights' bytes and the torch version.
    """
    import torch

    from export.pipeline import ExportOptions, run_export

    result = run_export(ExportOptions(data=HISTORY, out=tmp / "model.onnx", quiet=True), say=progress)
    meta, model = result.model.metadata, result.training.model
    torch.save(model.state_dict(), tmp / "seed.pt")
    (tmp / "seed.json").write_text(
        json.dumps(
            {
                "channels": list(meta.channels),
                "hidden": meta.hidden,
                "layers": meta.layers,
                "window": meta.window,
                "mean": list(meta.norm_mean),
                "std": list(meta.norm_std),
            }
        )
    )
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return result.model.path, weights, torch.__version__


def output_counts(path: Path) -> Counter[str]:
    """Rows of a replay output by state, plus ``alert`` rows."""
    counts: Counter[str] = Counter()
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            counts[row["state"]] += 1
            counts["alert"] += row["alert"] == "1"
    return counts


def triple(s: Stats) -> str:
    """``median / p99 / mean`` in µs."""
    return f"{s['median']:.1f} / {s['p99']:.1f} / {s['mean']:.1f}"


@dataclass
class Results:
    """Everything measured, for the report."""

    rows: int
    csv: str
    replay: ChildRun
    replay_one: ChildRun  # --block 1
    identical: bool  # the two replays' outputs, byte for byte
    counts: Counter[str]
    latency: dict[str, Any]
    seed_run: ChildRun
    seed: dict[str, Any]
    ready: list[dict[str, float]]
    model_bytes: int
    weights_bytes: int


def table(r: Results) -> list[tuple[str, str, str, str, str]]:
    """Rows of (measure, gateway, seed's way, goal, met)."""
    handle, step, decide, seed = r.latency["handle"], r.latency["step"], r.latency["decide"], r.seed["per_sample"]
    handle_block, step_block = r.latency["handle_block_mean"], r.latency["step_block_mean"]
    gateway_rate, seed_rate = r.rows / r.replay.seconds, r.seed["samples"] / r.seed["seconds"]
    one_rate = r.rows / r.replay_one.seconds
    inproc_rate, inproc_seed = 1e6 / handle_block, 1e6 / seed["mean"]
    ratio = gateway_rate / seed_rate
    readies = [x["ready"] for x in r.ready]
    exits = [x["exit"] for x in r.ready]
    codes = [int(x["code"]) for x in r.ready]
    run_rss = max(x["rss"] for x in r.ready)
    ready_met = (
        "met"
        if max(readies) <= GOAL_READY_S
        else "median met, **max not met**"
        if np.median(readies) <= GOAL_READY_S
        else "**not met**"
    )
    n = len(r.ready)
    return [
        (f"samples/s end to end, blocks of {BLOCK} (the default)", f"{gateway_rate:,.0f}", f"{seed_rate:,.0f}", "", ""),
        (
            "ratio end to end, gateway ÷ seed",
            f"{ratio:.1f}×",
            "1.0×",
            f"≥ {GOAL_RATIO:g}× (never < {FLOOR_RATIO:g}×)",
            verdict(ratio >= GOAL_RATIO) if ratio >= FLOOR_RATIO else "**not met, below the floor**",
        ),
        (
            "samples/s end to end, `--block 1`; ratio to seed",
            f"{one_rate:,.0f}; {one_rate / seed_rate:.1f}×",
            "",
            "",
            "",
        ),
        (
            "blocks ÷ `--block 1` end to end; outputs byte-identical?",
            f"{gateway_rate / one_rate:.2f}×; {'yes' if r.identical else '**NO**'}",
            "",
            "identical",
            verdict(r.identical),
        ),
        (
            "samples/s in process, blocks (1 ÷ mean per-sample time)",
            f"{inproc_rate:,.0f}",
            f"{inproc_seed:,.0f}",
            "",
            "",
        ),
        (
            "ratio in process, gateway ÷ seed",
            f"{inproc_rate / inproc_seed:.1f}×",
            "1.0×",
            f"≥ {GOAL_RATIO:g}×",
            verdict(inproc_rate / inproc_seed >= GOAL_RATIO),
        ),
        ("per sample, whole pipeline one at a time: median / p99 / mean µs", triple(handle), triple(seed), "", ""),
        (
            f"per sample, whole pipeline in blocks of {BLOCK}: mean µs; vs one at a time",
            f"{handle_block:.1f}; {handle['mean'] / handle_block:.2f}×",
            "",
            f"mean ≤ {GOAL_SCORE_US:g} µs",
            verdict(handle_block <= GOAL_SCORE_US),
        ),
        (
            "per sample, scoring + decision only: median / p99 / mean µs",
            triple(decide),
            "—",
            f"mean ≤ {GOAL_SCORE_US:g} µs",
            verdict(decide["mean"] <= GOAL_SCORE_US),
        ),
        ("per sample, LSTM step only: median / p99 / mean µs", triple(step), "—", "", ""),
        (
            f"per sample, LSTM only in blocks of {BLOCK}: mean µs; vs stepped",
            f"{step_block:.2f}; {step['mean'] / step_block:.1f}×",
            "—",
            "",
            "",
        ),
        (
            "per sample, pipeline besides the LSTM step (mean − mean) µs",
            f"{handle['mean'] - step['mean']:.1f}",
            "—",
            "",
            "",
        ),
        (
            "peak RSS, replay / seed loop, MiB",
            f"{r.replay.rss_mib:.1f}",
            f"{r.seed_run.rss_mib:.1f}",
            f"≤ {GOAL_RSS_MIB:g} MiB",
            verdict(r.replay.rss_mib <= GOAL_RSS_MIB),
        ),
        (
            f"peak RSS, `edge-agent run` to SIGTERM, max of {n}, MiB",
            f"{run_rss:.1f}",
            "—",
            f"≤ {GOAL_RSS_MIB:g} MiB",
            verdict(run_rss <= GOAL_RSS_MIB),
        ),
        (
            f"start to READY=1, median / max of {n}, s",
            f"{np.median(readies):.3f} / {max(readies):.3f}",
            "—",
            f"≤ {GOAL_READY_S:g} s",
            ready_met,
        ),
        (
            f"SIGTERM to exit, median / max of {n}, s; exit codes",
            f"{np.median(exits):.3f} / {max(exits):.3f}; {','.join(map(str, codes))}",
            "—",
            "exit 0",
            verdict(all(c == 0 for c in codes)),
        ),
        (
            "model size, KiB",
            f"{r.model_bytes / 1024:.1f} (int8 ONNX)",
            f"{r.weights_bytes / 1024:.1f} (fp32 weights)",
            "",
            "",
        ),
    ]


def report(r: Results, versions: dict[str, str], argv: Sequence[str] | None) -> None:
    print("| measure | gateway runtime | seed's way | goal | goal met? |")
    print("|---|---:|---:|---|---|")
    for row in table(r):
        print("| " + " | ".join(row) + " |")
    lat, seed, c = r.latency, r.seed, r.counts
    print()
    print(
        f"- end to end, gateway: `edge-agent replay --quiet` on {r.rows:,} rows of {r.csv} in a "
        f"subprocess, {r.replay.seconds:.2f} s wall in blocks, {r.replay_one.seconds:.2f} s with `--block 1` "
        f"(Python start-up, model load, CSV read and write included); "
        f"output {sum(c[s] for s in ('scored', 'warmup', 'fault', 'dropped')):,} rows: {c['scored']:,} scored, "
        f"{c['warmup']} warm-up, {c['fault']} fault, {c['dropped']} dropped; {c['alert']} alerting rows"
    )
    print(
        f"- end to end, seed's way: torch eager fp32, 1 thread, the {seed['window']}-sample window re-run from a "
        f"zero state for each of {seed['samples']:,} samples (after {seed['window']} untimed rows fill it), "
        f"{seed['seconds']:.2f} s of loop time; CSV parsing and start-up are not counted (the gateway's are), so "
        f"the end-to-end ratio favours the seed; mean squared error {seed['mse']:.3f} (normalised units)"
    )
    print(
        f"- in process: the first {lat['samples']:,} readings of the same CSV, parsed beforehand, through "
        f"`pipeline.handle` of the replay pipeline ({lat['scored']:,} scored, {lat['alerts']} alert(s)); "
        f"and through `pipeline.handle_block` in blocks of {BLOCK} of a second replay pipeline (its final "
        f"detector state asserted equal); LSTM step = `StreamingForecaster.step_normalized` on the same "
        f"readings, in blocks `step_block_normalized`; scoring + decision = "
        f"scoring, holding, deciding and learning (`scorer.score_one`, `condition.holding`, `policy.update`, "
        f"`learn_one`) on the {lat['decided']:,} precomputed residuals after warm-up; "
        f"timer and call overhead (included in every figure): median {lat['overhead']['median']:.2f} µs; "
        f"torch imported by that child: {'yes' if lat['torch_imported'] else 'no'}"
    )
    how = (
        "GNU time's %M (maximum resident set size)"
        if GNU_TIME.exists()
        else "`ru_maxrss` from `os.wait4`, an upper bound: it includes this process's RSS at the fork"
    )
    print(
        f"- peak RSS: replay and seed loop: {how} of that child alone; `edge-agent run`: its `VmHWM` from "
        "/proc just before SIGTERM (the benchmark process, which trains with torch, is not counted)"
    )
    print(machine_line(**versions))
    print(command_line(argv))


def child_main(args: argparse.Namespace) -> int:
    """``--child latency MODEL CSV N`` or ``--child seed BUNDLE_DIR CSV N``: print one JSON result."""
    first, data, samples = args.child_args
    run = child_latency if args.child == "latency" else child_seed
    print(json.dumps(run(Path(first), Path(data), int(samples))))
    return 0


def measure(args: argparse.Namespace, tmp: Path) -> tuple[Results, str]:
    progress(f"training on {HISTORY.name} with the product path (run_export, int8)")
    model, weights, torch_version = train(tmp)
    long_csv, out = tmp / "long.csv", tmp / "replayed.csv"
    progress(f"writing {args.rows:,} rows (seed {args.seed}) to {long_csv}")
    start = write_pump_rows(long_csv, args.rows, args.seed)
    what = (
        f"the pump process (examples/make_pump_history.py, seed {args.seed}, from {start:%Y-%m-%d %H:%M} UTC, "
        "right after the bundled history)"
    )
    progress("edge-agent replay, default blocks and --block 1")
    replay = run_child(
        [BIN / "edge-agent", "replay", "--model", model, "--input", long_csv, "--output", out, "--quiet"],
        tmp / "replay.log",
    )
    out_one = tmp / "replayed-block1.csv"
    replay_one = run_child(
        [
            BIN / "edge-agent",
            "replay",
            "--model",
            model,
            "--input",
            long_csv,
            "--output",
            out_one,
            "--quiet",
            "--block",
            "1",
        ],
        tmp / "replay-1.log",
    )
    identical = out.read_bytes() == out_one.read_bytes()
    progress("in-process latency child")
    me = Path(__file__).resolve()
    latency = run_child(
        [sys.executable, me, "--child", "latency", model, long_csv, str(args.latency_samples)], tmp / "latency.log"
    )
    progress("seed's way child")
    seed = run_child([sys.executable, me, "--child", "seed", tmp, long_csv, str(args.seed_samples)], tmp / "seed.log")
    progress(f"edge-agent run x {args.ready_runs}")
    ready = [time_ready(tmp, i, model, long_csv) for i in range(args.ready_runs)]
    results = Results(
        args.rows,
        what,
        replay,
        replay_one,
        identical,
        output_counts(out),
        json.loads(latency.stdout),
        seed,
        json.loads(seed.stdout),
        ready,
        model.stat().st_size,
        weights,
    )
    return results, torch_version


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    if args.child_args:
        raise SystemExit(f"unexpected arguments {args.child_args}")
    with tempfile.TemporaryDirectory(prefix="edge-bench-replay-") as name:
        results, torch_version = measure(args, Path(name))
    import onnxruntime

    versions = {"numpy": np.__version__, "onnxruntime": onnxruntime.__version__, "torch": torch_version}
    report(results, versions, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
