"""The same model file gives the same scores on every architecture (x86_64's, committed, is the reference).

Measured: aarch64 (qemu, cortex-a72) against x86_64, onnxruntime 1.32.0, 1,500 readings, likelihood scoring: scores
differ by at most 6.0e-8 and forecasts by 1.2e-6 in the channel's units (int8 kernels differ per CPU, so not bit-equal).
The stated tolerance is 1e-5 on scores (in [0, 1]) and 1e-4 sd on forecasts, and no decision may differ.
"""

from __future__ import annotations

import json
import platform

import numpy as np
import pytest
from conftest import FIXTURE_MODEL
from cross_arch import REFERENCE, score_stream

from edge.model.loader import load_model

SCORE_TOLERANCE = 1e-5
FORECAST_TOLERANCE_SD = 1e-4


@pytest.fixture(scope="module")
def both() -> tuple[dict, dict]:
    return json.loads(REFERENCE.read_text()), score_stream()


def test_every_reading_gets_the_same_state_and_alert_decision(both) -> None:
    reference, here = both
    assert here["state"] == reference["state"]
    assert here["alerting"] == reference["alerting"]
    assert sum(reference["alerting"]) > 50 and reference["state"].count("scored") > 1000  # the stream says something


def test_scores_agree_within_the_stated_tolerance(both) -> None:
    reference, here = both
    for key in ("score", "level"):
        assert np.max(np.abs(np.subtract(here[key], reference[key]))) <= SCORE_TOLERANCE
    for ours, theirs in zip(here["channel_scores"], reference["channel_scores"]):
        assert np.allclose(ours, theirs, rtol=0, atol=SCORE_TOLERANCE)


def test_forecasts_agree_within_the_stated_tolerance(both) -> None:
    reference, here = both
    sd = np.asarray(load_model(FIXTURE_MODEL).metadata.norm_std)
    worst = max(
        (
            np.max(np.abs(np.subtract(ours, theirs)) / sd)
            for ours, theirs in zip(here["expected"], reference["expected"])
            if theirs
        ),
        default=np.inf,
    )
    assert worst <= FORECAST_TOLERANCE_SD, f"{platform.machine()}: forecasts differ by {worst:.3g} sd"
