"""Copy a history CSV with an anomaly injected: for demos and for trying a model on a known fault.

    python examples/inject_anomaly.py examples/pump_history.csv build/demo/live.csv \\
        --last-rows 576 --at 400 --channel bearing_temp_c --kind drift --size 6 --length 60

``--size`` is in standard deviations of the channel (over the rows written); the anomaly
starts at row ``--at`` of the output and lasts ``--length`` rows (a spike is one row).
The injected rows are printed, so a reader knows where the alert should come.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path


def offset(kind: str, step: int, length: int, size: float) -> float:
    """How far the channel is pushed ``step`` rows into the anomaly (in channel units, ``size`` at full)."""
    if kind == "spike":
        return size if step == 0 else 0.0
    if kind == "shift":
        return size if step < length else 0.0
    if kind == "drift":
        return size * min(1.0, (step + 1) / length) if step < length else 0.0
    raise ValueError(f"unknown kind {kind!r}")


def build_parser() -> argparse.ArgumentParser:
    """The script's command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", type=Path, help="the history CSV to copy (a timestamp column first)")
    parser.add_argument("output", type=Path, help="the CSV to write, with the anomaly in it")
    parser.add_argument("--last-rows", type=int, metavar="N", help="keep only the file's last N rows (default: all)")
    parser.add_argument(
        "--at", type=int, required=True, metavar="ROW", help="first anomalous row of the output, counted from 0"
    )
    parser.add_argument("--channel", required=True, metavar="COLUMN", help="the column to push, by its header name")
    parser.add_argument(
        "--kind",
        choices=("spike", "shift", "drift"),
        default="shift",
        help="spike: one row; shift: a step for --length rows; drift: a ramp up to --size over --length rows "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--size",
        type=float,
        default=5.0,
        metavar="SD",
        help="how far, in standard deviations of the channel over the rows written (default: %(default)s)",
    )
    parser.add_argument(
        "--length", type=int, default=30, metavar="ROWS", help="rows a shift or a drift lasts (default: %(default)s)"
    )
    return parser


def main() -> None:
    """Write the copy and say which rows carry the anomaly."""
    args = build_parser().parse_args()
    with args.input.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    if args.last_rows:
        rows = rows[-args.last_rows :]
    column = header.index(args.channel)
    size = args.size * statistics.pstdev(float(r[column]) for r in rows)
    for i, row in enumerate(rows[args.at :], start=args.at):
        push = offset(args.kind, i - args.at, args.length, size)
        if push:
            row[column] = f"{float(row[column]) + push:.3f}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    end = args.at + (1 if args.kind == "spike" else args.length)
    print(
        f"wrote {args.output}: {len(rows)} rows, {args.kind} of {args.size:g} sd ({size:.3g}) on {args.channel} "
        f"at rows {args.at}-{end - 1} ({rows[args.at][0]} to {rows[min(end, len(rows)) - 1][0]})"
    )


if __name__ == "__main__":
    main()
