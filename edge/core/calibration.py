"""How forecast errors become anomaly scores in [0, 1]: pure numpy, shared by export and runtime.

Each new residual (observed minus forecast, in normalised units) is divided by the
channel's residual scale and squared; an exponentially weighted mean of those
squares (``smoothing`` is the weight of the newest one; 1 means none) gives a
per-channel statistic ``sqrt(m_c)`` and an overall one ``sqrt(mean_c m_c)``.
Above a high quantile ``level`` of the calibration data, the statistic's tail is
modelled as exponential (peaks over threshold, the generalised Pareto with shape
0), which extrapolates tail probabilities far beyond what the held-out data can
show. A score is the surprise ``-log10 P(statistic > x)`` divided by
``score_decades``, clipped to [0, 1]: a score of 0.5 with 10 decades means
"seen once in 10^5 normal samples".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

METHOD = "pot-exponential/1"
_LN10 = math.log(10.0)
_SECONDS_PER_DAY = 86_400.0
MIN_TAIL_SCALE = 0.05  # statistics are in residual-scale units, where a normal error's tail scale is about 0.4


@dataclass(frozen=True)
class TailFit:
    """Exponential tail of a statistic: ``P(X > x) = fraction * exp(-(x - level) / scale)``."""

    level: float
    scale: float
    fraction: float

    def surprise(self, x: float | np.ndarray) -> float | np.ndarray:
        """``-log10 P(X > x)``, at least 0."""
        return np.maximum(0.0, -math.log10(self.fraction) + (x - self.level) / (self.scale * _LN10))


def fit_tail(values: np.ndarray, quantile: float = 0.9, min_scale: float = 0.0) -> TailFit:
    """Fit the exponential tail above the ``quantile`` of ``values`` by maximum likelihood.

    ``min_scale`` bounds the tail's scale from below (statistics that barely vary, as a constant
    channel's, would otherwise make the smallest wobble look astronomically rare).
    """
    values = np.asarray(values, dtype=np.float64)
    level = float(np.quantile(values, quantile))
    excess = values[values > level] - level
    floor = max(1e-12, 1e-6 * abs(level), min_scale)
    if excess.size == 0:
        return TailFit(level=level, scale=floor, fraction=1.0 / values.size)
    return TailFit(level=level, scale=max(float(excess.mean()), floor), fraction=excess.size / values.size)


def threshold_for(false_alarms_per_day: float, sample_period_s: float, score_decades: float) -> float:
    """The score whose tail probability per sample gives the wanted false alarms per day."""
    samples_per_day = _SECONDS_PER_DAY / sample_period_s
    probability = false_alarms_per_day / samples_per_day
    if not 0.0 < probability < 1.0:
        raise ValueError(
            f"{false_alarms_per_day} false alarms per day at one sample every {sample_period_s:g} s "
            f"is {probability:.3g} per sample; it must be above 0 and below 1"
        )
    return min(1.0, -math.log10(probability) / score_decades)


@dataclass(frozen=True)
class Calibration:
    """Everything needed to turn residuals into scores and decide, as stored in the model."""

    residual_scale: tuple[float, ...]
    channel_tails: tuple[TailFit, ...]
    overall_tail: TailFit
    smoothing: float
    score_decades: float
    threshold: float
    false_alarms_per_day: float
    sample_period_s: float
    samples: int
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on an unknown method."""
        if data.get("method") != METHOD:
            raise ValueError(f"calibration method {data.get('method')!r} is not {METHOD!r}")
        fields = dict(data)
        fields["residual_scale"] = tuple(float(s) for s in data["residual_scale"])
        fields["channel_tails"] = tuple(TailFit(**t) for t in data["channel_tails"])
        fields["overall_tail"] = TailFit(**data["overall_tail"])
        return cls(**fields)


class ErrorScorer:
    """Streaming scorer: one residual vector in, overall and per-channel scores out.

    The per-sample path works on plain floats: with a handful of channels, numpy's
    per-call overhead would cost more than the arithmetic. Results equal the numpy form.
    """

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration
        self._inverse_scale = [1.0 / float(s) for s in calibration.residual_scale]
        tails = calibration.channel_tails
        self._levels = [t.level for t in tails]
        self._offsets = [-math.log10(t.fraction) for t in tails]
        self._slopes = [1.0 / (t.scale * _LN10) for t in tails]
        overall = calibration.overall_tail
        self._overall = (overall.level, -math.log10(overall.fraction), 1.0 / (overall.scale * _LN10))
        self._alpha = calibration.smoothing
        self._decades = calibration.score_decades
        self._mean_square: list[float] | None = None

    def reset(self) -> None:
        """Forget the smoothing state (after a gap in the data)."""
        self._mean_square = None

    def rescale(self, residual_scale: Sequence[float]) -> None:
        """Use new per-channel residual scales (online adaptation); the tails stay."""
        self._inverse_scale = [1.0 / float(s) for s in residual_scale]

    @property
    def smoothing_state(self) -> list[float] | None:
        """The smoothed squared errors, for checkpoints (None right after a reset)."""
        return None if self._mean_square is None else list(self._mean_square)

    @smoothing_state.setter
    def smoothing_state(self, value: Sequence[float] | None) -> None:
        self._mean_square = None if value is None else [float(v) for v in value]

    def peek(self, residual: Sequence[float] | np.ndarray) -> tuple[float, list[float], list[float]]:
        """The overall and per-channel statistics with ``residual`` taken in, and the new smoothing state;
        nothing is changed (:meth:`commit` takes the state)."""
        values = residual.tolist() if isinstance(residual, np.ndarray) else residual
        squared = [(r * k) ** 2 for r, k in zip(values, self._inverse_scale)]
        previous = self._mean_square
        if previous is None:
            current = squared
        else:
            alpha = self._alpha
            current = [alpha * s + (1.0 - alpha) * m for s, m in zip(squared, previous)]
        return math.sqrt(sum(current) / len(current)), [math.sqrt(m) for m in current], current

    def commit(self, smoothing: list[float]) -> None:
        """Keep the smoothing state a :meth:`peek` returned."""
        self._mean_square = smoothing

    def statistics_one(self, residual: Sequence[float] | np.ndarray) -> tuple[float, list[float]]:
        """Update the smoothed squared error; return the overall and per-channel statistics."""
        overall, per_channel, current = self.peek(residual)
        self._mean_square = current
        return overall, per_channel

    def scores_of(self, overall: float, per_channel: Sequence[float]) -> tuple[float, list[float]]:
        """Statistics to the overall score and per-channel scores, each in [0, 1]."""
        decades = self._decades
        per = [
            min(1.0, max(0.0, offset + (x - level) * slope) / decades)
            for x, level, offset, slope in zip(per_channel, self._levels, self._offsets, self._slopes)
        ]
        level, offset, slope = self._overall
        return min(1.0, max(0.0, offset + (overall - level) * slope) / decades), per

    def score_one(self, residual: Sequence[float] | np.ndarray) -> tuple[float, list[float]]:
        """Overall score and per-channel scores, each in [0, 1]."""
        return self.scores_of(*self.statistics_one(residual))


def score_series(calibration: Calibration, residuals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score a ``[T, C]`` residual array with a fresh :class:`ErrorScorer`."""
    scorer = ErrorScorer(calibration)
    overall = np.empty(len(residuals))
    per_channel = np.empty(residuals.shape)
    for i, residual in enumerate(residuals):
        overall[i], per_channel[i] = scorer.score_one(residual)
    return overall, per_channel


def fit_calibration(
    residuals: np.ndarray,
    *,
    sample_period_s: float,
    false_alarms_per_day: float,
    smoothing: float = 1.0,
    score_decades: float = 10.0,
    tail_quantile: float = 0.9,
    scale_floor: Sequence[float] | None = None,
) -> Calibration:
    """Fit scales and tails on held-out ``[T, C]`` residuals; choose the threshold.

    ``scale_floor`` bounds each channel's residual scale from below (a channel that was constant in
    training has a forecast error of only the quantisation's noise; its scale is its unit instead).
    """
    residuals = np.asarray(residuals, dtype=np.float64)
    if residuals.ndim != 2 or not np.isfinite(residuals).all():
        raise ValueError("residuals must be a finite [samples, channels] array")
    if not 0.0 < smoothing <= 1.0:
        raise ValueError(f"smoothing {smoothing} must be in (0, 1]")
    scale = np.maximum(np.sqrt(np.mean(np.square(residuals), axis=0)), 1e-9)
    if scale_floor is not None:
        scale = np.maximum(scale, np.asarray(scale_floor, dtype=np.float64))
    provisional = Calibration(
        residual_scale=tuple(float(s) for s in scale),
        channel_tails=(),
        overall_tail=TailFit(0.0, 1.0, 1.0),
        smoothing=smoothing,
        score_decades=score_decades,
        threshold=1.0,
        false_alarms_per_day=false_alarms_per_day,
        sample_period_s=sample_period_s,
        samples=len(residuals),
    )
    scorer = ErrorScorer(provisional)
    stats = [scorer.statistics_one(r) for r in residuals]
    overall = np.array([s[0] for s in stats])
    per_channel = np.array([s[1] for s in stats])
    return Calibration(
        residual_scale=provisional.residual_scale,
        channel_tails=tuple(
            fit_tail(per_channel[:, c], tail_quantile, MIN_TAIL_SCALE) for c in range(residuals.shape[1])
        ),
        overall_tail=fit_tail(overall, tail_quantile, MIN_TAIL_SCALE),
        smoothing=smoothing,
        score_decades=score_decades,
        threshold=threshold_for(false_alarms_per_day, sample_period_s, score_decades),
        false_alarms_per_day=false_alarms_per_day,
        sample_period_s=sample_period_s,
        samples=len(residuals),
    )


def decisions(scores: Sequence[float] | np.ndarray, threshold: float) -> np.ndarray:
    """Per-sample alert decisions: score at or above the threshold."""
    return np.asarray(scores) >= threshold
