"""Detection quality on NAB through the product path, computed as NAB's own scorer does, with baselines.

For every file of the corpus (the folder ``--data`` names, such as ``../shared/data/nab``: 18 of NAB's 58):
``edge-export`` trains and calibrates an int8 model on the probationary prefix only (the first 15 % of rows,
at most 750); ``edge-agent replay`` streams the whole file with the default configuration (row i's score
depends on rows 0..i). The ``anomaly_score`` column is then scored as NAB's ``run.py --optimize --score
--normalize`` does: every row at or above one threshold is a detection, that threshold is optimised over every
distinct score for the whole corpus given (per profile), rewards by NAB's scaled sigmoid, the normalisation
100 (raw - null) / (perfect - null). Baselines from the same run: the calibrated scorer on the same model, a
rolling z-score (the previous 100 rows), and the seed's way (the raw forecast error); and Numenta HTM's
published scores for the same files through the same scorer, as an anchor. The product is also shown at its
own default threshold, without the corpus optimisation.

Run: ``.venv/bin/python bench/quality.py --data DIR [--only NAME ...] [--plot DIR] [--jobs 2]``
"""

from __future__ import annotations

import csv
import json
import logging
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from common import CALIBRATED, PRODUCT, command_line, dataset_parser, map_files, replay_both
from nab_scoring import (
    PROFILES,
    STANDARD,
    FileScore,
    ScoredFile,
    corpus_scores,
    detections_at,
    event_counts,
    normalised,
    optimise_threshold,
    score_file,
)

from edge.model.loader import load_model
from export.pipeline import ExportOptions, run_export

Z_WINDOW = 100
HTM = "Numenta HTM (its published scores)"
DETECTORS = (PRODUCT, CALIBRATED, "rolling z-score", "seed: raw forecast error")


@dataclass
class FileRun:
    """Everything measured on one file."""

    name: str
    path: Path
    rows: int
    probation: int
    windows: list[tuple[int, int]]
    values: list[float] = field(default_factory=list)
    scores: dict[str, list[float]] = field(default_factory=dict)  # per detector, 0 where unscored
    default_threshold: float = 1.0
    seconds: float = 0.0
    alerts: list[bool] = field(default_factory=list)  # the product's alert column
    days: float = 0.0  # from the first row after the probationary ones to the last

    def alert_counts(self) -> tuple[int, int]:
        """Alerts raised after the probationary rows outside every window; windows with an alert open."""
        alerts = self.alerts
        raised = [i for i in range(max(1, self.probation), len(alerts)) if alerts[i] and not alerts[i - 1]]
        outside = sum(1 for i in raised if not any(a <= i <= b for a, b in self.windows))
        return outside, sum(1 for a, b in self.windows if any(alerts[a : b + 1]))

    def scored(self, detector: str) -> ScoredFile:
        return ScoredFile(self.name, self.scores[detector], self.windows, self.probation)


def probation_rows(rows: int) -> int:
    """NAB's probationary period: 15 % of the rows, at most 750."""
    return min(math.floor(0.15 * rows), 750)


def load_rows(path: Path) -> tuple[list[float], list[float]]:
    stamps, values = [], []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            stamps.append(datetime.fromisoformat(row["timestamp"]).timestamp())
            values.append(float(row["value"]))
    return stamps, values


def window_rows(stamps: Sequence[float], windows: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Labelled windows (timestamps, inclusive) as row index pairs."""
    found = []
    for start, end in windows:
        first, last = datetime.fromisoformat(start).timestamp(), datetime.fromisoformat(end).timestamp()
        inside = [i for i, t in enumerate(stamps) if first <= t <= last]
        if inside:
            found.append((inside[0], inside[-1]))
    return found


def rolling_z(values: Sequence[float], window: int = Z_WINDOW) -> list[float]:
    """|x - mean| / sd of the previous ``window`` rows (causal); 0 until there are enough."""
    x = np.asarray(values, dtype=float)
    out = np.zeros(len(x))
    for i in range(window, len(x)):
        past = x[i - window : i]
        sd = past.std()
        out[i] = abs(x[i] - past.mean()) / sd if sd > 0 else (0.0 if x[i] == past.mean() else 50.0)
    return out.tolist()


def run_file(task: tuple[Path, str, list, Path]) -> FileRun:
    """Export int8 on the prefix, replay the file through it (default and calibrated), the baselines."""
    path, name, labels, work = task
    logging.disable(logging.WARNING)  # the agent's own notices (operating point) are not the benchmark's output
    started = time.perf_counter()
    stamps, values = load_rows(path)
    run = FileRun(name, path, len(values), probation_rows(len(values)), window_rows(stamps, labels), values)
    run.days = (stamps[-1] - stamps[min(run.probation, len(stamps) - 1)]) / 86400.0
    run.scores["rolling z-score"] = rolling_z(values)
    folder = work / name.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.onnx"
    run_export(
        ExportOptions(data=path, out=model, train_rows=run.probation, quiet=True, allow_repeated_times=True),
        say=lambda _text: None,
    )
    for detector, summary in replay_both(model, path, folder / "replay.csv").items():
        trace = summary.trace
        assert trace is not None and len(trace.scores) == run.rows
        run.scores[detector] = [s or 0.0 for s in trace.scores]
        if detector == PRODUCT:
            run.default_threshold = summary.threshold
            run.alerts = list(trace.alerts)
        elif detector == CALIBRATED:  # the seed's way: the model's raw forecast error (this run: no correction)
            sd = load_model(model).metadata.norm_std[0]
            run.scores["seed: raw forecast error"] = [
                abs(v - e[0]) / sd if e is not None and s is not None else 0.0
                for v, e, s in zip(values, trace.expected, trace.scores)
            ]
    run.seconds = time.perf_counter() - started
    return run


def row(label: str, threshold: str, files_by_profile: dict[str, list[FileScore]]) -> str:
    counts = event_counts(files_by_profile[STANDARD.name])
    delay = "-" if counts.mean_delay_rows is None else f"{counts.mean_delay_rows:.0f}"
    figures = " | ".join(f"{normalised(files_by_profile[p.name]):.1f}" for p in PROFILES)
    return (
        f"| {label} | {threshold} | {figures} | {counts.precision:.2f} | {counts.recall:.2f} | "
        f"{counts.f1:.2f} | {delay} |"
    )


def htm_files(runs: Sequence[FileRun], reference: Path) -> list[ScoredFile]:
    """Numenta HTM's published scores for the same files (NAB's results folder), when all are there."""
    files = []
    for r in runs:
        path = reference / "numenta_scores" / r.name
        if not path.is_file():
            return []
        with path.open(newline="") as handle:
            scores = [float(row["anomaly_score"]) for row in csv.DictReader(handle)]
        files.append(ScoredFile(r.name, scores, r.windows, r.probation))
    return files


def report(runs: Sequence[FileRun], reference: Path, plot: Path | None = None) -> None:
    print(
        "| detector | corpus threshold (standard) | NAB standard | low FP | low FN | event precision | "
        "event recall | event F1 | mean delay (rows) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    standard: dict[str, tuple[float, list[FileScore]]] = {}
    for detector in DETECTORS:
        files = [r.scored(detector) for r in runs]
        by_profile: dict[str, list[FileScore]] = {}
        for profile in PROFILES:
            threshold, _ = optimise_threshold(files, profile)
            by_profile[profile.name] = corpus_scores(files, threshold, profile)
            if profile is STANDARD:
                standard[detector] = (threshold, by_profile[profile.name])
        print(row(detector, f"{standard[detector][0]:.4g}", by_profile))
    htm = htm_files(runs, reference)
    if htm:
        by_profile = {p.name: corpus_scores(htm, optimise_threshold(htm, p)[0], p) for p in PROFILES}
        print(row(f"{HTM}, threshold optimised on these files", f"{optimise_threshold(htm)[0]:.4g}", by_profile))
        published = json.loads((reference / "numenta_expected.json").read_text())["profiles"]
        by_profile = {p.name: corpus_scores(htm, published[p.name]["threshold"], p) for p in PROFILES}
        print(row(f"{HTM}, NAB's threshold for all 58 files", f"{published['standard']['threshold']:.4g}", by_profile))
    shipped = {
        p.name: [
            score_file(detections_at(r.scores[PRODUCT], r.default_threshold), r.windows, r.probation, p) for r in runs
        ]
        for p in PROFILES
    }
    print(row(f"{PRODUCT} at each model's own threshold", "1 false alarm/day (no optimisation)", shipped))
    counts = [r.alert_counts() for r in runs]
    days = sum(r.days for r in runs)
    outside, hit = sum(c[0] for c in counts), sum(c[1] for c in counts)
    print(
        f"\nAlerts ({PRODUCT}'s `alert` column, each model's own threshold), after the probationary rows: "
        f"{outside:,} raised outside the labelled windows over {days:,.0f} days ({outside / max(days, 1e-9):.2f} "
        f"a day); {hit} of {sum(len(r.windows) for r in runs)} windows with an alert."
    )
    print()
    categories = sorted({r.name.split("/")[0] for r in runs})
    print("Per category (standard profile, under each detector's corpus threshold; normalised within the category):")
    print("| category | files | " + " | ".join(DETECTORS) + " |")
    print("|---|---:|" + "---:|" * len(DETECTORS))
    for category in categories:
        picked = [i for i, r in enumerate(runs) if r.name.startswith(category + "/")]
        cells = [f"{normalised([standard[d][1][i] for i in picked]):.1f}" for d in DETECTORS]
        print(f"| {category} | {len(picked)} | " + " | ".join(cells) + " |")
    print()
    print("Per file (standard profile; raw NAB score, windows detected / detections outside windows / missed):")
    print("| file | rows | " + " | ".join(DETECTORS) + " |")
    print("|---|---:|" + "---:|" * len(DETECTORS))
    for i, r in enumerate(runs):
        cells = [
            f"{s.score:.2f} ({s.true_positives}/{s.false_positives}/{s.false_negatives})"
            for s in (standard[d][1][i] for d in DETECTORS)
        ]
        print(f"| {r.name} | {r.rows} | " + " | ".join(cells) + " |")
    if plot is not None:
        from quality_plot import plot_file

        threshold = standard[PRODUCT][0]
        for r in runs:
            plot_file(r, PRODUCT, threshold, [s >= threshold for s in r.scores[PRODUCT]], plot)


def main(argv: Sequence[str] | None = None) -> int:
    parser = dataset_parser(
        __doc__.splitlines()[0],
        "NAB's data folder: labels.json, the CSVs it names, reference/ (HTM's scores); e.g. ../shared/data/nab",
    )
    parser.add_argument("--only", nargs="*", help="file names (or parts of them) to run")
    parser.add_argument("--plot", type=Path, help=f"write a PNG per file of {PRODUCT} here")
    args = parser.parse_args(argv)
    if not (args.data / "labels.json").is_file():
        problem = "no labels.json in it" if args.data.is_dir() else "no such folder"
        parser.error(f"--data {args.data}: {problem}; give NAB's data folder, e.g. ../shared/data/nab")
    labels = json.loads((args.data / "labels.json").read_text())
    names = [n for n in sorted(labels) if not args.only or any(part in n for part in args.only)]
    missing = [n for n in names if not (args.data / n).is_file()]
    if missing:
        parser.error(f"--data {args.data}: labels.json names {len(missing)} file(s) not there, first {missing[0]}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        runs = map_files(run_file, [(args.data / n, n, labels[n], work) for n in names], args.jobs)
        report(runs, args.data / "reference", args.plot)
    rows = sum(r.rows for r in runs)
    print(f"\n{len(runs)} files, {rows:,} rows, {time.perf_counter() - started:.0f} s ({args.jobs} jobs)")
    print(command_line(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
