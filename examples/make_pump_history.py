"""Generate examples/pump_history.csv: two weeks of a pump's sensors, one row every five minutes.

The load follows a daily duty cycle with a weekend dip; motor current follows the
load, the bearing warms with it (with thermal lag), and vibration rises with
speed. Deterministic: run it again and the file is byte-identical.
:func:`generate_rows` makes more of the same process (another seed, another start),
as ``bench/replay_speed.py`` does.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROWS = 14 * 288
SEED = 7
START = datetime(2026, 3, 2, tzinfo=UTC)
PERIOD = timedelta(minutes=5)
HEADER = ["timestamp", "bearing_temp_c", "vibration_mm_s", "motor_current_a"]


def duty_cycle(moment: datetime) -> float:
    """The pump's planned load at ``moment``: a daytime hump, a night floor, 80 % at weekends."""
    hour = moment.hour + moment.minute / 60
    duty = 0.55 + 0.35 * max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.45
    return duty * 0.8 if moment.weekday() >= 5 else duty


def generate_rows(rows: int, seed: int, start: datetime, temperature: float = 45.0) -> Iterator[list[str]]:
    """``rows`` CSV rows (no header), one every five minutes from ``start``; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    for i in range(rows):
        moment = start + PERIOD * i
        load = duty_cycle(moment) + rng.normal(0, 0.02)
        temperature += (38.0 + 22.0 * load - temperature) / 12 + rng.normal(0, 0.08)
        vibration = 1.8 + 2.4 * load + rng.normal(0, 0.12)
        current = 6.0 + 9.0 * load + rng.normal(0, 0.15)
        yield [moment.strftime("%Y-%m-%d %H:%M:%S"), f"{temperature:.3f}", f"{vibration:.3f}", f"{current:.3f}"]


def write_csv(out: Path, rows: int, seed: int, start: datetime) -> None:
    """Write the header and :func:`generate_rows` to ``out``."""
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(generate_rows(rows, seed, start))


def build_parser() -> argparse.ArgumentParser:
    """The script's command line; without arguments it rewrites the bundled history."""
    parser = argparse.ArgumentParser(description="Generate the pump's sensor history as CSV.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).with_name("pump_history.csv"),
        metavar="CSV",
        help="the file to write (default: the bundled examples/pump_history.csv)",
    )
    parser.add_argument(
        "--rows", type=int, default=ROWS, help="rows, one every five minutes (default: %(default)s, two weeks)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="the noise's seed (default: %(default)s)")
    parser.add_argument(
        "--start",
        type=datetime.fromisoformat,
        default=START,
        metavar="TIME",
        help=f"ISO time of the first row, UTC unless it says otherwise (default: {START.isoformat()})",
    )
    return parser


def main() -> None:
    """Without arguments, rewrite the bundled history; with them, make more of the same pump."""
    args = build_parser().parse_args()
    start = args.start if args.start.tzinfo else args.start.replace(tzinfo=UTC)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(args.out, args.rows, args.seed, start)


if __name__ == "__main__":
    main()
