"""Is the machine still in an abnormal condition? The readings against the normal an alert was raised from.

A forecaster follows a new level within a few readings, so its error (and the scores built on it) falls back
while a valve is still closed. An open alert is therefore held on a second, plain question: how far do the
last ``window`` readings sit from the reference normal, as the root mean square over channels of
``(short mean - reference mean) / reference sd``? The reference starts at the training data (0 and 1 in
normalised units) and follows the stream slowly (``reference_half_life_samples``) only while no alert is open,
so an alert is judged against the normal it was raised from. The alert holds while the deviation is at least
``hold_sd``. Pure floats, O(channels) per reading (running sums, kept in the state so a restore is exact).

It also raises: :meth:`ConditionMonitor.judge` says how rare each channel's short mean is against the
normal, as a level on the scorers' scale, so a lasting change that the forecaster has learned to follow
(a valve closed, a leak) is still seen. The spread of the short mean about the normal (noise averaged over
the window, plus the slow wander of the channel) is seeded from the training rows (the model's
``short_mean_sd``) and follows the stream (``level_half_life_samples``) while the readings are normal; a
channel that wanders widens its own band. The tail is Gaussian (a mean of ``window`` readings), two-sided,
Bonferroni-corrected over channels.

It also tells when readings sit far outside what the model was trained on (``regime_sd`` training sd): the
model's scores then mean little, and the detector says so once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.core.scorers.tails import gaussian_decades

CLIP_SD = 6.0
_LOG10_2 = math.log10(2.0)
MIN_SPREAD_VAR = 1e-6  # normalised units squared: a channel that never moved still has a band
WINDOW_CLIP = 1000.0  # training sd: a value beyond enters the short window at this bound (sums stay exact)


@dataclass(frozen=True)
class ConditionSettings:
    """The short window, the hold level and how fast the reference follows."""

    window: int = 10
    hold_sd: float = 0.0  # 0: off (the level alone, the condition's included, holds an alert)
    reference_half_life_samples: float = 10000.0
    regime_sd: float = 6.0  # 0: no operating-point warning
    raises: bool = True  # the short mean's rarity raises alerts too (False: only the scorer's level does)
    level_half_life_samples: float = 1000.0  # how fast the normal short mean and its spread follow


def short_mean_sd(series: np.ndarray, segments: Sequence[tuple[int, int]], window: int) -> tuple[float, ...]:
    """Per channel, the RMS of ``window``-reading means of normalised ``series`` about 0 (the training mean),
    over each ``(start, end)`` segment's full windows: how far a short mean of normal readings strays."""
    sums = np.zeros(series.shape[1])
    count = 0
    for start, end in segments:
        part = np.asarray(series[start:end], dtype=np.float64)
        if len(part) < window:
            continue
        cumulative = np.cumsum(np.vstack([np.zeros(part.shape[1]), part]), axis=0)
        means = (cumulative[window:] - cumulative[:-window]) / window
        sums += np.square(means).sum(axis=0)
        count += len(means)
    if not count:
        return ()
    return tuple(float(max(math.sqrt(v / count), math.sqrt(MIN_SPREAD_VAR))) for v in sums)


def _z_at(decades: float) -> float:
    """The largest z whose Gaussian tail is at most ``decades`` rare (bisection; 0 when even z = 0 is rarer)."""
    low, high = 0.0, 40.0
    if gaussian_decades(low) > decades:
        return 0.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if gaussian_decades(middle) <= decades else (low, middle)
    return low


class ConditionMonitor:
    """``deviation(x)`` (pure) and ``learn_one(x, normal)`` on normalised readings."""

    label = "Python"  # how it runs (status shows it)

    def __init__(
        self,
        channels: int,
        settings: ConditionSettings,
        spread: Sequence[float] = (),
        score_decades: float = 10.0,
    ) -> None:
        """``spread``: the training rows' short-mean sd per channel (:func:`short_mean_sd`; empty: 1, the
        widest a mean of readings of sd 1 can stray); ``score_decades``: the level scale (the calibration's)."""
        self.settings = settings
        self._rate = 1.0 - math.pow(0.5, 1.0 / settings.reference_half_life_samples)
        self._level_rate = 1.0 - math.pow(0.5, 1.0 / settings.level_half_life_samples)
        self._decades = score_decades
        self._correction = math.log10(channels) + _LOG10_2  # Bonferroni over channels, two-sided
        self._z_floor2 = _z_at(self._correction) ** 2  # z^2 below it: a channel's level is 0, its tail not computed
        self.mean = [0.0] * channels
        self.var = [1.0] * channels
        seeds = [float(s) * float(s) for s in spread] if len(spread) == channels else [1.0] * channels
        self._seed = [max(v, MIN_SPREAD_VAR) for v in seeds]
        self.level_mean = [0.0] * channels
        self.level_var = list(self._seed)
        self._recent: deque[list[float]] = deque(maxlen=settings.window)
        self._sums = [0.0] * channels
        self._judged_means: tuple[Sequence[float] | None, list[float]] = (None, [])  # the last judge's short means

    def short_mean(self, x: Sequence[float]) -> list[float]:
        """The mean of the window with ``x`` taken in (nothing is changed)."""
        x = [min(max(v, -WINDOW_CLIP), WINDOW_CLIP) for v in x]
        recent = self._recent
        if len(recent) == recent.maxlen:
            oldest = recent[0]
            return [(s - o + v) / len(recent) for s, o, v in zip(self._sums, oldest, x)]
        return [(s + v) / (len(recent) + 1) for s, v in zip(self._sums, x)]

    def deviation(self, x: Sequence[float]) -> float:
        """RMS over channels of the short mean's distance from the reference, in reference sd."""
        short = self.short_mean(x)
        total = sum((m - mu) ** 2 / v for m, mu, v in zip(short, self.mean, self.var))
        return math.sqrt(total / len(short))

    def outside_training(self, x: Sequence[float]) -> list[int]:
        """Channels whose short mean and short median are both beyond ``regime_sd`` training sd (once the window
        is full): the median, so that one glitch in the window is never taken for another operating point."""
        limit = self.settings.regime_sd
        if limit <= 0 or len(self._recent) + 1 < self.settings.window:
            return []
        judged, means = self._judged_means
        if judged is not x:
            means = self.short_mean(x)
        outside = [c for c, m in enumerate(means) if abs(m) > limit]
        return [c for c in outside if abs(self.short_median(x, c)) > limit] if outside else outside

    def short_median(self, x: Sequence[float], channel: int) -> float:
        """The median of ``channel`` over the window with ``x`` taken in (nothing is changed)."""
        recent = self._recent
        kept = list(recent)[1:] if len(recent) == recent.maxlen else list(recent)
        values = sorted([row[channel] for row in kept] + [min(max(float(x[channel]), -WINDOW_CLIP), WINDOW_CLIP)])
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2

    def judge(self, x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        """How rare the short mean with ``x`` is against the normal: (level, each channel's level), on the
        scorers' scale (decades over ``score_decades``, in [0, 1]); nothing is changed. 0 while off.
        The short mean is :meth:`short_mean`'s, worked out inline per channel (this runs on every reading)."""
        channels = len(self.level_mean)
        if not self.settings.raises:
            return 0.0, (0.0,) * channels
        recent, window, bound = self._recent, self.settings.window, WINDOW_CLIP
        n = len(recent)
        oldest = recent[0] if n == window else None
        count = n if oldest is not None else n + 1
        widen = window / count  # a shorter mean strays more
        floor2, correction, decades = self._z_floor2, self._correction, self._decades
        levels = [0.0] * channels
        means = [0.0] * channels
        self._judged_means = (x, means)  # for outside_training on the same reading
        for c, (total, v, mu, var) in enumerate(zip(self._sums, x, self.level_mean, self.level_var)):
            if not -bound < v < bound:
                v = math.copysign(bound, v)
            m = ((total - oldest[c] + v) if oldest is not None else (total + v)) / count
            means[c] = m
            spread2 = var * widen
            d2 = (m - mu) * (m - mu)
            if d2 <= floor2 * spread2:
                continue  # within the floor: its tail is not rarer than the correction
            rarity = gaussian_decades(math.sqrt(d2 / spread2)) - correction
            if rarity > 0.0:
                levels[c] = rarity / decades if rarity < decades else 1.0
        return max(levels), tuple(levels)

    def holding(self, x: Sequence[float]) -> bool:
        """The readings are still away from the reference normal."""
        return self.settings.hold_sd > 0 and self.deviation(x) >= self.settings.hold_sd

    def learn_one(self, x: Sequence[float], normal: bool, level_normal: bool | None = None) -> None:
        """Take the reading into the window; into the reference only when ``normal``, into the short mean's
        normal and spread only when ``level_normal`` (default: ``normal``) and the window is full."""
        x = [float(v if -WINDOW_CLIP < v < WINDOW_CLIP else math.copysign(WINDOW_CLIP, v)) for v in x]
        self._judged_means = (None, [])
        recent = self._recent
        if len(recent) == recent.maxlen:
            self._sums = [s - o + v for s, o, v in zip(self._sums, recent[0], x)]
        else:
            self._sums = [s + v for s, v in zip(self._sums, x)]
        recent.append(x)
        if normal and self.settings.hold_sd > 0:  # the reference serves only the hold
            rate, keep = self._rate, 1.0 - self._rate
            means, variances = self.mean, self.var
            for c, (v, mean, var) in enumerate(zip(x, means, variances)):
                delta = v - mean
                if delta * delta > CLIP_SD * CLIP_SD * var:  # clipped to the reference's +- 6 sd
                    delta = math.copysign(CLIP_SD * math.sqrt(var), delta)
                means[c] = mean + rate * delta
                var = keep * (var + rate * delta * delta)
                variances[c] = var if var > 1e-6 else 1e-6
        if (normal if level_normal is None else level_normal) and len(recent) == recent.maxlen:
            self._learn_level(len(recent))

    def _learn_level(self, count: int) -> None:
        """The normal's short mean and spread take the current window's mean (of ``count`` readings)."""
        rate, keep = self._level_rate, 1.0 - self._level_rate
        means, variances = self.level_mean, self.level_var
        for c, (total, mean, var) in enumerate(zip(self._sums, means, variances)):
            delta = total / count - mean
            if delta * delta > CLIP_SD * CLIP_SD * var:  # clipped to +- 6 of its spread
                delta = math.copysign(CLIP_SD * math.sqrt(var), delta)
            means[c] = mean + rate * delta
            var = keep * (var + rate * delta * delta)
            variances[c] = var if var > MIN_SPREAD_VAR else MIN_SPREAD_VAR

    def rebase(self) -> None:
        """Accept the recent readings as the new normal (the reference mean moves to their mean)."""
        if self._recent:
            self.mean = [s / len(self._recent) for s in self._sums]
            self.level_mean = list(self.mean)

    def reset(self) -> None:
        """After a break: the window starts again."""
        self._judged_means = (None, [])
        self._recent.clear()
        self._sums = [0.0] * len(self.mean)

    def state(self) -> dict[str, Any]:
        return {
            "mean": list(self.mean),
            "var": list(self.var),
            "recent": [list(r) for r in self._recent],
            "sums": list(self._sums),
            "level_mean": list(self.level_mean),
            "level_var": list(self.level_var),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; ``ValueError`` if it does not fit."""
        channels = len(self.mean)
        mean, var, sums = ([float(v) for v in state[k]] for k in ("mean", "var", "sums"))
        recent = [[float(v) for v in row] for row in state["recent"]][-self.settings.window :]
        level_mean = [float(v) for v in state.get("level_mean", [0.0] * channels)]
        level_var = [float(v) for v in state.get("level_var", self._seed)]
        values = mean + var + sums + level_mean + level_var + [v for row in recent for v in row]
        if (
            len(level_mean) != channels
            or len(level_var) != channels
            or any(v <= 0 for v in level_var)
            or len(mean) != channels
            or len(var) != channels
            or len(sums) != channels
            or any(len(row) != channels for row in recent)
            or not all(math.isfinite(v) for v in values)
            or any(v <= 0 for v in var)
        ):
            raise ValueError(f"saved condition does not fit {channels} channels")
        self.mean, self.var, self._sums = mean, var, sums
        self.level_mean, self.level_var = level_mean, level_var
        self._judged_means = (None, [])
        self._recent.clear()
        self._recent.extend(recent)
