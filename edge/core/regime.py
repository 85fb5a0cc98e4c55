"""Say once per channel, clearly, when readings sit far outside the operating point the model was trained on."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edge.core.condition import ConditionMonitor

log = logging.getLogger(__name__)


class RegimeWatch:
    """Warns once per channel whose recent mean is more than ``regime_sd`` training sd from the training mean."""

    def __init__(self, sensor: str, channels: Sequence[str], mean: Sequence[float], std: Sequence[float]) -> None:
        self.sensor, self.channels, self.mean, self.std = sensor, channels, mean, std
        self.warned: set[int] = set()

    def check(self, x: list[float], condition: ConditionMonitor) -> bool:
        """Look at normalised reading ``x``; True when it warned (about channels not warned about before)."""
        outside = [c for c in condition.outside_training(x) if c not in self.warned]
        if not outside:
            return False
        self.warned.update(outside)
        limit, window = condition.settings.regime_sd, condition.settings.window
        short = condition.short_mean(x)
        parts = [
            f"{self.channels[c]} averages {short[c] * self.std[c] + self.mean[c]:.4g} over the last {window} "
            f"readings, more than {limit:g} sd from the training mean {self.mean[c]:.4g} (sd {self.std[c]:.4g})"
            for c in outside
        ]
        log.warning(
            "sensor %s: %s; the model was trained at another operating point and its scores mean little "
            "here: export a model from history of this operating point (said once per channel)",
            self.sensor,
            "; ".join(parts),
        )
        return True
