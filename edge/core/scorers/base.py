"""What every scorer is, in river's style: ``score_one`` judges without changing state, ``learn_one`` learns.

A scorer turns one normalised forecast residual (and the normalised reading) into a :class:`Judgement`:

- ``level``: how rare the reading is now, -log10 of its tail probability over ``score_decades``, in [0, 1].
  It is what alerts are decided on, so a threshold means the same rarity for every scorer.
- ``score``: the ``anomaly_score`` a reader sees; the level itself, or (for scorers that say so) only the part
  of it that the recent past did not already explain, so it is sharp at the onset of a change.
- ``channel_scores``: each channel's own level, for naming the channels of an alert.

``learn_one(residual, observed, normal)`` advances the scorer: its short-term context always, its model of
what is normal only when ``normal`` (the protection wrapper decides that). ``bridge_one(observed)`` keeps time
aligned over a reading that could not be scored (a lost frame filled with the model's forecast, or a reading
of a warm-up). ``reset(lost)`` after a break of ``lost`` sample periods (None: not known) forgets the short-term
context and keeps what is aligned in time aligned across it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np


class Judgement(NamedTuple):
    """A scorer's verdict on one reading."""

    level: float
    score: float
    channel_scores: tuple[float, ...]


class Scorer(Protocol):
    """The contract every registered scorer keeps (see tests/test_scorer_contract.py)."""

    learned: int
    protected: int
    label: str  # which scorer runs, and how (status shows it)

    def score_one(self, residual: Sequence[float], observed: Sequence[float]) -> Judgement: ...

    def learn_one(self, residual: Sequence[float], observed: Sequence[float], normal: bool = True) -> None: ...

    def bridge_one(self, observed: Sequence[float]) -> None: ...

    def reset(self, lost: int | None = None) -> None: ...

    def state(self) -> dict[str, Any]: ...

    def restore(self, state: dict[str, Any]) -> None: ...

    @property
    def residual_scale(self) -> np.ndarray: ...


def finite(values: Sequence[float], what: str) -> list[float]:
    """``values`` as a list of floats; ``ValueError`` naming ``what`` if one is NaN or infinite."""
    out = [float(v) for v in values]
    if not all(v - v == 0.0 for v in out):
        raise ValueError(f"{what} {out} is not finite; a scorer takes only finite values")
    return out
