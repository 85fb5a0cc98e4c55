"""Anomaly likelihood: how rare the recent forecast error is under its own slowly learned distribution.

As Numenta's anomaly likelihood does for HTM, the score is not the error itself but the tail
probability of its short-term average (the last ``window`` samples) under a Gaussian whose mean and
variance follow the long-term average of that same quantity (an exponential average with
``half_life_samples``). A level that stays high long enough becomes normal; a change stands out
however noisy the signal is. Per channel, on plain floats, O(window) memory and work.

The scores use the calibration's scale: ``-log10(tail) / score_decades``, clipped to [0, 1], so a
threshold means the same rarity as with :class:`edge.scoring.AdaptiveScorer`. The distribution starts
from the calibration (the residual scale of held-out data), so no learning period is needed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.calibration import Calibration

_SQRT2 = math.sqrt(2.0)
_HALF_NORMAL_MEAN = math.sqrt(2.0 / math.pi)  # E|r| for r ~ N(0, 1)
_HALF_NORMAL_VAR = 1.0 - 2.0 / math.pi


@dataclass(frozen=True)
class LikelihoodSettings:
    """The short averaging window and how fast the long-term distribution follows the data."""

    window: int = 10
    half_life_samples: float = 1000.0


def upper_tail_decades(z: float) -> float:
    """-log10 of the standard normal's upper tail at ``z``, accurate far into the tail.

    >>> round(upper_tail_decades(0.0), 3), round(upper_tail_decades(3.0), 2), round(upper_tail_decades(40.0), 1)
    (0.301, 2.87, 349.4)
    """
    if z < 30.0:  # erfc is exact here; beyond, it underflows towards 0
        return -math.log10(max(0.5 * math.erfc(z / _SQRT2), 1e-300))
    # Mills ratio: tail ~ phi(z) / z (1 - 1/z^2)
    log_tail = -0.5 * z * z - math.log(z * math.sqrt(2.0 * math.pi)) + math.log1p(-1.0 / (z * z))
    return -log_tail / math.log(10.0)


class LikelihoodScorer:
    """``score_one(residual)`` → overall and per-channel scores; always learns (the distribution is slow)."""

    def __init__(self, calibration: Calibration, settings: LikelihoodSettings) -> None:
        self.settings = settings
        self._decades = calibration.score_decades
        scales = [float(s) for s in calibration.residual_scale]
        # the short average of |r| for r ~ N(0, s^2): mean s*sqrt(2/pi), variance s^2 (1 - 2/pi) / window
        self._mean = [s * _HALF_NORMAL_MEAN for s in scales]
        self._var = [s * s * _HALF_NORMAL_VAR / settings.window for s in scales]
        self._floor = [v * 1e-4 for v in self._var]
        self._rate = 1.0 - math.pow(0.5, 1.0 / settings.half_life_samples)
        self._recent: list[deque[float]] = [deque(maxlen=settings.window) for _ in scales]
        self.learned = 0
        self.protected = 0  # this scorer learns from every sample; kept for the status counters

    @property
    def residual_scale(self) -> np.ndarray:
        """The error level in use now, per channel, as a residual scale (normalised units)."""
        return np.asarray(self._mean) / _HALF_NORMAL_MEAN

    def reset(self) -> None:
        """Forget the short window after a break in the stream; the learned distribution stays."""
        for recent in self._recent:
            recent.clear()

    def score_one(self, residual: Sequence[float] | np.ndarray) -> tuple[float, list[float]]:
        """Score one normalised residual vector, then learn from it."""
        values = residual.tolist() if isinstance(residual, np.ndarray) else residual
        rate, decades = self._rate, self._decades
        per_channel, rarest = [], 0.0
        for c, r in enumerate(values):
            recent = self._recent[c]
            recent.append(abs(r))
            average = sum(recent) / len(recent)  # summed afresh: a restored window gives the same bits
            mean, var = self._mean[c], self._var[c]
            # a short window still filling is a noisier average: widen the spread accordingly
            spread = math.sqrt(var * self.settings.window / len(recent))
            tail = upper_tail_decades((average - mean) / spread)
            rarest = max(rarest, tail)
            per_channel.append(min(1.0, tail / decades))
            delta = average - mean
            self._mean[c] = mean + rate * delta
            self._var[c] = max(self._floor[c], (1.0 - rate) * (var + rate * delta * delta))
        self.learned += 1
        # the rarest channel, with a Bonferroni correction for looking at several
        overall = max(0.0, rarest - math.log10(len(values))) / decades if values else 0.0
        return min(1.0, overall), per_channel

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        return {"kind": "likelihood", "mean": list(self._mean), "var": list(self._var),
                "recent": [list(r) for r in self._recent], "learned": self.learned}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` if it does not fit this model."""
        if state.get("kind") != "likelihood":
            raise ValueError("saved scorer state is not a likelihood scorer's")
        mean, var = [float(m) for m in state["mean"]], [float(v) for v in state["var"]]
        if len(mean) != len(self._mean) or len(var) != len(self._var) or \
                not all(math.isfinite(x) for x in mean + var):
            raise ValueError(f"saved distribution has {len(mean)} channels, expected {len(self._mean)}")
        self._mean, self._var = mean, [max(f, v) for f, v in zip(self._floor, var)]
        self.reset()
        for c, errors in enumerate(state.get("recent", [])[:len(self._recent)]):
            self._recent[c].extend(float(error) for error in errors[-self.settings.window:])
        self.learned = int(state.get("learned", 0))
