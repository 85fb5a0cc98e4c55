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
        self._calibrated = np.asarray(calibration.residual_scale, dtype=np.float64)
        self._mean_square = np.square(self._calibrated)
        self._rate = 1.0 - math.pow(0.5, 1.0 / settings.half_life_samples) if settings.enabled else 0.0
        self._low = np.square(self._calibrated / settings.max_drift)
        self._high = np.square(self._calibrated * settings.max_drift)
        self.learned = 0
        self.protected = 0

    @property
    def residual_scale(self) -> np.ndarray:
        """The scale in use now, per channel (normalised units)."""
        return np.sqrt(self._mean_square)

    def reset(self) -> None:
        """Forget the short-term smoothing after a break in the stream; the learned scale stays."""
        self._scorer.reset()

    def score_one(self, residual: np.ndarray) -> tuple[float, np.ndarray]:
        """Score one normalised residual vector, then learn from it unless it looks anomalous."""
        overall, per_channel = self._scorer.score_one(residual)
        if self._rate:
            if overall >= self.protect_above:
                self.protected += 1
            else:
                updated = self._mean_square + self._rate * (np.square(residual) - self._mean_square)
                self._mean_square = np.clip(updated, self._low, self._high)
                self._scorer.rescale(np.sqrt(self._mean_square))
                self.learned += 1
        return overall, per_channel

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps."""
        smoothing = self._scorer.smoothing_state
        return {
            "mean_square": self._mean_square.tolist(),
            "smoothing": None if smoothing is None else smoothing.tolist(),
            "learned": self.learned,
            "protected": self.protected,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` if it does not fit this model."""
        mean_square = np.asarray(state["mean_square"], dtype=np.float64)
        if mean_square.shape != self._mean_square.shape or not np.isfinite(mean_square).all():
            raise ValueError(f"saved scale has shape {mean_square.shape}, expected {self._mean_square.shape}")
        self._mean_square = np.clip(mean_square, self._low, self._high)
        self._scorer.rescale(np.sqrt(self._mean_square))
        smoothing = state.get("smoothing")
        self._scorer.smoothing_state = None if smoothing is None else np.asarray(smoothing, dtype=np.float64)
        self.learned = int(state.get("learned", 0))
        self.protected = int(state.get("protected", 0))
