"""Online adaptation of the stored calibration, protected from the anomalies it scores.

The model's calibration fixes each channel's residual scale on a few days of held-out
data. A sensor's noise drifts over months (wear, seasons, a recalibrated transmitter), so
:class:`AdaptiveScorer` follows the recent scale with a slow exponential average of the
squared residual. As river's ``protect_anomaly_detector`` does, a sample whose score is at
or above ``protect_above`` is not learned from: an anomaly cannot widen the scale and hide
itself or the next one. The scale may drift at most ``max_drift`` times either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.calibration import Calibration, ErrorScorer


@dataclass(frozen=True)
class AdaptationSettings:
    """How fast and how far the residual scale follows the data."""

    enabled: bool = True
    half_life_samples: float = 2000.0
    max_drift: float = 4.0


class AdaptiveScorer:
    """``score_one(residual)`` → overall and per-channel scores; learns the scale when safe."""

    def __init__(self, calibration: Calibration, settings: AdaptationSettings, protect_above: float) -> None:
        self.settings = settings
        self.protect_above = protect_above
        self._scorer = ErrorScorer(calibration)
        calibrated = [float(s) for s in calibration.residual_scale]
        self._mean_square = [s * s for s in calibrated]
        self._rate = 1.0 - math.pow(0.5, 1.0 / settings.half_life_samples) if settings.enabled else 0.0
        self._low = [(s / settings.max_drift) ** 2 for s in calibrated]
        self._high = [(s * settings.max_drift) ** 2 for s in calibrated]
        self.learned = 0
        self.protected = 0

    @property
    def residual_scale(self) -> np.ndarray:
        """The scale in use now, per channel (normalised units)."""
        return np.sqrt(self._mean_square)

    def reset(self) -> None:
        """Forget the short-term smoothing after a break in the stream; the learned scale stays."""
        self._scorer.reset()

    def score_one(self, residual: Sequence[float] | np.ndarray,
                  observed: Sequence[float] | None = None) -> tuple[float, list[float]]:
        """Score one normalised residual vector, then learn from it unless it looks anomalous (``observed``,
        the normalised reading, is for scorers that need it)."""
        values = residual.tolist() if isinstance(residual, np.ndarray) else residual
        overall, per_channel = self._scorer.score_one(values)
        rate = self._rate
        if rate:
            if overall >= self.protect_above:
                self.protected += 1
            else:
                self._mean_square = [
                    min(high, max(low, m + rate * (r * r - m)))
                    for m, r, low, high in zip(self._mean_square, values, self._low, self._high)
                ]
                self._scorer.rescale([math.sqrt(m) for m in self._mean_square])
                self.learned += 1
        return overall, per_channel

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        return {
            "kind": "calibrated",
            "mean_square": list(self._mean_square),
            "smoothing": self._scorer.smoothing_state,
            "learned": self.learned,
            "protected": self.protected,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` if it does not fit this model."""
        if state.get("kind", "calibrated") != "calibrated":
            raise ValueError(f"saved scorer state is a {state.get('kind')} scorer's")
        mean_square = [float(m) for m in state["mean_square"]]
        if len(mean_square) != len(self._mean_square) or not all(math.isfinite(m) for m in mean_square):
            raise ValueError(f"saved scale has {len(mean_square)} channels, expected {len(self._mean_square)}")
        smoothing = state.get("smoothing")
        if smoothing is not None and len(smoothing) != len(mean_square):
            raise ValueError(f"saved smoothing has {len(smoothing)} channels, expected {len(mean_square)}")
        self._mean_square = [min(h, max(lo, m)) for m, lo, h in zip(mean_square, self._low, self._high)]
        self._scorer.rescale([math.sqrt(m) for m in self._mean_square])
        self._scorer.smoothing_state = smoothing
        self.learned = int(state.get("learned", 0))
        self.protected = int(state.get("protected", 0))
