"""A detector's checkpointed stream position, read back field by field: nothing is trusted before it validates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.core.scorers.base import finite


class ModelMismatch(ValueError):
    """A saved state of another model: expected after an upgrade, not damage."""


@dataclass(frozen=True)
class SavedState:
    """The model-side fields of a checkpoint (the scorer's and the condition's are read by their own classes)."""

    h: np.ndarray
    c: np.ndarray
    forecast: list[float] | None
    seen: int
    recent_inputs: list[list[float]]
    last_timestamp: float | None
    last_sequence: int | None
    scorer_clock: float | None = None  # the last reading the scorer took in
    realign: bool = False  # a break is pending: the scorer resets at the next reading
    model_forecast: list[float] | None = None  # the model's own, before the correction (None: the same)


def read_saved_state(state: Any, model_sha256: str, shape: tuple[int, ...], channels: int) -> SavedState:
    """Check every field of ``state`` (types, shapes, finiteness); ``ValueError`` names the first that is wrong."""
    if not isinstance(state, dict):
        raise ValueError(f"it is a {type(state).__name__}, not a table of fields")
    if state.get("model_sha256") != model_sha256:
        raise ModelMismatch("it was written for another model")
    try:
        h, c = (np.asarray(state[k], dtype=np.float32) for k in ("h", "c"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"saved LSTM state is not numbers ({exc})") from exc
    if h.shape != shape or c.shape != h.shape or not (np.isfinite(h).all() and np.isfinite(c).all()):
        raise ValueError(f"saved LSTM state has shape {h.shape}, expected {shape}")
    forecast = state.get("forecast")
    if forecast is not None:
        forecast = finite(_rows([forecast], "saved forecast")[0], "saved forecast")
        if len(forecast) != channels:
            raise ValueError(f"saved forecast has {len(forecast)} channels, expected {channels}")
    model_forecast = state.get("model_forecast")
    if forecast is None or model_forecast is None:
        model_forecast = forecast
    else:
        model_forecast = finite(_rows([model_forecast], "saved model forecast")[0], "saved model forecast")
        if len(model_forecast) != channels:
            raise ValueError(f"saved model forecast has {len(model_forecast)} channels, expected {channels}")
    recent = [finite(row, "saved inputs") for row in _rows(state.get("recent_inputs", []), "saved inputs")][-2:]
    if any(len(row) != channels for row in recent):
        raise ValueError(f"saved inputs are not {channels} channels")
    seen = _count(state.get("seen"), "seen") if forecast is not None else 0
    last_time, clock = _time(state, "last_timestamp"), _time(state, "scorer_clock")
    last_sequence = state.get("last_sequence")
    if last_sequence is not None:
        last_sequence = _count(last_sequence, "last_sequence")
    realign = state.get("realign", False)
    if not isinstance(realign, bool):
        raise ValueError(f"saved realign {realign!r} is not true or false")
    return SavedState(h, c, forecast, seen, recent, last_time, last_sequence, clock, realign, model_forecast)


def _time(state: dict[str, Any], key: str) -> float | None:
    value = state.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"saved {key} {value!r} is not a time in seconds")
    return float(value)


def _rows(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError(f"{what} is not a list of rows")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"saved {what} {value!r} is not a count")
    return value
