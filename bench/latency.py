"""Inference latency of the forecaster on one core: torch eager fp32 vs onnxruntime fp32 and int8.

Trains one model through the product path (``run_export``), exports fp32 and int8 ONNX files
next to it, then times, for each inference path, a whole window from a zero state and a single
stateful streaming step (state fed back), on normalised validation rows of the data. Prints a
markdown table and a few context lines.

The README's figures are on NAB's ``realKnownCause/machine_temperature_system_failure.csv``.

Run: ``.venv/bin/python bench/latency.py --data CSV [--train-fraction F] [--iterations N] [--window W]``
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from common import command_line, machine_line, peak_rss_mib, summary, time_each

from edge.model.runtime import open_session
from export.forecaster import Forecaster
from export.onnx_io import export_fp32
from export.pipeline import ExportOptions, ExportResult, run_export
from export.quantize import quantize_weights_int8

WARMUP = 200
PATHS = ("torch eager fp32", "onnxruntime fp32", "onnxruntime int8")
Call = Callable[[int], object]
Stats = tuple[float, float, float, float]  # per-window median, p99, per-sample median, p99 (µs)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="CSV",
        help="history CSV to train on, e.g. NAB's realKnownCause/machine_temperature_system_failure.csv",
    )
    parser.add_argument("--train-fraction", type=float, default=0.15, help="share of the file to read (0.15)")
    parser.add_argument("--iterations", type=int, default=3000, help="timed calls per measurement (3000)")
    parser.add_argument("--window", type=int, default=64, help="per-window length W (64)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file; give a history CSV (timestamp and value columns)")
    return args


def validation_series(result: ExportResult) -> np.ndarray:
    """The whole read history, normalised as the shipped model normalises it, float32 ``[rows, C]``."""
    meta = result.model.metadata
    mean = np.asarray(meta.norm_mean, dtype=np.float32)
    std = np.asarray(meta.norm_std, dtype=np.float32)
    return ((result.history.values - mean) / std).astype(np.float32)


def inputs(result: ExportResult, window: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validation windows ``[1, W, C]`` and single samples ``[1, 1, C]`` to cycle through."""
    series = validation_series(result)
    rows = result.validation_rows
    starts = [int(r) for r in rows if r + window <= len(series)] or [len(series) - window]
    windows = [np.ascontiguousarray(series[s : s + window][None]) for s in starts]
    samples = [np.ascontiguousarray(series[r][None, None]) for r in rows]
    return windows, samples


def time_calls(call: Call, iterations: int) -> np.ndarray:
    """Warm up, then the duration of each of ``iterations`` calls in microseconds."""
    for i in range(WARMUP):
        call(i)
    return time_each(call, range(iterations))


def torch_calls(model: Forecaster, windows: list[np.ndarray], samples: list[np.ndarray]) -> tuple[Call, Call]:
    """Per-window and per-sample calls of the eager torch model."""
    model.eval()
    tw = [torch.from_numpy(w) for w in windows]
    ts = [torch.from_numpy(s) for s in samples]
    h0, c0 = model.zero_state(1)
    state = list(model.zero_state(1))

    def window_call(i: int) -> object:
        with torch.inference_mode():
            return model(tw[i % len(tw)], h0, c0)

    def sample_call(i: int) -> object:
        with torch.inference_mode():
            y, state[0], state[1] = model(ts[i % len(ts)], state[0], state[1])
        return y

    return window_call, sample_call


def ort_calls(
    path: Path, layers: int, hidden: int, windows: list[np.ndarray], samples: list[np.ndarray]
) -> tuple[Call, Call]:
    """Per-window and per-sample calls of an onnxruntime gateway session."""
    session = open_session(str(path))
    zero = np.zeros((layers, 1, hidden), dtype=np.float32)
    state = [zero.copy(), zero.copy()]

    def window_call(i: int) -> object:
        return session.run(None, {"x": windows[i % len(windows)], "h0": zero, "c0": zero})

    def sample_call(i: int) -> object:
        y, state[0], state[1] = session.run(None, {"x": samples[i % len(samples)], "h0": state[0], "c0": state[1]})
        return y

    return window_call, sample_call


def state_dict_bytes(model: Forecaster) -> int:
    """Bytes of the torch weights: the sum of the state dict's tensor sizes."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def measure(calls: dict[str, tuple[Call, Call]], iterations: int) -> dict[str, Stats]:
    """Per path: per-window median, p99, per-sample median, p99 (µs)."""
    stats: dict[str, Stats] = {}
    for name, (window_call, sample_call) in calls.items():
        w = summary(time_calls(window_call, iterations))
        s = summary(time_calls(sample_call, iterations))
        stats[name] = (w["median"], w["p99"], s["median"], s["p99"])
    return stats


def report(stats: dict[str, Stats], sizes: dict[str, int], result: ExportResult, argv: Sequence[str] | None) -> None:
    torch_sample = stats[PATHS[0]][2]
    print(
        "| path | per-window median µs | per-window p99 µs | per-sample median µs | per-sample p99 µs "
        "| per-sample vs torch | model size KiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (wm, wp, sm, sp) in stats.items():
        print(
            f"| {name} | {wm:.1f} | {wp:.1f} | {sm:.1f} | {sp:.1f} | {torch_sample / sm:.1f}x "
            f"| {sizes[name] / 1024:.1f} |"
        )
    int8 = next(row for row in result.parity if row.path == "onnxruntime int8")
    print()
    print(
        f"int8 alert agreement with torch fp32: {int8.agreement:.4%} ({int8.alerts} alerts); "
        f"max abs forecast diff: {int8.max_abs_diff:.4g} (original units)"
    )
    print(
        f"int8 / fp32 ONNX size: {sizes[PATHS[2]] / sizes[PATHS[1]]:.2f} "
        f"({sizes[PATHS[1]] / sizes[PATHS[2]]:.1f}x smaller)"
    )
    print(f"peak RSS: {peak_rss_mib():.1f} MiB")
    print(f"int8 per-sample streaming throughput: {1e6 / stats[PATHS[2]][2]:,.0f} samples/s (1 thread)")
    print(machine_line(torch=torch.__version__, onnxruntime=onnxruntime.__version__))
    print(command_line(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        tmpdir = Path(tmp)
        result = run_export(
            ExportOptions(data=args.data, out=tmpdir / "int8.onnx", train_fraction=args.train_fraction, quiet=True),
            say=lambda s: None,
        )
        model = result.training.model
        fp32, int8 = tmpdir / "bench-fp32.onnx", tmpdir / "bench-int8.onnx"
        export_fp32(model, fp32)
        quantize_weights_int8(fp32, int8)
        torch.set_num_threads(1)
        meta = result.model.metadata
        windows, samples = inputs(result, args.window)
        calls = {
            PATHS[0]: torch_calls(model, windows, samples),
            PATHS[1]: ort_calls(fp32, meta.layers, meta.hidden, windows, samples),
            PATHS[2]: ort_calls(int8, meta.layers, meta.hidden, windows, samples),
        }
        sizes = {PATHS[0]: state_dict_bytes(model), PATHS[1]: fp32.stat().st_size, PATHS[2]: int8.stat().st_size}
        stats = measure(calls, args.iterations)
    report(stats, sizes, result, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
