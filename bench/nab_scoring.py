"""The Numenta Anomaly Benchmark's scoring, written from its definition (pure, no I/O).

Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms — the Numenta Anomaly
Benchmark" (2015): a detection inside a labelled window earns a reward that falls with its
position along a scaled sigmoid (early is best); only the first detection in a window counts;
a window without one costs ``A_FN``; a detection outside every window costs ``A_FP``, less
so shortly after a window; rows of the probationary period are not scored. A corpus score is
normalised so the null detector (never detects) gets 0 and the perfect one 100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Weights of one application profile."""

    name: str
    tp: float
    fp: float
    fn: float


STANDARD = Profile("standard", 1.0, 0.11, 1.0)
LOW_FP = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
LOW_FN = Profile("reward_low_FN_rate", 1.0, 0.11, 2.0)
PROFILES = (STANDARD, LOW_FP, LOW_FN)


def scaled_sigmoid(position: float) -> float:
    """NAB's reward by relative position: +0.987 at a window's start (-1), 0 at its end, -1 long after (> 3).

    >>> round(scaled_sigmoid(-1.0), 4), scaled_sigmoid(0.0), scaled_sigmoid(4.0)
    (0.9866, 0.0, -1.0)
    """
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


@dataclass(frozen=True)
class FileScore:
    """One file's outcome for one profile: the raw score and what made it."""

    score: float
    null_score: float
    perfect_score: float
    true_positives: int
    false_positives: int
    false_negatives: int
    delays: tuple[int, ...]  # rows from a window's start to its first detection, per detected window


def row_values(
    rows: int, windows: Sequence[tuple[int, int]], probation: int, profile: Profile = STANDARD
) -> tuple[list[int], list[float]]:
    """For every row, the window it lies in (-1: none) and what a detection there is worth.

    Inside a window: the scaled-sigmoid reward of its position (only a window's first detection counts);
    outside: the false-positive cost, less shortly after a window; 0 in the probationary period.
    """
    ordered = sorted(windows)
    in_window = [-1] * rows
    for index, (start, end) in enumerate(ordered):
        for row in range(max(start, 0), min(end, rows - 1) + 1):
            in_window[row] = index
    worth = [0.0] * rows
    previous: tuple[int, int] | None = None  # the last window reached at or before the current row
    for row in range(rows):
        window = in_window[row]
        if window >= 0:
            previous = start, end = ordered[window]
            value = profile.tp * scaled_sigmoid(-(end - row + 1) / (end - start + 1)) / MAX_TP
        elif previous is None:
            value = -1.0 * profile.fp
        else:
            start, end = previous
            value = scaled_sigmoid(abs(end - row) / max(end - start, 1)) * profile.fp
        if row >= probation:
            worth[row] = value
    return in_window, worth


def score_file(
    detections: Sequence[bool], windows: Sequence[tuple[int, int]], probation: int, profile: Profile = STANDARD
) -> FileScore:
    """Score one file's per-row detections against its windows (row index pairs, inclusive).

    >>> s = score_file([False] * 10 + [True] + [False] * 9, [(8, 12)], probation=2)
    >>> s.true_positives, s.false_positives, s.false_negatives, round(s.score, 3)
    (1, 0, 0, 0.917)
    """
    ordered = sorted(windows)
    in_window, worth = row_values(len(detections), ordered, probation, profile)
    detected: dict[int, int] = {}
    score, false_positives = 0.0, 0
    for row, fired in enumerate(detections):
        if not fired or row < probation:
            continue
        window = in_window[row]
        if window < 0:
            false_positives += 1
            score += worth[row]
        elif window not in detected:
            detected[window] = row
            score += worth[row]
    misses = len(ordered) - len(detected)
    score -= profile.fn * misses
    delays = tuple(row - ordered[window][0] for window, row in sorted(detected.items()))
    return FileScore(
        score, -profile.fn * len(ordered), profile.tp * len(ordered), len(detected), false_positives, misses, delays
    )


@dataclass(frozen=True)
class ScoredFile:
    """One corpus file as NAB's optimiser sees it: a detector's score per row, its windows and probation."""

    name: str
    scores: Sequence[float]
    windows: Sequence[tuple[int, int]]
    probation: int


def detections_at(scores: Sequence[float], threshold: float) -> list[bool]:
    """NAB's detections: every row whose anomaly score reaches the threshold."""
    return [s >= threshold for s in scores]


def corpus_scores(files: Sequence[ScoredFile], threshold: float, profile: Profile = STANDARD) -> list[FileScore]:
    """Each file scored at one threshold for the whole corpus."""
    return [score_file(detections_at(f.scores, threshold), f.windows, f.probation, profile) for f in files]


def optimise_threshold(files: Sequence[ScoredFile], profile: Profile = STANDARD) -> tuple[float, float]:
    """The one threshold for the whole corpus with the best normalised score, and that score.

    As NAB's sweeper: every distinct score is tried as the threshold (rows at or above it detect), in one
    pass over the rows sorted by score; the first such threshold with the best score wins.
    """
    null = sum(-profile.fn * len(f.windows) for f in files)
    perfect = sum(profile.tp * len(f.windows) for f in files)
    rows: list[tuple[float, int, float]] = []  # score, corpus-wide window id (-1: none), worth
    window_base = 0
    for f in files:
        ordered = sorted(f.windows)
        in_window, worth = row_values(len(f.scores), ordered, f.probation, profile)
        for row in range(f.probation, len(f.scores)):
            window = in_window[row]
            rows.append((float(f.scores[row]), window_base + window if window >= 0 else -1, worth[row]))
        window_base += len(ordered)
    rows.sort(key=lambda r: -r[0])
    best_in_window = [None] * window_base  # type: list[float | None]
    raw = null
    best = (0.0, math.inf)  # no detection at all: the null detector's normalised score
    i = 0
    while i < len(rows):
        threshold = rows[i][0]
        while i < len(rows) and rows[i][0] == threshold:
            _, window, value = rows[i]
            if window < 0:
                raw += value
            else:
                held = best_in_window[window]
                if held is None:
                    raw += profile.fn + value
                    best_in_window[window] = value
                elif value > held:
                    raw += value - held
                    best_in_window[window] = value
            i += 1
        score = 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0
        if score > best[0]:
            best = (score, threshold)
    return best[1], best[0]


def normalised(files: Sequence[FileScore]) -> float:
    """The corpus score: 0 for the null detector, 100 for the perfect one."""
    raw = sum(f.score for f in files)
    null = sum(f.null_score for f in files)
    perfect = sum(f.perfect_score for f in files)
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


@dataclass(frozen=True)
class EventCounts:
    """Event-level precision, recall and F1 over a corpus, with the mean detection delay."""

    precision: float
    recall: float
    f1: float
    mean_delay_rows: float | None


def event_counts(files: Sequence[FileScore]) -> EventCounts:
    """Windows detected (recall), detections that fell in a window (precision), and their harmonic mean."""
    tp = sum(f.true_positives for f in files)
    fp = sum(f.false_positives for f in files)
    fn = sum(f.false_negatives for f in files)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    delays = [d for f in files for d in f.delays]
    return EventCounts(precision, recall, f1, sum(delays) / len(delays) if delays else None)
