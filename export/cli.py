"""``edge-export``: train, calibrate, quantize and write one ONNX file for a gateway."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from edge.csv_dialect import delimiter_named
from edge.errors import EdgeError
from export.pipeline import ExportOptions, run_export
from export.summary import format_summary
from export.train import TrainConfig

PROG = "edge-export"


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    defaults = TrainConfig()
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("--data", type=Path, required=True, help="history CSV: a timestamp column and numeric channels")
    p.add_argument("--out", type=Path, default=Path("model.onnx"), help="model file to write (default: model.onnx)")
    p.add_argument("--columns", help="comma-separated channels (default: every numeric column)")
    p.add_argument("--timestamp-column", help="default: a column named timestamp/time/datetime/date, else the first")
    p.add_argument(
        "--delimiter",
        choices=("auto", "comma", "semicolon", "tab"),
        default="auto",
        help="field separator (default: whichever of , ; and tab the header uses)",
    )
    prefix = p.add_mutually_exclusive_group()
    prefix.add_argument(
        "--train-fraction", type=_fraction, help="use only this chronological share of the rows; the rest is never read"
    )
    prefix.add_argument("--train-rows", type=_positive_int, help="use only the first N rows; the rest is never read")
    p.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        help="last share of the used rows held out for early stopping and calibration (default 0.2)",
    )
    p.add_argument(
        "--allow-gaps",
        action="store_true",
        help="train on the stretches between rows with missing values instead of refusing them",
    )
    p.add_argument(
        "--allow-repeated-times",
        action="store_true",
        help="keep rows that repeat the previous timestamp as separate samples (a logger's coarse clock, a "
        "daylight-saving hour) instead of refusing them",
    )
    p.add_argument(
        "--window",
        type=_positive_int,
        default=defaults.window,
        help=f"truncated-BPTT length and warm-up samples (default {defaults.window})",
    )
    p.add_argument(
        "--hidden", type=_positive_int, default=defaults.hidden, help=f"LSTM units (default {defaults.hidden})"
    )
    p.add_argument(
        "--layers", type=_positive_int, default=defaults.layers, help=f"LSTM layers (default {defaults.layers})"
    )
    p.add_argument(
        "--epochs", type=_positive_int, default=defaults.epochs, help=f"most epochs (default {defaults.epochs})"
    )
    p.add_argument(
        "--patience",
        type=_positive_int,
        default=defaults.patience,
        help=f"stop after this many epochs without a better validation loss (default {defaults.patience})",
    )
    p.add_argument(
        "--learning-rate", type=_positive_float, default=defaults.learning_rate, help="Adam's (default 1e-3)"
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help="same data and seed give the same weights")
    p.add_argument(
        "--false-alarms-per-day",
        type=_positive_float,
        default=1.0,
        help="alert rate on normal data that sets the threshold (default 1)",
    )
    p.add_argument(
        "--error-smoothing",
        type=_fraction,
        default=1.0,
        help="weight of the newest squared error in its moving average (default 1: none)",
    )
    p.add_argument("--precision", choices=("int8", "fp32"), default="int8", help="weights of the shipped model")
    p.add_argument("--report", type=Path, help="write a PNG of validation forecasts, scores and threshold")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def _options(args: argparse.Namespace) -> ExportOptions:
    columns = tuple(c.strip() for c in args.columns.split(",") if c.strip()) if args.columns else None
    return ExportOptions(
        data=args.data,
        out=args.out,
        columns=columns,
        timestamp_column=args.timestamp_column,
        delimiter=delimiter_named(args.delimiter),
        train_fraction=args.train_fraction,
        train_rows=args.train_rows,
        validation_fraction=args.validation_fraction,
        allow_gaps=args.allow_gaps,
        allow_repeated_times=args.allow_repeated_times,
        false_alarms_per_day=args.false_alarms_per_day,
        error_smoothing=args.error_smoothing,
        precision=args.precision,
        report=args.report,
        quiet=args.quiet,
        train=TrainConfig(
            window=args.window,
            hidden=args.hidden,
            layers=args.layers,
            epochs=args.epochs,
            patience=args.patience,
            learning_rate=args.learning_rate,
            seed=args.seed,
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``edge-export``; 0 on success, 2 on bad input, 1 on a refused or failed export."""
    args = build_parser().parse_args(argv)
    began = time.perf_counter()
    try:
        say = (lambda _text: None) if args.quiet else print
        result = run_export(_options(args), say)
        if args.report:
            from export.report import write_report

            write_report(result, args.report)
        say(format_summary(result, args, time.perf_counter() - began))
    except EdgeError as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
