"""The likelihood scorer's settings, and the slowly learned distribution of a recent mean error it judges by."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HALF_NORMAL_MEAN = math.sqrt(2.0 / math.pi)  # E|r| for r ~ N(0, 1)
HALF_NORMAL_VAR = 1.0 - 2.0 / math.pi
PRIOR_SAMPLES = 500


@dataclass(frozen=True)
class LikelihoodSettings:
    """The short window, how fast the long-term distribution follows, the season, range and novelty."""

    window: int = 10
    half_life_samples: float = 1000.0
    season_lag: int = 0  # samples in one season (0: no seasonal error)
    season_learn_samples: int = 200
    long_season_lag: int = 0  # samples in a longer season (a week) that may explain a reading too (0: none)
    spatial_margin: float = 0.2  # share of the seen range a reading must go beyond (0: no range check)
    novelty_half_life_samples: float = 3000.0  # 0: the score is the level itself
    tail: str = "student3"  # or "gaussian"
    clip_sd: float = 6.0


class ErrorDistribution:
    """One error stream: the slowly learned mean and variance of its short-term mean."""

    def __init__(self, settings: LikelihoodSettings, scale: float | None, learn_samples: int = 0) -> None:
        self.window = settings.window
        self.rate = 1.0 - math.pow(0.5, 1.0 / settings.half_life_samples)
        self.clip_sd = settings.clip_sd
        self.learn_samples = learn_samples
        # seeded from a residual scale s: the mean of |r| for r ~ N(0, s^2), and its variance over the window
        self.mean = 0.0 if scale is None else scale * HALF_NORMAL_MEAN
        self.var = 0.0 if scale is None else scale * scale * HALF_NORMAL_VAR / settings.window
        self.floor = 1e-12 if scale is None else self.var * 1e-4
        self.seen = 0
        self.prior = 0 if scale is None else PRIOR_SAMPLES
        self.spread = math.sqrt(max(self.var, self.floor))

    def z(self, recent: deque[float], total: float, value: float) -> float:
        """How many spreads the window mean with ``value`` taken in lies above the mean (nothing changes)."""
        n, window = len(recent), self.window
        if n == window:
            return ((total - recent[0] + value) / n - self.mean) / self.spread
        return ((total + value) / (n + 1) - self.mean) / (self.spread * math.sqrt(window / (n + 1)))  # noisier

    def learn(self, average: float) -> None:
        seen, mean = self.seen, self.mean
        if seen >= self.learn_samples and seen and self.var > 0.0:
            cap = mean + self.clip_sd * self.spread
            if average > cap:
                average = cap
        young = 1.0 / (self.prior + seen + 1)
        rate = young if young > self.rate else self.rate
        delta = average - mean
        self.mean = mean + rate * delta
        var = (1.0 - rate) * (self.var + rate * delta * delta)
        self.var = var
        self.seen = seen + 1
        self.spread = math.sqrt(var if var > self.floor else self.floor)

    def state(self) -> list[float]:
        return [self.mean, self.var, self.seen]

    def restore(self, state: Sequence[Any]) -> None:
        mean, var, seen = float(state[0]), float(state[1]), int(state[2])
        if not (math.isfinite(mean) and math.isfinite(var) and var >= 0.0 and seen >= 0):
            raise ValueError("saved error distribution is not finite")
        self.mean, self.var, self.seen = mean, var, seen
        self.spread = math.sqrt(max(self.var, self.floor))
