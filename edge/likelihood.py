"""Anomaly likelihood: how rare the recent error is under its own slowly learned distribution.

As Numenta's anomaly likelihood does for HTM, the score is not the error itself but the tail
probability of its short-term average (the last ``window`` samples) under a Gaussian whose mean and
variance follow the long-term average of that same quantity (an exponential average with
``half_life_samples``). A level that stays high long enough becomes normal; a change stands out
however noisy the signal is. Two errors are watched per channel:

- the LSTM's forecast error, whose distribution starts from the model's calibration (no learning period;
  it weighs as much as 50 readings, so the sensor's own error level takes over soon);
- with ``season_lag`` samples (a day, from the model's sample period), the seasonal error: the reading
  minus the reading one season ago. It catches a day that differs from the day before, which a
  forecaster that sees the last ``window`` samples cannot; its distribution is learned from the stream
  first (``season_learn_samples``), silently.

And, as Numenta's detector does, a reading beyond the range seen so far by more than ``spatial_margin``
of that range is scored as rare as can be: a level the sensor has never shown. The range starts at the
training data's mean +- 3 sd and grows with every reading.

Scores use the calibration's scale, ``-log10(tail) / score_decades`` clipped to [0, 1], so a threshold
means the same rarity as with :class:`edge.scoring.AdaptiveScorer`. Plain floats, O(window) work per
sample, O(season_lag) memory per channel.
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
PRIOR_SAMPLES = 50


@dataclass(frozen=True)
class LikelihoodSettings:
    """The short averaging window, how fast the long-term distribution follows, and the season."""

    window: int = 10
    half_life_samples: float = 1000.0
    season_lag: int = 0  # samples in one season (0: no seasonal error)
    season_learn_samples: int = 200
    spatial_margin: float = 0.0  # share of the seen range a reading must go beyond (0: no range check)


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


class ErrorDistribution:
    """One error stream: its recent mean, and the slowly learned distribution of that mean."""

    def __init__(self, window: int, half_life_samples: float, scale: float | None, learn_samples: int = 0) -> None:
        self.window = window
        self.rate = 1.0 - math.pow(0.5, 1.0 / half_life_samples)
        self.learn_samples = learn_samples
        self.recent: deque[float] = deque(maxlen=window)
        # seeded from a residual scale s: the mean of |r| for r ~ N(0, s^2), and its variance over the window
        self.mean = 0.0 if scale is None else scale * _HALF_NORMAL_MEAN
        self.var = 0.0 if scale is None else scale * scale * _HALF_NORMAL_VAR / window
        self.floor = 1e-12 if scale is None else self.var * 1e-4
        self.seen = 0
        # a seeded distribution counts as PRIOR_SAMPLES samples: the stream's own level replaces it within
        # a few hundred readings, not a few half-lives (a model's live error is rarely its validation error)
        self.prior = 0 if scale is None else PRIOR_SAMPLES

    def score(self, error: float) -> float:
        """-log10 of how rare the recent mean of ``|error|`` is (0 while still learning); then learn it."""
        recent = self.recent
        recent.append(abs(error))
        average = sum(recent) / len(recent)  # summed afresh: a restored window gives the same bits
        decades = 0.0
        if self.seen >= self.learn_samples:
            # a window still filling is a noisier average: widen the spread accordingly
            spread = math.sqrt(max(self.var, self.floor) * self.window / len(recent))
            decades = upper_tail_decades((average - self.mean) / spread)
        # the plain running mean and variance while young, then the slow exponential average
        rate = max(self.rate, 1.0 / (self.prior + self.seen + 1))
        delta = average - self.mean
        self.mean += rate * delta
        self.var = (1.0 - rate) * (self.var + rate * delta * delta)
        self.seen += 1
        return decades

    def state(self) -> list[Any]:
        return [self.mean, self.var, self.seen, list(self.recent)]

    def restore(self, state: Sequence[Any]) -> None:
        mean, var, seen, recent = float(state[0]), float(state[1]), int(state[2]), state[3]
        if not (math.isfinite(mean) and math.isfinite(var)):
            raise ValueError("saved error distribution is not finite")
        self.mean, self.var, self.seen = mean, var, seen
        self.recent.clear()
        self.recent.extend(float(e) for e in recent[-self.window:])


class LikelihoodScorer:
    """``score_one(residual, observed)`` → overall and per-channel scores; always learns."""

    def __init__(self, calibration: Calibration, settings: LikelihoodSettings) -> None:
        self.settings = settings
        self._decades = calibration.score_decades
        scales = [float(s) for s in calibration.residual_scale]
        self._forecast = [ErrorDistribution(settings.window, settings.half_life_samples, s) for s in scales]
        lag = settings.season_lag
        self._seasonal = [ErrorDistribution(settings.window, settings.half_life_samples, None,
                                            settings.season_learn_samples) for _ in scales] if lag else []
        self._past: deque[list[float]] = deque(maxlen=lag) if lag else deque(maxlen=1)
        self._correction = math.log10(len(scales) * (2 if lag else 1))  # Bonferroni over the streams watched
        # normalised units: the training data's mean +- 3 sd
        self._low, self._high = [-3.0] * len(scales), [3.0] * len(scales)
        self.learned = 0
        self.protected = 0  # this scorer learns from every sample; kept for the status counters

    @property
    def residual_scale(self) -> np.ndarray:
        """The forecast-error level in use now, per channel, as a residual scale (normalised units)."""
        return np.asarray([d.mean for d in self._forecast]) / _HALF_NORMAL_MEAN

    def reset(self) -> None:
        """After a break in the stream: forget the short windows and the last season (no longer aligned)."""
        for distribution in self._forecast + self._seasonal:
            distribution.recent.clear()
        self._past.clear()

    def score_one(self, residual: Sequence[float] | np.ndarray,
                  observed: Sequence[float] | None = None) -> tuple[float, list[float]]:
        """Score one normalised residual vector (and the normalised reading, for the season); then learn."""
        values = residual.tolist() if isinstance(residual, np.ndarray) else residual
        rarity = [d.score(r) for d, r in zip(self._forecast, values)]
        if self._seasonal and observed is not None:
            past = self._past
            if len(past) == past.maxlen:
                rarity = [max(a, d.score(x - old)) for a, d, x, old in zip(rarity, self._seasonal, observed, past[0])]
            past.append(list(observed))
        margin = self.settings.spatial_margin
        if margin > 0 and observed is not None:
            for c, x in enumerate(observed):
                low, high = self._low[c], self._high[c]
                reach = margin * (high - low)
                if x > high + reach or x < low - reach:
                    rarity[c] = 2.0 * self._decades  # never seen, by far: as rare as a score can say
                self._low[c], self._high[c] = min(low, x), max(high, x)
        self.learned += 1
        decades = self._decades
        per_channel = [min(1.0, r / decades) for r in rarity]
        overall = max(0.0, max(rarity, default=0.0) - self._correction) / decades
        return min(1.0, overall), per_channel

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        return {"kind": "likelihood", "forecast": [d.state() for d in self._forecast],
                "seasonal": [d.state() for d in self._seasonal], "past": list(self._past) if self._seasonal else [],
                "range": [self._low, self._high], "learned": self.learned}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` if it does not fit this model."""
        if state.get("kind") != "likelihood":
            raise ValueError("saved scorer state is not a likelihood scorer's")
        forecast, seasonal = state["forecast"], state.get("seasonal", [])
        if len(forecast) != len(self._forecast) or len(seasonal) not in (0, len(self._seasonal)):
            raise ValueError(f"saved distribution has {len(forecast)} channels, expected {len(self._forecast)}")
        for distribution, saved in zip(self._forecast, forecast):
            distribution.restore(saved)
        for distribution, saved in zip(self._seasonal, seasonal):
            distribution.restore(saved)
        self._past.clear()
        if self._seasonal and len(seasonal) == len(self._seasonal):
            self._past.extend([float(v) for v in row] for row in state.get("past", [])[-self.settings.season_lag:])
        if "range" in state:
            low, high = ([float(v) for v in side] for side in state["range"])
            if len(low) == len(high) == len(self._low):
                self._low, self._high = low, high
        self.learned = int(state.get("learned", 0))
