"""A gapped copy of a NAB corpus, to measure what breaks in the stream cost (run bench/quality.py on it).

Many of NAB's 58 files have gaps in time (hours or days without a row: realTraffic, realAdExchange, some of
realAWSCloudwatch); the 18 development files hardly any. This writes a copy of ``--data`` in which each file
loses ``--runs`` runs of 2 to ``--longest`` consecutive rows after its probationary prefix (the rows a model
trains on stay whole), drawn with a fixed seed, with the same labels. A run longer than the detector's
``max_gap_periods`` breaks the stream: the model re-warms, and what the scorer keeps in time must stay aligned.
Files too short to lose rows and still be exported (under 2,000 rows) are copied whole.

Run: ``.venv/bin/python bench/nab_gaps.py --data ../shared/data/nab --out /tmp/nab-gapped``, then
``.venv/bin/python bench/quality.py --data /tmp/nab-gapped`` (HTM's published scores do not fit the gapped
rows, so its anchor rows are left out there).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from quality import probation_rows

SHORTEST = 2000  # rows: a shorter file keeps all its rows


def gapped_rows(rows: list[list[str]], runs: int, longest: int, rng: random.Random) -> list[list[str]]:
    """``rows`` (header excluded) without ``runs`` runs of 2..``longest`` rows after the probation."""
    if len(rows) < SHORTEST:
        return rows
    start_after = probation_rows(len(rows)) + 1
    dropped: set[int] = set()
    for _ in range(runs):
        start = rng.randrange(start_after, len(rows) - longest)
        dropped.update(range(start, start + rng.randint(2, longest)))
    return [row for i, row in enumerate(rows) if i not in dropped]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a NAB data folder with labels.json")
    parser.add_argument("--out", type=Path, required=True, help="the gapped copy (replaced if it exists)")
    parser.add_argument("--runs", type=int, default=20, help="runs of rows removed per file (20)")
    parser.add_argument("--longest", type=int, default=40, help="the longest run, in rows (40)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    labels = json.loads((args.data / "labels.json").read_text())
    rng = random.Random(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    shutil.copy(args.data / "labels.json", args.out / "labels.json")
    kept = total = 0
    for name in sorted(labels):
        with (args.data / name).open(newline="") as handle:
            header, *rows = list(csv.reader(handle))
        out_rows = gapped_rows(rows, args.runs, args.longest, rng)
        kept, total = kept + len(out_rows), total + len(rows)
        (args.out / name).parent.mkdir(parents=True, exist_ok=True)
        with (args.out / name).open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *out_rows])
    print(f"{len(labels)} files, {total - kept:,} of {total:,} rows removed ({1 - kept / total:.1%}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
