"""What an alert is decided on and what it names: pure functions of a judgement and the settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from edge.core.events import Reading
from edge.core.scorers import Judgement
from edge.core.settings import DetectorSettings
from edge.digest import uuid5

_ID_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-4f0e-9a51-2d8e7c6b5a40")


def decision_level(judgement: Judgement, settings: DetectorSettings) -> float:
    """The level alerts are decided on: each channel against its own threshold where it has one."""
    own = settings.channel_thresholds
    if not own:
        return judgement.level
    threshold = settings.decision.threshold
    offset = judgement.level - max(judgement.channel_scores)  # the scorer's correction for many channels
    return min(
        1.0,
        max((score + offset) * threshold / (mine or threshold) for score, mine in zip(judgement.channel_scores, own)),
    )


def alerting_channels(
    reading: Reading,
    judgement: Judgement,
    expected: Sequence[float],
    settings: DetectorSettings,
    names: Sequence[str],
) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """(channels, observed, expected) of the channels at or over their threshold; the highest if none is."""
    scores = judgement.channel_scores
    threshold = settings.decision.threshold
    own = settings.channel_thresholds or (None,) * len(scores)
    picked = [i for i, (s, mine) in enumerate(zip(scores, own)) if s >= (mine or threshold)] or [
        max(range(len(scores)), key=scores.__getitem__)
    ]
    return (
        tuple(names[i] for i in picked),
        tuple(float(reading.values[i]) for i in picked),
        tuple(expected[i] for i in picked),
    )


def alert_id(model_sha256: str, sensor: str, start: float) -> str:
    """A stable id: the same model, sensor and start give the same id on every gateway and after a restart."""
    return uuid5(_ID_NAMESPACE, f"{model_sha256}/{sensor}/{start!r}").hex[:16]
