"""Detection quality on NAB through the product path, with baselines, in one table.

For every file of ``../shared/data/nab``: ``edge-export`` trains and calibrates on the probationary
prefix only (the first 15 % of rows, at most 750), once int8 and once fp32; ``edge-agent replay``
streams the whole file through each model (row i's score depends on rows 0..i). Baselines on the
same rows: a rolling z-score (the previous 100 rows), and the seed's way (the int8 model's raw
forecast error in normalised units, one fixed threshold). One threshold per detector and profile is
chosen for the whole corpus (as NAB does); the product's final figures come from a second replay with
that threshold in its config, and its detections are its own alert onsets. Also shown: the product as
shipped (each model's own calibrated threshold, no sweep).

Run: ``.venv/bin/python bench/quality.py [--data DIR] [--only NAME ...] [--plot DIR] [--jobs 2]``
(``--plot DIR``: a PNG per file of the product's best scorer, see ``quality_plot.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.config import AgentConfig, AgentSection, DetectorSection, ModelSection  # noqa: E402
from edge.model_file import load_model  # noqa: E402
from edge.replay import replay  # noqa: E402
from export.errors import DataError  # noqa: E402
from export.nab import PROFILES, FileScore, Profile, event_counts, normalised, score_file  # noqa: E402
from export.pipeline import ExportOptions, run_export  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
Z_WINDOW = 100
# the product's scorers: the anomaly likelihood (the default), and the stored calibration with slow adaptation
SCORERS = {" likelihood": DetectorSection(scoring="likelihood"), " calibrated": DetectorSection(scoring="calibrated")}
PRODUCT = tuple(f"product {p}{s}" for s in SCORERS for p in ("int8", "fp32"))
DETECTORS = (*PRODUCT, "rolling z-score", "seed: raw forecast error")
PLOTTED = "product int8 likelihood"


def scorer_of(detector: str) -> DetectorSection:
    return SCORERS[" likelihood" if detector.endswith("likelihood") else " calibrated"]


def replay_config(model: Path, detector: str, threshold: float | None = None) -> AgentConfig:
    return AgentConfig(None, AgentSection(), ModelSection(path=model, threshold=threshold), scorer_of(detector), (), ())


@dataclass
class FileRun:
    """Everything measured on one file."""

    name: str
    path: Path
    rows: int
    probation: int
    windows: list[tuple[int, int]]
    timestamps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    scores: dict[str, list[float]] = field(default_factory=dict)  # per detector, 0 where unscored
    shipped_alerts: dict[str, list[bool]] = field(default_factory=dict)  # at each model's own threshold
    models: dict[str, Path] = field(default_factory=dict)
    note: str = ""
    seconds: float = 0.0


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
        past = x[i - window:i]
        sd = past.std()
        out[i] = abs(x[i] - past.mean()) / sd if sd > 0 else (0.0 if x[i] == past.mean() else 50.0)
    return out.tolist()


def run_file(task: tuple[Path, str, list, Path]) -> FileRun:
    """Export int8 and fp32 on the prefix, replay the file through both, compute the baselines."""
    path, name, labels, work = task
    started = time.perf_counter()
    stamps, values = load_rows(path)
    run = FileRun(name, path, len(values), probation_rows(len(values)), window_rows(stamps, labels), stamps, values)
    run.scores["rolling z-score"] = rolling_z(values)
    folder = work / name.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    for precision in ("int8", "fp32"):
        model = folder / f"{precision}.onnx"
        try:
            run_export(ExportOptions(data=path, out=model, train_rows=run.probation, precision=precision, quiet=True,
                                     allow_repeated_times=True),
                       say=lambda _text: None)
        except DataError as exc:  # a constant prefix: no model can be made; it never alerts
            run.note = f"no model: {exc}".split(";")[0]
            for key in (k for k in PRODUCT if precision in k):
                run.scores[key] = [0.0] * run.rows
                run.shipped_alerts[key] = [False] * run.rows
            run.scores["seed: raw forecast error"] = [0.0] * run.rows
            continue
        for key in (k for k in PRODUCT if f" {precision}" in k):
            run.models[key] = model
            summary = replay(model, path, folder / f"{precision}.csv", config=replay_config(model, key),
                             keep_trace=True, log_events=False)
            trace = summary.trace
            assert trace is not None and len(trace.scores) == run.rows
            run.scores[key] = [s or 0.0 for s in trace.scores]
            run.shipped_alerts[key] = list(trace.alerts)
        if precision == "int8":
            sd = load_model(model).metadata.norm_std[0]
            run.scores["seed: raw forecast error"] = [
                abs(v - e[0]) / sd if e is not None and s is not None else 0.0
                for v, e, s in zip(values, trace.expected, trace.scores)]
    run.seconds = time.perf_counter() - started
    return run


def onsets(scores: Sequence[float], threshold: float, clear_fraction: float = 0.8,
           clear_samples: int = 3) -> list[bool]:
    """Detections as the product decides them by default: raise at the threshold, clear after
    ``clear_samples`` rows below ``clear_fraction`` x threshold; only the raising row is a detection."""
    out, active, below = [False] * len(scores), False, 0
    clear_at = clear_fraction * threshold
    for i, score in enumerate(scores):
        if not active:
            if score >= threshold:
                out[i], active, below = True, True, 0
        else:
            below = below + 1 if score < clear_at else 0
            if below >= clear_samples:
                active = False
    return out


def alert_onsets(alerting: Sequence[bool]) -> list[bool]:
    return [a and (i == 0 or not alerting[i - 1]) for i, a in enumerate(alerting)]


def corpus(runs: Sequence[FileRun], detections: Callable[[FileRun], list[bool]], profile: Profile) -> list[FileScore]:
    return [score_file(detections(r), r.windows, r.probation, profile) for r in runs]


def sweep(runs: Sequence[FileRun], detector: str, profile: Profile) -> tuple[float, float]:
    """The one threshold for the whole corpus that gives ``detector`` its best normalised score."""
    pooled = np.concatenate([np.asarray(r.scores[detector][r.probation:]) for r in runs])
    pooled = pooled[pooled > 0]
    candidates = np.unique(np.quantile(pooled, np.linspace(0.5, 1.0, 121)))
    best = (-math.inf, float(candidates[-1]))
    for threshold in candidates:
        score = normalised(corpus(runs, lambda r, t=float(threshold): onsets(r.scores[detector], t), profile))
        best = max(best, (score, float(threshold)))
    return best[1], best[0]


def final_product(runs: Sequence[FileRun], detector: str, threshold: float, work: Path) -> dict[str, list[bool]]:
    """Replay every file again with ``threshold`` in the config: the product's own alert onsets."""
    out = {}
    for run in runs:
        model = run.models.get(detector)
        if model is None:
            out[run.name] = [False] * run.rows
            continue
        summary = replay(model, run.path, work / "final.csv",
                         config=replay_config(model, detector, threshold), keep_trace=True, log_events=False)
        assert summary.trace is not None
        out[run.name] = alert_onsets(summary.trace.alerts)
    return out


def table_row(label: str, files: Sequence[FileScore], by_profile: dict[str, float], threshold: str) -> str:
    counts = event_counts(files)
    delay = "-" if counts.mean_delay_rows is None else f"{counts.mean_delay_rows:.0f}"
    return (f"| {label} | {threshold} | {by_profile['standard']:.1f} | {by_profile['reward_low_FP_rate']:.1f} | "
            f"{by_profile['reward_low_FN_rate']:.1f} | {counts.precision:.2f} | {counts.recall:.2f} | "
            f"{counts.f1:.2f} | {delay} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="*", help="file names (or parts of them) to run")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--work", type=Path, help="keep models and replays here (default: a temporary folder)")
    parser.add_argument("--plot", type=Path, help=f"write a PNG per file of {PLOTTED} here")
    args = parser.parse_args(argv)
    labels = json.loads((args.data / "labels.json").read_text())
    names = [n for n in sorted(labels) if not args.only or any(part in n for part in args.only)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        tasks = [(args.data / n, n, labels[n], work) for n in names]
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with Pool(args.jobs) as pool:
            runs = pool.map(run_file, tasks)
        report(runs, work, args.plot)
    print(f"\n{len(runs)} files, {sum(r.rows for r in runs):,} rows, {time.perf_counter() - started:.0f} s "
          f"({args.jobs} jobs); command: .venv/bin/python bench/quality.py")
    return 0


def report(runs: Sequence[FileRun], work: Path, plot: Path | None = None) -> None:
    print("| file | rows | probation | windows | note | export + replay s |")
    print("|---|---:|---:|---:|---|---:|")
    for r in runs:
        print(f"| {r.name} | {r.rows} | {r.probation} | {len(r.windows)} | {r.note} | {r.seconds:.1f} |")
    print()
    print("| detector | threshold (standard) | NAB standard | low FP | low FN | precision | recall | F1 | "
          "mean delay (rows) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    per_file: dict[str, list[FileScore]] = {}
    for detector in DETECTORS:
        by_profile: dict[str, float] = {}
        standard_files: list[FileScore] = []
        chosen = ""
        for profile in PROFILES:
            threshold, _ = sweep(runs, detector, profile)
            if detector.startswith("product"):
                detections = final_product(runs, detector, threshold, work)
                files = corpus(runs, lambda r, d=detections: d[r.name], profile)
            else:
                files = corpus(runs, lambda r, t=threshold, d=detector: onsets(r.scores[d], t), profile)
            by_profile[profile.name] = normalised(files)
            if profile.name == "standard":
                standard_files, chosen = files, f"{threshold:.3g}"
                if plot is not None and detector == PLOTTED:
                    from quality_plot import plot_file

                    for run in runs:
                        plot_file(run, detector, threshold, detections[run.name], plot)
        per_file[detector] = standard_files
        print(table_row(detector, standard_files, by_profile, chosen))
    for detector in PRODUCT:
        shipped = {r.name: alert_onsets(r.shipped_alerts[detector]) for r in runs}
        by_profile = {p.name: normalised(corpus(runs, lambda r, d=shipped: d[r.name], p)) for p in PROFILES}
        files = corpus(runs, lambda r, d=shipped: d[r.name], PROFILES[0])
        default = scorer_of(detector)
        shipped_threshold = f"{default.likelihood_threshold:g} (default)" if default.scoring == "likelihood" \
            else "each model's own"
        print(table_row(f"{detector} as shipped", files, by_profile, shipped_threshold))
    print()
    print("Per file (standard profile; raw NAB score, TP/FP/FN):")
    print("| file | " + " | ".join(DETECTORS) + " |")
    print("|---|" + "---:|" * len(DETECTORS))
    for i, r in enumerate(runs):
        cells = [f"{per_file[d][i].score:.2f} ({per_file[d][i].true_positives}/{per_file[d][i].false_positives}/"
                 f"{per_file[d][i].false_negatives})" for d in DETECTORS]
        print(f"| {r.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
