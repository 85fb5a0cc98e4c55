"""The parity gate: do the ONNX paths forecast and decide as the torch reference does?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from export.errors import ParityError

MIN_INT8_AGREEMENT = 0.999


@dataclass(frozen=True)
class ParityRow:
    """One path compared with the torch fp32 reference on the validation rows."""

    path: str
    max_abs_diff: float
    agreement: float
    alerts: int


def compare(
    name: str, reference_forecasts: np.ndarray, forecasts: np.ndarray, reference_alerts: np.ndarray, alerts: np.ndarray
) -> ParityRow:
    """Largest forecast difference (original units) and share of equal alert decisions."""
    return ParityRow(
        path=name,
        max_abs_diff=float(np.max(np.abs(forecasts - reference_forecasts))),
        agreement=float(np.mean(alerts == reference_alerts)),
        alerts=int(np.sum(alerts)),
    )


def gate_int8(row: ParityRow, minimum: float = MIN_INT8_AGREEMENT) -> None:
    """Refuse to ship int8 when it decides differently from the reference too often."""
    if row.agreement < minimum:
        raise ParityError(
            f"the int8 model agrees with the fp32 reference on only {row.agreement:.3%} of validation "
            f"samples (needed: {minimum:.1%}); int8 was not written: ship fp32 with --precision fp32"
        )
