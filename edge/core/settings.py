"""A sensor's detector settings, resolved from the config against its model (no onnxruntime here: reading a
config imports this, not the detector)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.core.condition import ConditionSettings
from edge.core.decision import DecisionSettings
from edge.core.faults import FaultSettings
from edge.core.scorers.calibrated import AdaptationSettings
from edge.core.scorers.likelihood import LikelihoodSettings


@dataclass(frozen=True)
class DetectorSettings:
    """Everything that shapes one sensor's decisions, resolved against its model."""

    warmup: int
    decision: DecisionSettings
    faults: FaultSettings
    adaptation: AdaptationSettings = AdaptationSettings()
    scoring: str = "likelihood"  # a key of edge.core.scorers.SCORERS
    likelihood: LikelihoodSettings = LikelihoodSettings()
    condition: ConditionSettings = ConditionSettings()
    channel_thresholds: tuple[float | None, ...] = ()  # per channel; None: the sensor's threshold
    forecast_adapt_step: float = 0.0  # the forecast correction's step (edge.core.forecast_correction; 0: off)
