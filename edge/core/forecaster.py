"""Streaming next-sample forecasts: one stateful LSTM step per reading, O(1) per sample."""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter_ns

import numpy as np
import onnxruntime as ort

from edge.core.latency import LatencyHistogram
from edge.model.loader import LoadedModel


class StreamingForecaster:
    """Feed readings one at a time in original units; get the forecast of the next one.

    The ONNX graph takes the LSTM's hidden and cell state as inputs and returns the
    new state, so each reading costs one step, never a re-run of a window.
    """

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        layers: int,
        hidden: int,
        norm_mean: Sequence[float] | np.ndarray,
        norm_std: Sequence[float] | np.ndarray,
        latency: LatencyHistogram | None = None,
    ) -> None:
        self._session = session
        #: every onnxruntime call's duration (shared by the forecasters of one model's session)
        self.latency = latency if latency is not None else LatencyHistogram()
        self._mean = np.asarray(norm_mean, dtype=np.float32)
        self._std = np.asarray(norm_std, dtype=np.float32)
        self._state_shape = (layers, 1, hidden)
        self._x = np.zeros((1, 1, len(self._mean)), dtype=np.float32)
        self.calls = 0  # onnxruntime runs it took part in, for benchmarks and tests of blocking
        self.reset()

    @classmethod
    def from_model(cls, model: LoadedModel) -> StreamingForecaster:
        """A forecaster over a loaded, verified model."""
        meta = model.metadata
        return cls(
            model.session,
            layers=meta.layers,
            hidden=meta.hidden,
            norm_mean=meta.norm_mean,
            norm_std=meta.norm_std,
            latency=model.latency,
        )

    def reset(self) -> None:
        """Start from a zero state, as at the beginning of training's sequences."""
        self._h = np.zeros(self._state_shape, dtype=np.float32)
        self._c = np.zeros(self._state_shape, dtype=np.float32)
        self.steps = 0

    @property
    def session(self) -> ort.InferenceSession:
        """The onnxruntime session it steps (shared by every sensor of one model)."""
        return self._session

    @property
    def state(self) -> tuple[np.ndarray, np.ndarray]:
        """The LSTM's ``(h, c)``, for checkpoints."""
        return self._h, self._c

    @state.setter
    def state(self, value: tuple[np.ndarray, np.ndarray]) -> None:
        h, c = value
        if h.shape != self._state_shape or c.shape != self._state_shape:
            raise ValueError(f"state shapes {h.shape}, {c.shape} are not {self._state_shape}")
        self._h, self._c = h.astype(np.float32), c.astype(np.float32)

    def step_normalized(self, x: np.ndarray | Sequence[float]) -> np.ndarray:
        """Advance by one normalised reading; return the normalised forecast of the next."""
        self._x[0, 0] = x
        start = perf_counter_ns()
        y, self._h, self._c = self._session.run(None, {"x": self._x, "h0": self._h, "c0": self._c})
        self.latency.observe(perf_counter_ns() - start)
        self.steps += 1
        self.calls += 1
        return y[0, 0]

    def step_block_normalized(self, xs: np.ndarray) -> np.ndarray:
        """Advance by a ``[T, C]`` block of normalised readings in one call; ``[T, C]`` forecasts.

        Row ``t`` is the forecast after reading ``t``: with a weight-only int8 or fp32 file this is
        bit-identical to ``T`` calls of :meth:`step_normalized`.
        """
        x = np.asarray(xs, dtype=np.float32)[None]
        start = perf_counter_ns()
        y, self._h, self._c = self._session.run(None, {"x": x, "h0": self._h, "c0": self._c})
        self.latency.observe(perf_counter_ns() - start, len(xs))
        self.steps += len(xs)
        self.calls += 1
        return y[0]

    def step(self, reading: np.ndarray) -> np.ndarray:
        """Advance by one reading in original units; return the forecast of the next one."""
        forecast = self.step_normalized((np.asarray(reading, dtype=np.float32) - self._mean) / self._std)
        return forecast * self._std + self._mean

    def run_normalized(self, sequence: np.ndarray) -> np.ndarray:
        """Step through a ``[T, C]`` normalised sequence from a zero state; ``[T, C]`` forecasts."""
        self.reset()
        return np.array([self.step_normalized(x) for x in sequence])

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """Original units to the model's normalised units."""
        return (np.asarray(values, dtype=np.float32) - self._mean) / self._std


def step_together(forecasters: Sequence[StreamingForecaster], blocks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Step several forecasters of one session on equally long ``[T, C]`` blocks in one call (batch axis).

    Each gets its own new state and the forecasts of its block, bit-identical to stepping it alone. The call
    counts once in the first one's latency histogram (theirs is one: the session's), with every row it stepped.
    """
    session = forecasters[0]._session
    if any(f._session is not session for f in forecasters):
        raise ValueError("forecasters stepped together must share one session")
    x = np.asarray(np.stack(blocks), dtype=np.float32)
    h0 = np.concatenate([f._h for f in forecasters], axis=1)
    c0 = np.concatenate([f._c for f in forecasters], axis=1)
    start = perf_counter_ns()
    y, hn, cn = session.run(None, {"x": x, "h0": h0, "c0": c0})
    forecasters[0].latency.observe(perf_counter_ns() - start, x.shape[0] * x.shape[1])
    for i, f in enumerate(forecasters):
        f._h, f._c = np.ascontiguousarray(hn[:, i : i + 1]), np.ascontiguousarray(cn[:, i : i + 1])
        f.steps += x.shape[1]
        f.calls += 1
    return [y[i] for i in range(len(forecasters))]
