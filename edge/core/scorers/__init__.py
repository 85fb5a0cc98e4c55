"""Scorers keyed by ``[detector] scoring``; each keeps the contract in :mod:`edge.core.scorers.base`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.core.calibration import Calibration
from edge.core.scorers.base import Judgement, Scorer
from edge.core.scorers.calibrated import AdaptationSettings, CalibratedScorer
from edge.core.scorers.compiled import likelihood_scorer
from edge.core.scorers.likelihood import LikelihoodScorer, LikelihoodSettings
from edge.core.scorers.protect import Protected

# name -> how to build it from the model's calibration and the detector's settings (edge.core.detector.DetectorSettings)
SCORERS: dict[str, Callable[[Calibration, Any], Scorer]] = {
    "likelihood": lambda calibration, settings: likelihood_scorer(calibration, settings.likelihood),
    "calibrated": lambda calibration, settings: CalibratedScorer(calibration, settings.adaptation),
}

__all__ = [
    "SCORERS",
    "AdaptationSettings",
    "CalibratedScorer",
    "Judgement",
    "LikelihoodScorer",
    "LikelihoodSettings",
    "Protected",
    "Scorer",
]
