"""int8 side by side: weight-only int8 (shipped) against onnxruntime's dynamic quantization and fp32.

Trains the default model through the product path on the bundled pump history, exports its fp32 streaming
graph, and quantizes it both ways: ``export.quantize.quantize_weights_int8`` (int8 weights dequantized into a
float LSTM, folded at load by the gateway's session) and ``onnxruntime.quantization.quantize_dynamic``
(``DynamicQuantizeLSTM``, what the product shipped before). Each is opened with the gateway's session options
and run over the same 4,096 normalised readings of new pump data:

- stepped: one reading per call; chunked: blocks of 2, 7, 64 and 256 readings per call;
- exactness: the largest |chunked − stepped| forecast over those block sizes (0 means bit-identical);
- accuracy: the largest |stepped − fp32 stepped| forecast (normalised units);
- cost: mean µs per reading stepped and in blocks of 256 (best of ``--repeats``); file size.

Run: ``.venv/bin/python bench/quantization.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import HISTORY, command_line, machine_line, pump_generator

from edge.core.forecaster import StreamingForecaster
from edge.model.runtime import open_session

BLOCKS = (2, 7, 64, 256)
READINGS = 4096


def new_rows(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``READINGS`` new rows of the pump process (seed 8), normalised as the model was."""
    generator = pump_generator()
    rows = generator.generate_rows(READINGS, 8, generator.START + generator.PERIOD * generator.ROWS)
    values = np.array([[float(v) for v in row[1:]] for row in rows])
    return ((values - mean) / std).astype(np.float32)


def forecaster(path: Path, layers: int, hidden: int, channels: int) -> StreamingForecaster:
    return StreamingForecaster(
        open_session(str(path)), layers=layers, hidden=hidden, norm_mean=np.zeros(channels), norm_std=np.ones(channels)
    )


def stepped(f: StreamingForecaster, xs: np.ndarray) -> np.ndarray:
    f.reset()
    return np.array([f.step_normalized(x) for x in xs])


def chunked(f: StreamingForecaster, xs: np.ndarray, size: int) -> np.ndarray:
    f.reset()
    return np.concatenate([f.step_block_normalized(xs[i : i + size]) for i in range(0, len(xs), size)])


def best_us(call, xs: np.ndarray, repeats: int) -> float:
    """Best mean µs per reading of ``call(xs)`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call(xs)
        times.append((time.perf_counter() - began) / len(xs) * 1e6)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure, best taken (3)")
    args = parser.parse_args(argv)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from export.onnx_io import export_fp32
    from export.pipeline import ExportOptions, run_export
    from export.quantize import quantize_weights_int8

    with tempfile.TemporaryDirectory(prefix="edge-bench-quant-") as name:
        tmp = Path(name)
        result = run_export(ExportOptions(data=HISTORY, out=tmp / "model.onnx", quiet=True), say=lambda _t: None)
        meta = result.model.metadata
        paths = {
            "fp32": tmp / "fp32.onnx",
            "weight-only int8 (shipped)": tmp / "weights.onnx",
            "dynamic int8 (DynamicQuantizeLSTM)": tmp / "dynamic.onnx",
        }
        export_fp32(result.training.model, paths["fp32"])
        quantize_weights_int8(paths["fp32"], paths["weight-only int8 (shipped)"])
        logging.getLogger().setLevel(logging.ERROR)
        quantize_dynamic(
            str(paths["fp32"]), str(paths["dynamic int8 (DynamicQuantizeLSTM)"]), weight_type=QuantType.QInt8
        )
        xs = new_rows(np.asarray(meta.norm_mean), np.asarray(meta.norm_std))
        shape = (meta.layers, meta.hidden, len(meta.channels))
        reference = stepped(forecaster(paths["fp32"], *shape), xs)
        print(
            "| graph | size KiB | vs fp32 size | max abs chunked − stepped (blocks 2, 7, 64, 256) | "
            "max abs vs fp32 | µs per reading, stepped | µs per reading, blocks of 256 |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        fp32_size = paths["fp32"].stat().st_size
        for label, path in paths.items():
            f = forecaster(path, *shape)
            one = stepped(f, xs)
            exact = max(float(np.abs(chunked(f, xs, size) - one).max()) for size in BLOCKS)
            step_us = best_us(lambda v, f=f: stepped(f, v), xs, args.repeats)
            block_us = best_us(lambda v, f=f: chunked(f, v, 256), xs, args.repeats)
            size = path.stat().st_size
            print(
                f"| {label} | {size / 1024:.1f} | {fp32_size / size:.2f}× smaller | {exact:.3g} | "
                f"{float(np.abs(one - reference).max()):.3g} | {step_us:.1f} | {block_us:.2f} |"
            )
    print()
    print(
        f"- the default model ({len(meta.channels)} channels, LSTM {meta.layers}×{meta.hidden}) trained by "
        f"edge-export on {HISTORY.name}; {READINGS:,} new rows of the same pump (seed 8), normalised"
    )
    print(machine_line())
    print(command_line(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
