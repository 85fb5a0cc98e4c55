"""What a detector returns per reading, and what it counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from edge.core.events import Event, Reading
from edge.core.faults import FaultCheck

SampleState = Literal["warmup", "scored", "fault"]


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs five times as much, per reading
class Scored:
    """The outcome of one reading: ``score`` is the anomaly score, ``level`` what alerts are decided on
    (treat it as read-only)."""

    reading: Reading
    state: SampleState
    score: float = 0.0
    channel_scores: tuple[float, ...] = ()
    expected: tuple[float, ...] = ()
    alerting: bool = False
    events: list[Event] = field(default_factory=list)
    level: float = 0.0


@dataclass(frozen=True)
class Block:
    """Readings checked by :meth:`Detector.begin_block`; ``inputs`` (``[T, C]``) when all are plain."""

    readings: Sequence[Reading]
    checks: list[FaultCheck]
    xs: list[list[float]] | None = None
    inputs: np.ndarray | None = None


@dataclass
class Counters:
    """Per-sensor accounting, shown in status and the periodic log line."""

    readings: int = 0
    scored: int = 0
    warmup: int = 0
    unscored_faulty: int = 0
    alerts: int = 0
    faults: int = 0
    bridged: int = 0  # readings (or missing values) filled with the model's forecast
    accepted: int = 0  # alerts closed by accepting their condition as the new normal
    regime_warnings: int = 0
