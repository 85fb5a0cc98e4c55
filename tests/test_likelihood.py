"""The anomaly-likelihood scorer: quiet on the noise it was calibrated on, loud at a change, then used to it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.calibration import fit_calibration
from edge.config import DetectorSection
from edge.errors import ConfigError
from edge.likelihood import LikelihoodScorer, LikelihoodSettings, upper_tail_decades
from edge.scoring import AdaptationSettings, AdaptiveScorer

SETTINGS = LikelihoodSettings(window=10, half_life_samples=500.0)


def calibration():
    rng = np.random.default_rng(0)
    return fit_calibration(rng.normal(0, 0.1, size=(5000, 2)), sample_period_s=60.0, false_alarms_per_day=1.0)


def scores(scorer: LikelihoodScorer, residuals: np.ndarray) -> np.ndarray:
    return np.array([scorer.score_one(r)[0] for r in residuals])


def test_noise_like_the_calibration_data_scores_low_from_the_first_sample() -> None:
    got = scores(LikelihoodScorer(calibration(), SETTINGS), np.random.default_rng(1).normal(0, 0.1, size=(20000, 2)))
    assert np.quantile(got, 0.99) < 0.3 and got.max() < 0.6 and np.mean(got[:50]) < 0.2


def test_a_change_stands_out_at_once_and_becomes_normal_after_some_half_lives() -> None:
    rng = np.random.default_rng(2)
    scorer = LikelihoodScorer(calibration(), SETTINGS)
    scores(scorer, rng.normal(0, 0.1, size=(3000, 2)))
    shifted = scores(scorer, rng.normal(0, 0.1, size=(4000, 2)) + np.array([0.5, 0.0]))  # channel 0 drifts off
    assert shifted[:20].max() == 1.0  # far beyond 10 decades of rarity
    assert np.quantile(shifted[-500:], 0.99) < 0.3  # the new level is the normal one now
    assert scorer.residual_scale[0] > 3 * scorer.residual_scale[1]


def test_per_channel_scores_name_the_channel_that_moved() -> None:
    scorer = LikelihoodScorer(calibration(), SETTINGS)
    scores(scorer, np.random.default_rng(3).normal(0, 0.1, size=(500, 2)))
    for _ in range(10):
        overall, per_channel = scorer.score_one([0.0, 2.0])
    assert per_channel[1] == 1.0 and per_channel[0] < 0.2 and overall == 1.0


def test_state_round_trips_and_the_copy_continues_identically() -> None:
    rng = np.random.default_rng(4)
    first = LikelihoodScorer(calibration(), SETTINGS)
    scores(first, rng.normal(0, 0.12, size=(700, 2)))
    second = LikelihoodScorer(calibration(), SETTINGS)
    second.restore(first.state())
    rest = rng.normal(0, 0.12, size=(300, 2))
    assert scores(first, rest) == pytest.approx(scores(second, rest), abs=1e-12)


def test_a_calibrated_scorers_state_is_refused_and_vice_versa() -> None:
    cal = calibration()
    calibrated = AdaptiveScorer(cal, AdaptationSettings(), protect_above=0.2)
    with pytest.raises(ValueError, match="not a likelihood scorer's"):
        LikelihoodScorer(cal, SETTINGS).restore(calibrated.state())
    with pytest.raises(ValueError, match="likelihood scorer's"):
        calibrated.restore(LikelihoodScorer(cal, SETTINGS).state())


def test_config_chooses_the_scorer_and_names_the_choices() -> None:
    assert DetectorSection(scoring="likelihood").scoring == "likelihood"
    from edge.config import parse_config

    with pytest.raises(ConfigError, match="calibrated.*likelihood"):
        parse_config({"model": {"path": "m.onnx"}, "detector": {"scoring": "magic"}})


@given(st.floats(-8.0, 60.0))
def test_tail_decades_are_continuous_and_increasing(z: float) -> None:
    assert upper_tail_decades(z + 0.01) >= upper_tail_decades(z)
    if 0 < z < 37:  # where erfc itself is still representable
        assert upper_tail_decades(z) == pytest.approx(-math.log10(0.5 * math.erfc(z / math.sqrt(2))), rel=1e-6)
    if z >= 30:  # the asymptotic form takes over without a jump
        assert upper_tail_decades(z) > upper_tail_decades(29.99)
