"""``edge-agent``: the gateway command. This release has ``inspect``; the service follows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edge.errors import EdgeError
from edge.model_file import load_model

PROG = "edge-agent"


def _inspect(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    meta = model.metadata
    data = meta.training_data
    print(f"model {model.path}: verified (weights sha256 {model.weights_sha256})")
    print(f"  channels      {', '.join(meta.channels)}")
    print(f"  precision     {meta.precision}, opset {meta.opset}, LSTM {meta.layers}x{meta.hidden}")
    print(f"  sample period {meta.sample_period_s:g} s, warm-up {meta.warmup} samples")
    print(f"  threshold     {meta.threshold:.3f} ({meta.calibration.false_alarms_per_day:g} false alarms/day)")
    print(f"  trained on    {data.file} rows {data.train_rows[0]}-{data.train_rows[1] - 1} of {data.total_rows} "
          f"(sha256 {data.sha256[:12]}), {meta.created}")
    print(f"  versions      edge-anomaly {meta.package_version}, torch {meta.torch_version}, "
          f"onnx {meta.onnx_version}, onnxruntime {meta.onnxruntime_version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog=PROG, description="edge-anomaly gateway runtime")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="verify a model file and print its metadata")
    inspect.add_argument("model", type=Path)
    inspect.set_defaults(run=_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``edge-agent``; errors are one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except EdgeError as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
