"""Protection against learning from anomalies, as a wrapper (river's ``anomaly.filter``).

A reading whose level reaches ``protect_at`` (the clear level), or any reading while an alert is open, does
not move the scorer's model of normal: an anomaly cannot widen the distribution that hides it or the next one,
and a lasting new level does not silently become normal while an alert is open.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.core.scorers.base import Judgement, Scorer


class Protected:
    """Decides, per reading, whether the wrapped scorer may learn it as normal."""

    def __init__(self, scorer: Scorer, protect_at: float) -> None:
        self.scorer = scorer
        self.protect_at = protect_at

    def score_one(self, residual: Sequence[float], observed: Sequence[float]) -> Judgement:
        return self.scorer.score_one(residual, observed)

    def learn_one(
        self, residual: Sequence[float], observed: Sequence[float], judgement: Judgement, alert_open: bool
    ) -> bool:
        """The scorer learns the reading; returns whether it did so as a normal one."""
        normal = not alert_open and judgement.level < self.protect_at
        self.scorer.learn_one(residual, observed, normal)
        return normal
