"""The forecast's scale and offset, followed online per channel, learned from normal readings only.

The LSTM is frozen after a few hundred training rows. A series that drifts from them (a gain or a level the
model under- or overshoots) leaves a systematic error, which the error distributions would then learn as
noise. Per channel the forecast ``f`` becomes ``a * f + b``; after a normal reading ``x``, with
``e = x - (a * f + b)``, normalised least mean squares moves ``a`` by ``step * e * f / (1 + f * f)`` and ``b``
by ``step * e / (1 + f * f)``. Readings and forecasts are in training standard deviations, so ``step`` means
the same on every series: about ``1 / step`` normal readings to follow a change. It starts as the model was
trained (``a = 1``, ``b = 0``); ``step = 0`` keeps it so. Plain floats, O(channels) per reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edge.core.scorers.base import finite


class ForecastCorrection:
    """``apply`` corrects a forecast (nothing changes); ``learn`` takes in the reading it was for."""

    def __init__(self, channels: int, step: float) -> None:
        if not 0.0 <= step < 1.0:
            raise ValueError(f"forecast_adapt_step {step} must be in [0, 1)")
        self.step = step
        self.scale = [1.0] * channels
        self.offset = [0.0] * channels

    def apply(self, forecast: list[float]) -> list[float]:
        """The corrected forecast; the model's own when the correction is off."""
        if not self.step:
            return forecast
        return [a * f + b for a, b, f in zip(self.scale, self.offset, forecast)]

    def learn(self, forecast: Sequence[float], actual: Sequence[float]) -> None:
        """``forecast``: the model's own output for the reading ``actual`` (a normal one)."""
        step = self.step
        if not step:
            return
        gains = [
            step * (x - (a * f + b)) / (1.0 + f * f) for a, b, f, x in zip(self.scale, self.offset, forecast, actual)
        ]
        self.scale = [a + gain * f for a, gain, f in zip(self.scale, gains, forecast)]
        self.offset = [b + gain for b, gain in zip(self.offset, gains)]

    def state(self) -> list[list[float]]:
        """What a checkpoint keeps: the scales and the offsets."""
        return [list(self.scale), list(self.offset)]

    def restore(self, state: Any) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` (nothing changed) if it does not fit."""
        channels = len(self.scale)
        if (
            not isinstance(state, list)
            or len(state) != 2
            or not all(isinstance(side, list) and len(side) == channels for side in state)
        ):
            raise ValueError(f"saved forecast correction is not two rows of {channels} numbers")
        try:
            rows = [finite(side, "saved forecast correction") for side in state]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"saved forecast correction does not fit ({exc})") from exc
        self.scale, self.offset = rows
