"""Anomaly likelihood: how rare the recent error is under its own slowly learned distribution (the default).

As Numenta's anomaly likelihood does for HTM, rarity is not the error itself but the tail probability of its
short-term mean (the last ``window`` readings) under a distribution whose mean and variance follow the
long-term average of that mean (``half_life_samples``). Per channel, three things are watched:

- the LSTM's forecast error, its distribution seeded from the model's calibration (worth 50 readings);
- with ``season_lag`` (a day, in samples), the seasonal error: the reading against the one a season ago,
  learned from the stream first (``season_learn_samples``), silently;
- the range seen so far (from the training data's mean +- 3 sd): a reading beyond it by more than
  ``spatial_margin`` of its width is as rare as the score scale can say.

Robust by construction: the range and the season learn from the median of the last three readings, so one
glitch never enters them; a distribution learns a value clipped to ``clip_sd`` of its spread from its mean;
neither the range nor the distributions learn while the protection wrapper says the reading is not normal
(a level beyond the range stays rare while an alert is open, until it is accepted as the new normal).

``level`` (what alerts are decided on) is the rarest of those, Bonferroni-corrected, over ``score_decades``.
``score`` (the ``anomaly_score``) is only the rarity that the recent past did not already show: the level
minus a memory of the levels before the last ``window // 2`` readings, which halves every
``novelty_half_life_samples`` readings. It is sharp at the onset of a change (its first readings are
not yet in the memory) and back down once the change has been seen; the alert's hold is the job of
:mod:`edge.condition`. Plain floats: O(window) work per reading, O(season_lag) memory per channel.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.calibration import Calibration
from edge.scorers.base import Judgement, finite
from edge.scorers.tails import TAILS

_HALF_NORMAL_MEAN = math.sqrt(2.0 / math.pi)  # E|r| for r ~ N(0, 1)
_HALF_NORMAL_VAR = 1.0 - 2.0 / math.pi
PRIOR_SAMPLES = 50


@dataclass(frozen=True)
class LikelihoodSettings:
    """The short window, how fast the long-term distribution follows, the season, range and novelty."""

    window: int = 10
    half_life_samples: float = 1000.0
    season_lag: int = 0  # samples in one season (0: no seasonal error)
    season_learn_samples: int = 200
    spatial_margin: float = 0.2  # share of the seen range a reading must go beyond (0: no range check)
    novelty_half_life_samples: float = 1000.0  # 0: the score is the level itself
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
        self.mean = 0.0 if scale is None else scale * _HALF_NORMAL_MEAN
        self.var = 0.0 if scale is None else scale * scale * _HALF_NORMAL_VAR / settings.window
        self.floor = 1e-12 if scale is None else self.var * 1e-4
        self.seen = 0
        self.prior = 0 if scale is None else PRIOR_SAMPLES

    def z(self, average: float, filled: int) -> float | None:
        """How many spreads ``average`` (of ``filled`` values) lies above the mean; None while learning."""
        if self.seen < self.learn_samples:
            return None
        spread = math.sqrt(max(self.var, self.floor) * self.window / filled)  # a filling window is noisier
        return (average - self.mean) / spread

    def learn(self, average: float) -> None:
        if self.seen >= max(self.learn_samples, 1) and self.var > 0.0:
            average = min(average, self.mean + self.clip_sd * math.sqrt(self.var))
        rate = max(self.rate, 1.0 / (self.prior + self.seen + 1))
        delta = average - self.mean
        self.mean += rate * delta
        self.var = (1.0 - rate) * (self.var + rate * delta * delta)
        self.seen += 1

    def state(self) -> list[float]:
        return [self.mean, self.var, self.seen]

    def restore(self, state: Sequence[Any]) -> None:
        mean, var, seen = float(state[0]), float(state[1]), int(state[2])
        if not (math.isfinite(mean) and math.isfinite(var) and var >= 0.0 and seen >= 0):
            raise ValueError("saved error distribution is not finite")
        self.mean, self.var, self.seen = mean, var, seen


def _median3(values: Sequence[float]) -> float:
    if len(values) < 3:
        return values[-1]
    a, b, c = values[-3], values[-2], values[-1]
    return max(min(a, b), min(max(a, b), c))


@dataclass
class _Pending:
    """What ``score_one`` worked out, for ``learn_one`` on the same reading."""

    key: tuple[tuple[float, ...], tuple[float, ...]]
    errors: list[float]
    seasonal: list[float] | None
    level_decades: float
    judgement: Judgement


class LikelihoodScorer:
    """``score_one`` → a :class:`Judgement` (no state change); ``learn_one`` learns."""

    novelty = True

    def __init__(self, calibration: Calibration, settings: LikelihoodSettings) -> None:
        if settings.tail not in TAILS:
            raise ValueError(f"tail {settings.tail!r} is not one of {', '.join(TAILS)}")
        self.settings = settings
        self._tail = TAILS[settings.tail]
        self._decades = calibration.score_decades
        scales = [float(s) for s in calibration.residual_scale]
        self._channels = len(scales)
        self._forecast = [ErrorDistribution(settings, s) for s in scales]
        lag = settings.season_lag
        self._seasonal = [ErrorDistribution(settings, None, settings.season_learn_samples) for _ in scales] \
            if lag else []
        self._correction = math.log10(len(scales) * (2 if lag else 1))  # Bonferroni over the streams watched
        self._novelty_keep = math.pow(0.5, 1.0 / settings.novelty_half_life_samples) \
            if settings.novelty_half_life_samples > 0 else 0.0
        self._low, self._high = [-3.0] * len(scales), [3.0] * len(scales)  # normalised: training mean +- 3 sd
        self._pending: _Pending | None = None
        self._clear_context()
        self._memory = 0.0
        self.learned = 0
        self.protected = 0

    def _clear_context(self) -> None:
        window = self.settings.window
        self._recent = [deque(maxlen=window) for _ in range(self._channels)]
        self._recent_seasonal = [deque(maxlen=window) for _ in range(self._channels)]
        self._last3: deque[list[float]] = deque(maxlen=3)
        self._levels: deque[float] = deque(maxlen=max(1, window // 2))  # not yet in the novelty memory
        self._past: deque[list[float]] = deque(maxlen=max(1, self.settings.season_lag))
        self._pending = None

    @property
    def residual_scale(self) -> np.ndarray:
        """The forecast-error level in use now, per channel, as a residual scale (normalised units)."""
        return np.asarray([d.mean for d in self._forecast]) / _HALF_NORMAL_MEAN

    def reset(self) -> None:
        """After a break in the stream: forget the short windows and the last season (no longer aligned)."""
        self._clear_context()

    def _filtered(self, observed: list[float]) -> list[float]:
        """The median of the last three readings per channel, this one included."""
        rows = [*list(self._last3)[-2:], observed]
        return [_median3([row[c] for row in rows]) for c in range(self._channels)]

    def _evaluate(self, residual: Sequence[float], observed: Sequence[float]) -> _Pending:
        r, x = finite(residual, "residual"), finite(observed, "reading")
        key = (tuple(r), tuple(x))
        if self._pending is not None and self._pending.key == key:
            return self._pending
        tail, decades = self._tail, self._decades
        errors = [abs(v) for v in r]
        rarity = []
        for c, (distribution, error) in enumerate(zip(self._forecast, errors)):
            recent = self._recent[c]
            window = [*recent, error][-self.settings.window:]
            z = distribution.z(sum(window) / len(window), len(window))
            rarity.append(0.0 if z is None else tail(z))
        seasonal = None
        lag = self.settings.season_lag
        if lag and len(self._past) == lag:
            seasonal = [abs(v - old) for v, old in zip(x, self._past[0])]
            for c, (distribution, error) in enumerate(zip(self._seasonal, seasonal)):
                window = [*self._recent_seasonal[c], error][-self.settings.window:]
                z = distribution.z(sum(window) / len(window), len(window))
                if z is not None:
                    rarity[c] = max(rarity[c], tail(z))
        margin = self.settings.spatial_margin
        if margin > 0:
            for c, v in enumerate(x):
                low, high = self._low[c], self._high[c]
                reach = margin * (high - low)
                if v > high + reach or v < low - reach:
                    rarity[c] = max(rarity[c], decades)  # never seen, by far: as rare as the scale says
        overall = max(0.0, max(rarity) - self._correction)
        novel = max(0.0, overall - self._memory) if self._novelty_keep else overall
        judgement = Judgement(min(1.0, overall / decades), min(1.0, novel / decades),
                              tuple(min(1.0, v / decades) for v in rarity))
        self._pending = _Pending(key, errors, seasonal, overall, judgement)
        return self._pending

    def score_one(self, residual: Sequence[float], observed: Sequence[float]) -> Judgement:
        """Judge one normalised residual vector and reading; nothing is learned."""
        return self._evaluate(residual, observed).judgement

    def learn_one(self, residual: Sequence[float], observed: Sequence[float], normal: bool = True) -> None:
        """Take the reading into the windows, the season, the range and the memory; into the error
        distributions only when ``normal``."""
        pending = self._evaluate(residual, observed)
        x = list(pending.key[1])
        for c, error in enumerate(pending.errors):
            self._recent[c].append(error)
            if normal:
                self._forecast[c].learn(sum(self._recent[c]) / len(self._recent[c]))
        if pending.seasonal is not None:
            for c, error in enumerate(pending.seasonal):
                self._recent_seasonal[c].append(error)
                if normal:
                    self._seasonal[c].learn(sum(self._recent_seasonal[c]) / len(self._recent_seasonal[c]))
        self._advance(x, grow_range=normal)
        levels = self._levels
        aged = levels[0] if len(levels) == levels.maxlen else 0.0
        levels.append(pending.level_decades)
        self._memory = max(aged, self._memory * self._novelty_keep)
        self._pending = None
        if normal:
            self.learned += 1
        else:
            self.protected += 1

    def bridge_one(self, observed: Sequence[float]) -> None:
        """A reading that was not scored (filled with the forecast): keep the season aligned; the range learns
        only from readings."""
        self._advance(finite(observed, "reading"), grow_range=False)
        self._pending = None

    def _advance(self, x: list[float], grow_range: bool = True) -> None:
        filtered = self._filtered(x)
        self._last3.append(x)
        if grow_range:
            for c, v in enumerate(filtered):
                self._low[c], self._high[c] = min(self._low[c], v), max(self._high[c], v)
        if self.settings.season_lag:
            self._past.append(filtered)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        return {"kind": "likelihood", "forecast": [d.state() for d in self._forecast],
                "seasonal": [d.state() for d in self._seasonal],
                "recent": [list(r) for r in self._recent], "recent_seasonal": [list(r) for r in self._recent_seasonal],
                "last3": list(self._last3), "past": list(self._past) if self.settings.season_lag else [],
                "range": [list(self._low), list(self._high)], "memory": self._memory,
                "levels": list(self._levels),
                "learned": self.learned, "protected": self.protected}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` if it does not fit this model."""
        if not isinstance(state, dict) or state.get("kind") != "likelihood":
            raise ValueError("saved scorer state is not a likelihood scorer's")
        channels, lag, window = self._channels, self.settings.season_lag, self.settings.window
        forecast, seasonal = list(state["forecast"]), list(state.get("seasonal", []))
        if len(forecast) != channels or len(seasonal) not in (0, len(self._seasonal)):
            raise ValueError(f"saved distribution has {len(forecast)} channels, expected {channels}")

        def rows(key: str, width: int) -> list[list[float]]:
            out = [finite(row, f"saved {key}") for row in state.get(key, [])]
            if any(len(row) != width for row in out):
                raise ValueError(f"saved {key} rows are not {width} values wide")
            return out

        recent = [finite(r, "saved window")[-window:] for r in state.get("recent", [[]] * channels)]
        recent_seasonal = [finite(r, "saved window")[-window:]
                           for r in state.get("recent_seasonal", [[]] * channels)]
        if len(recent) != channels or len(recent_seasonal) != channels:
            raise ValueError(f"saved windows are not {channels} channels")
        last3, past = rows("last3", channels)[-3:], rows("past", channels)[-lag:] if lag else []
        low, high = (finite(side, "saved range") for side in state.get("range", [self._low, self._high]))
        memory = float(state.get("memory", 0.0))
        if len(low) != channels or len(high) != channels or not math.isfinite(memory):
            raise ValueError("saved range or memory does not fit this model")
        for distribution, saved in zip(self._forecast, forecast):
            distribution.restore(saved)
        for distribution, saved in zip(self._seasonal, seasonal):
            distribution.restore(saved)
        self._clear_context()
        for target, saved in zip(self._recent + self._recent_seasonal, recent + recent_seasonal):
            target.extend(saved)
        self._last3.extend(last3)
        self._past.extend(past)
        self._low, self._high, self._memory = low, high, memory
        self._levels.extend(finite(state.get("levels", []), "saved levels")[-self._levels.maxlen:])
        self.learned, self.protected = int(state.get("learned", 0)), int(state.get("protected", 0))
