"""Is the machine still in an abnormal condition? The readings against the normal an alert was raised from.

A forecaster follows a new level within a few readings, so its error (and the scores built on it) falls back
while a valve is still closed. An open alert is therefore held on a second, plain question: how far do the
last ``window`` readings sit from the reference normal, as the root mean square over channels of
``(short mean - reference mean) / reference sd``? The reference starts at the training data (0 and 1 in
normalised units) and follows the stream slowly (``reference_half_life_samples``) only while no alert is open,
so an alert is judged against the normal it was raised from. The alert holds while the deviation is at least
``hold_sd``. Pure floats, O(channels) per reading (running sums, kept in the state so a restore is exact).

It also tells when readings sit far outside what the model was trained on (``regime_sd`` training sd): the
model's scores then mean little, and the detector says so once.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CLIP_SD = 6.0
WINDOW_CLIP = 1000.0  # training sd: a value beyond enters the short window at this bound (sums stay exact)


@dataclass(frozen=True)
class ConditionSettings:
    """The short window, the hold level and how fast the reference follows."""

    window: int = 10
    hold_sd: float = 1.5  # 0: alerts clear on the score alone
    reference_half_life_samples: float = 10000.0
    regime_sd: float = 6.0  # 0: no operating-point warning


class ConditionMonitor:
    """``deviation(x)`` (pure) and ``learn_one(x, normal)`` on normalised readings."""

    def __init__(self, channels: int, settings: ConditionSettings) -> None:
        self.settings = settings
        self._rate = 1.0 - math.pow(0.5, 1.0 / settings.reference_half_life_samples)
        self.mean = [0.0] * channels
        self.var = [1.0] * channels
        self._recent: deque[list[float]] = deque(maxlen=settings.window)
        self._sums = [0.0] * channels

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
        """Channels whose short mean is beyond ``regime_sd`` training sd (once the window is full)."""
        limit = self.settings.regime_sd
        if limit <= 0 or len(self._recent) + 1 < self.settings.window:
            return []
        return [c for c, m in enumerate(self.short_mean(x)) if abs(m) > limit]

    def holding(self, x: Sequence[float]) -> bool:
        """The readings are still away from the reference normal."""
        return self.settings.hold_sd > 0 and self.deviation(x) >= self.settings.hold_sd

    def learn_one(self, x: Sequence[float], normal: bool) -> None:
        """Take the reading into the window; into the reference only when ``normal``."""
        x = [float(v if -WINDOW_CLIP < v < WINDOW_CLIP else math.copysign(WINDOW_CLIP, v)) for v in x]
        recent = self._recent
        if len(recent) == recent.maxlen:
            self._sums = [s - o + v for s, o, v in zip(self._sums, recent[0], x)]
        else:
            self._sums = [s + v for s, v in zip(self._sums, x)]
        recent.append(x)
        if normal:
            rate, keep = self._rate, 1.0 - self._rate
            means, variances = self.mean, self.var
            for c, (v, mean, var) in enumerate(zip(x, means, variances)):
                delta = v - mean
                if delta * delta > CLIP_SD * CLIP_SD * var:  # clipped to the reference's +- 6 sd
                    delta = math.copysign(CLIP_SD * math.sqrt(var), delta)
                means[c] = mean + rate * delta
                var = keep * (var + rate * delta * delta)
                variances[c] = var if var > 1e-6 else 1e-6

    def rebase(self) -> None:
        """Accept the recent readings as the new normal (the reference mean moves to their mean)."""
        if self._recent:
            self.mean = [s / len(self._recent) for s in self._sums]

    def reset(self) -> None:
        """After a break: the window starts again."""
        self._recent.clear()
        self._sums = [0.0] * len(self.mean)

    def state(self) -> dict[str, Any]:
        return {
            "mean": list(self.mean),
            "var": list(self.var),
            "recent": [list(r) for r in self._recent],
            "sums": list(self._sums),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; ``ValueError`` if it does not fit."""
        channels = len(self.mean)
        mean, var, sums = ([float(v) for v in state[k]] for k in ("mean", "var", "sums"))
        recent = [[float(v) for v in row] for row in state["recent"]][-self.settings.window :]
        values = mean + var + sums + [v for row in recent for v in row]
        if (
            len(mean) != channels
            or len(var) != channels
            or len(sums) != channels
            or any(len(row) != channels for row in recent)
            or not all(math.isfinite(v) for v in values)
            or any(v <= 0 for v in var)
        ):
            raise ValueError(f"saved condition does not fit {channels} channels")
        self.mean, self.var, self._sums = mean, var, sums
        self._recent.clear()
        self._recent.extend(recent)
