"""The model's side of a reading: normalised by the training statistics, a lone glitch kept out of the state."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edge.core.events import Reading

GLITCH_SD = 8.0  # a reading this many training sd from the median of the last three does not enter the state


class Inputs:
    """Normalises readings and filters what enters the LSTM's state; ``recent`` (the last two) is checkpointed."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = [float(m) for m in mean]
        self.std = [float(d) for d in std]
        self._mean_array, self._std_array = np.array(self.mean), np.array(self.std)
        self.recent: list[list[float]] = []

    def normalise(self, values: Sequence[float]) -> list[float]:
        """One reading's values in training sd from the training mean."""
        return [(v - m) / d for v, m, d in zip(values, self.mean, self.std)]

    def normalise_block(self, readings: Sequence[Reading]) -> list[list[float]]:
        """Several readings at once (the same IEEE results as one at a time)."""
        if len(readings) == 1:  # one at a time: plain floats are cheaper than an array
            return [self.normalise(readings[0].values)]
        values = np.array([r.values for r in readings], dtype=np.float64)
        return ((values - self._mean_array) / self._std_array).tolist()

    def denormalise(self, x: Sequence[float]) -> tuple[float, ...]:
        """Back to the sensor's units."""
        return tuple([p * d + m for p, m, d in zip(x, self.mean, self.std)])

    def filtered(self, x: list[float]) -> list[float]:
        """The model's input for ``x``: a lone glitch is replaced by the median of it and the two before."""
        recent = self.recent
        state_input = x
        if len(recent) >= 2:
            medians = [max(min(a, b), min(max(a, b), v)) for a, b, v in zip(recent[-2], recent[-1], x)]
            state_input = [m if abs(v - m) > GLITCH_SD else v for v, m in zip(x, medians)]
        recent.append(x)
        del recent[:-2]
        return state_input

    def filtered_block(self, xs: list[list[float]]) -> np.ndarray:
        """:meth:`filtered` of each of ``xs`` in turn, as one array, to the bit."""
        if len(xs) == 1:
            return np.array([self.filtered(xs[0])])
        known = len(self.recent)
        stream = np.array(self.recent + xs, dtype=np.float64)
        inputs = stream[known:].copy()
        first = max(0, 2 - known)  # the first of xs with two readings before it
        if first < len(xs):
            a, b, x = stream[known + first - 2 : -2], stream[known + first - 1 : -1], stream[known + first :]
            # max(min(a, b), min(max(a, b), x)) as Python picks: the first of equals (a zero keeps its sign)
            low, high = np.where(b < a, b, a), np.where(b > a, b, a)
            inner = np.where(x < high, x, high)
            medians = np.where(inner > low, inner, low)
            inputs[first:] = np.where(np.abs(x - medians) > GLITCH_SD, medians, x)
        self.recent = (self.recent + xs)[-2:]
        return inputs
