"""Detection quality on SKAB (a real water-circulation pump testbed) through the product path.

The benchmark's protocol (its "outlier detection" leaderboard): in each experiment file the first 400 rows
are the training data; ``edge-export`` trains an int8 model on them (all 8 sensors), ``edge-agent replay``
streams the whole file with the default configuration, and the ``alert`` column of the rows after the first
400 is judged point by point against the ``anomaly`` label, pooled over all files:
F1 = TP / (TP + (FN + FP) / 2), FAR = FP / (FP + TN), MAR = FN / (FN + TP). Baselines from the same run: the
calibrated scorer's alert column on the same model, a plain z-score of each sensor against its 400
training rows (alert while any sensor's mean over the last 10 rows is beyond 3 sd), and the seed's way (alert
while any channel's raw forecast error is beyond 3 of its residual sd).

Run: ``.venv/bin/python bench/skab.py --data DIR [--jobs 2]`` (DIR: SKAB's data folder, as ``../shared/data/skab``)
"""

from __future__ import annotations

import csv
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from common import CALIBRATED, PRODUCT, command_line, dataset_parser, map_files, replay_both

from edge.model.loader import load_model
from export.pipeline import ExportOptions, run_export

TRAIN_ROWS = 400
SENSORS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
ZSCORE = "z-score vs training rows"
SEED = "seed: raw forecast error"
DETECTORS = (PRODUCT, CALIBRATED, ZSCORE, SEED)


@dataclass
class FileRun:
    name: str
    labels: np.ndarray  # 0/1 per row
    alerts: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def f1(self) -> float:
        return self.tp / (self.tp + (self.fn + self.fp) / 2) if self.tp + self.fn + self.fp else 0.0

    @property
    def far(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def mar(self) -> float:
        return self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def counts(alerts: np.ndarray, labels: np.ndarray) -> Counts:
    """Point-wise counts on the test rows (after the training rows)."""
    a, y = alerts[TRAIN_ROWS:].astype(bool), labels[TRAIN_ROWS:].astype(bool)
    return Counts(int(np.sum(a & y)), int(np.sum(a & ~y)), int(np.sum(~a & y)), int(np.sum(~a & ~y)))


def read_values(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    values = np.array([[float(r[s]) for s in SENSORS] for r in rows])
    return values, np.array([float(r["anomaly"]) for r in rows])


def is_experiment(path: Path) -> bool:
    """Whether the CSV's header has SKAB's columns (``;``-separated: the sensors and ``anomaly``)."""
    with path.open(newline="") as handle:
        header = handle.readline().strip().split(";")
    return {*SENSORS, "anomaly"} <= set(header)


def zscore_alerts(values: np.ndarray, window: int = 10, limit: float = 3.0) -> np.ndarray:
    train = values[:TRAIN_ROWS]
    mean, sd = train.mean(axis=0), np.maximum(train.std(axis=0), 1e-12)
    out = np.zeros(len(values), dtype=bool)
    for i in range(window, len(values)):
        out[i] = bool(np.any(np.abs((values[i - window + 1 : i + 1].mean(axis=0) - mean) / sd) > limit))
    return out


def run_file(task: tuple[Path, str, Path]) -> FileRun:
    path, name, work = task
    logging.disable(logging.WARNING)  # the agent's own notices (operating point) are not the benchmark's output
    started = time.perf_counter()
    values, labels = read_values(path)
    run = FileRun(name, labels)
    run.alerts[ZSCORE] = zscore_alerts(values)
    folder = work / name.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.onnx"
    run_export(
        ExportOptions(data=path, out=model, columns=SENSORS, train_rows=TRAIN_ROWS, quiet=True), say=lambda _text: None
    )
    for detector, summary in replay_both(model, path, folder / "replay.csv").items():
        assert summary.trace is not None and len(summary.trace.alerts) == len(labels)
        run.alerts[detector] = np.asarray(summary.trace.alerts, dtype=bool)
        if detector == CALIBRATED:  # the seed's way: any channel's raw forecast error beyond 3 of its residual sd
            meta = load_model(model).metadata
            scale = np.asarray(meta.calibration.residual_scale) * np.asarray(meta.norm_std)
            run.alerts[SEED] = np.array(
                [
                    e is not None and bool(np.any(np.abs(np.subtract(v, e)) > 3 * scale))
                    for v, e in zip(values, summary.trace.expected)
                ]
            )
    run.seconds = time.perf_counter() - started
    return run


def report(runs: Sequence[FileRun]) -> None:
    print("| detector | F1 | FAR | MAR | TP | FP | FN |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for detector in DETECTORS:
        total = sum((counts(r.alerts[detector], r.labels) for r in runs), Counts(0, 0, 0, 0))
        print(
            f"| {detector} | {total.f1:.2f} | {total.far:.1%} | {total.mar:.1%} | {total.tp} | {total.fp} | "
            f"{total.fn} |"
        )
    print()
    print("Per file (F1 / FAR / MAR):")
    print("| file | test rows | anomalous | " + " | ".join(DETECTORS) + " |")
    print("|---|---:|---:|" + "---:|" * len(DETECTORS))
    for r in runs:
        cells = []
        for detector in DETECTORS:
            c = counts(r.alerts[detector], r.labels)
            cells.append(f"{c.f1:.2f} / {c.far:.0%} / {c.mar:.0%}")
        print(
            f"| {r.name} | {len(r.labels) - TRAIN_ROWS} | {int(r.labels[TRAIN_ROWS:].sum())} | "
            + " | ".join(cells)
            + " |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = dataset_parser(
        __doc__.splitlines()[0],
        "SKAB's data folder (a folder per experiment series of ;-separated CSVs), e.g. ../shared/data/skab",
    )
    args = parser.parse_args(argv)
    files = sorted(p for p in args.data.glob("*/*.csv") if p.parent.name != "anomaly-free")
    odd = next((p for p in files if not is_experiment(p)), None)
    if not files or odd:
        problem = (
            f"{odd} is not a SKAB experiment"
            if odd
            else "no CSVs in its subfolders"
            if args.data.is_dir()
            else "no such folder"
        )
        parser.error(f"--data {args.data}: {problem}; give SKAB's data folder, e.g. ../shared/data/skab")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        runs = map_files(run_file, [(p, f"{p.parent.name}/{p.name}", work) for p in files], args.jobs)
    report(runs)
    rows = sum(len(r.labels) for r in runs)
    print(f"\n{len(runs)} files, {rows:,} rows, {time.perf_counter() - started:.0f} s ({args.jobs} jobs)")
    print(command_line(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
