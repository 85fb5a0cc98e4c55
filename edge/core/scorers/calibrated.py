"""The calibrated scorer: the forecast error scored by the calibration stored in the model, adapting slowly.

The model's calibration fixes each channel's residual scale on a few days of held-out data (see
:mod:`edge.core.calibration`); with adaptation off, the runtime reproduces the export's scores exactly. A sensor's
noise drifts over months, so the scale follows the recent squared residual with a slow exponential average
(``half_life_samples``), at most ``max_drift`` times either way, learning only from readings the protection
wrapper calls normal. Its ``score`` is its level: no novelty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.core.calibration import Calibration, ErrorScorer
from edge.core.scorers.base import Judgement, finite


@dataclass(frozen=True)
class AdaptationSettings:
    """How fast and how far the residual scale follows the data."""

    enabled: bool = True
    half_life_samples: float = 2000.0
    max_drift: float = 4.0


class CalibratedScorer:
    """``score_one`` → a :class:`Judgement` (no state change); ``learn_one`` adapts the scale when normal."""

    novelty = False
    label = "calibrated"

    def __init__(self, calibration: Calibration, settings: AdaptationSettings) -> None:
        self.settings = settings
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

    def reset(self, lost: int | None = None) -> None:
        """Forget the short-term smoothing after a break in the stream (of ``lost`` periods: nothing here
        depends on time alignment); the learned scale stays."""
        self._scorer.reset()

    def score_one(self, residual: Sequence[float], observed: Sequence[float]) -> Judgement:
        """Judge one normalised residual vector; nothing is learned."""
        overall, per_channel, _ = self._scorer.peek(finite(residual, "residual"))
        score, channels = self._scorer.scores_of(overall, per_channel)
        return Judgement(score, score, tuple(channels))

    def learn_one(self, residual: Sequence[float], observed: Sequence[float], normal: bool = True) -> None:
        """Take the residual into the smoothing; into the scale only when ``normal``."""
        values = finite(residual, "residual")
        self._scorer.commit(self._scorer.peek(values)[2])
        if not normal:
            self.protected += 1
            return
        if self._rate:
            rate = self._rate
            self._mean_square = [
                min(high, max(low, m + rate * (r * r - m)))
                for m, r, low, high in zip(self._mean_square, values, self._low, self._high)
            ]
            self._scorer.rescale([math.sqrt(m) for m in self._mean_square])
        self.learned += 1

    def bridge_one(self, observed: Sequence[float]) -> None:
        """Nothing here depends on the readings' time alignment."""

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
        if not isinstance(state, dict) or state.get("kind", "calibrated") != "calibrated":
            raise ValueError("saved scorer state is not a calibrated scorer's")
        mean_square = finite(state["mean_square"], "saved scale")
        if len(mean_square) != len(self._mean_square) or any(m <= 0 for m in mean_square):
            raise ValueError(f"saved scale has {len(mean_square)} channels, expected {len(self._mean_square)}")
        smoothing = state.get("smoothing")
        if smoothing is not None:
            smoothing = finite(smoothing, "saved smoothing")
            if len(smoothing) != len(mean_square):
                raise ValueError(f"saved smoothing has {len(smoothing)} channels, expected {len(mean_square)}")
        self._mean_square = [min(h, max(lo, m)) for m, lo, h in zip(mean_square, self._low, self._high)]
        self._scorer.rescale([math.sqrt(m) for m in self._mean_square])
        self._scorer.smoothing_state = smoothing
        self.learned = int(state.get("learned", 0))
        self.protected = int(state.get("protected", 0))
