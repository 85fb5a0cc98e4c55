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


def score_file(detections: Sequence[bool], windows: Sequence[tuple[int, int]], probation: int,
               profile: Profile = STANDARD) -> FileScore:
    """Score one file's per-row detections against its windows (row index pairs, inclusive).

    >>> s = score_file([False] * 10 + [True] + [False] * 9, [(8, 12)], probation=2)
    >>> s.true_positives, s.false_positives, s.false_negatives, round(s.score, 3)
    (1, 0, 0, 0.917)
    """
    ordered = sorted(windows)
    in_window = [-1] * len(detections)
    for index, (start, end) in enumerate(ordered):
        for row in range(max(start, 0), min(end, len(detections) - 1) + 1):
            in_window[row] = index
    detected: dict[int, int] = {}
    score, false_positives = 0.0, 0
    previous: tuple[int, int] | None = None  # the last window that ended before the current row
    for row, fired in enumerate(detections):
        window = in_window[row]
        if window >= 0:
            previous = ordered[window]
        if not fired or row < probation:
            continue
        if window >= 0:
            if window not in detected:
                start, end = ordered[window]
                detected[window] = row
                score += profile.tp * scaled_sigmoid(-(end - row + 1) / (end - start + 1)) / MAX_TP
        else:
            false_positives += 1
            if previous is None:
                score += -1.0 * profile.fp
            else:
                start, end = previous
                score += scaled_sigmoid(abs(end - row) / max(end - start, 1)) * profile.fp
    misses = len(ordered) - len(detected)
    score -= profile.fn * misses
    delays = tuple(row - ordered[window][0] for window, row in sorted(detected.items()))
    return FileScore(score, -profile.fn * len(ordered), profile.tp * len(ordered), len(detected),
                     false_positives, misses, delays)


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
