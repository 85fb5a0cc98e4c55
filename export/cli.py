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
    """The command-line interface; every option's help shows its default."""
    defaults = TrainConfig()
    p = argparse.ArgumentParser(
        prog=PROG,
        description="train an LSTM forecaster on a history CSV, calibrate its alert threshold, quantize it and "
        "write one ONNX file for a gateway",
    )
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="CSV",
        help="the history to learn from: a timestamp column and numeric channels, one row per sample; or a "
        "folder of one sensor's edge-agent recordings ([recorder]), read in time order, each gap between files "
        "and each fault row a break; the rows of an alert labelled confirmed there (edge-agent label) are left out, "
        "and the summary says how the new model would decide on every labelled alert",
    )
    p.add_argument(
        "--skip-alerts",
        action="store_true",
        help="with a folder of recordings: also leave out the rows recorded while an alert was open, and the "
        "--window rows before each alert, as breaks",
    )
    p.add_argument(
        "--agent-config",
        type=Path,
        metavar="TOML",
        help="with a folder of recordings: the gateway's config, whose [detector] settings decide the labelled "
        "alerts the summary replays (default: the default settings)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("model.onnx"),
        metavar="ONNX",
        help="model file to write (default: %(default)s)",
    )
    p.add_argument(
        "--columns", metavar="NAMES", help="comma-separated channels to model (default: every numeric column)"
    )
    p.add_argument(
        "--timestamp-column",
        metavar="NAME",
        help="the column of times (default: one named timestamp, time, datetime, date or ts, else the first)",
    )
    p.add_argument(
        "--delimiter",
        choices=("auto", "comma", "semicolon", "tab"),
        default="auto",
        help="field separator (default: %(default)s, whichever of comma, semicolon and tab the header uses)",
    )
    prefix = p.add_mutually_exclusive_group()
    prefix.add_argument(
        "--train-fraction",
        type=_fraction,
        metavar="SHARE",
        help="use only this chronological share of the rows, in (0, 1]; the rest is never read (default: all)",
    )
    prefix.add_argument(
        "--train-rows",
        type=_positive_int,
        metavar="N",
        help="use only the first N rows; the rest is never read (default: all)",
    )
    p.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        metavar="SHARE",
        help="last share of the used rows held out for early stopping and calibration (default: %(default)s)",
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
        metavar="SAMPLES",
        help="truncated-BPTT length, and the samples a gateway warms up on (default: %(default)s)",
    )
    p.add_argument(
        "--hidden", type=_positive_int, default=defaults.hidden, help="LSTM units per layer (default: %(default)s)"
    )
    p.add_argument("--layers", type=_positive_int, default=defaults.layers, help="LSTM layers (default: %(default)s)")
    p.add_argument(
        "--epochs", type=_positive_int, default=defaults.epochs, help="the most training epochs (default: %(default)s)"
    )
    p.add_argument(
        "--patience",
        type=_positive_int,
        default=defaults.patience,
        metavar="EPOCHS",
        help="stop after this many epochs without a better validation loss (default: %(default)s)",
    )
    p.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=defaults.learning_rate,
        metavar="RATE",
        help="Adam's learning rate (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="random seed; the same data and seed give the same weights (default: %(default)s)",
    )
    p.add_argument(
        "--false-alarms-per-day",
        type=_positive_float,
        default=1.0,
        metavar="RATE",
        help="alert rate on the validation rows (normal data) that sets the threshold (default: %(default)s)",
    )
    p.add_argument(
        "--error-smoothing",
        type=_fraction,
        default=1.0,
        metavar="WEIGHT",
        help="weight in (0, 1] of the newest squared error in its moving average (default: %(default)s, no smoothing)",
    )
    p.add_argument(
        "--precision",
        choices=("int8", "fp32"),
        default="int8",
        help="weights of the shipped model: int8 quantized (a smaller file), fp32 as trained (default: %(default)s)",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="PNG",
        help="also write a picture of the validation rows: signal and forecast, scores, threshold, alerts",
    )
    p.add_argument("--quiet", action="store_true", help="print no progress bar and no summary")
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
        skip_alerts=args.skip_alerts,
        agent_config=args.agent_config,
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
