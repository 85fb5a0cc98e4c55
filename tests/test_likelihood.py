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


SEASONAL = LikelihoodSettings(window=10, half_life_samples=500.0, season_lag=50, season_learn_samples=100)


def sine(n: int, period: int = 50, start: int = 0) -> list[list[float]]:
    return [[math.sin(2 * math.pi * (start + i) / period), 0.5] for i in range(n)]


def test_a_day_unlike_the_day_before_stands_out_even_when_the_forecast_keeps_up() -> None:
    rng = np.random.default_rng(5)
    scorer = LikelihoodScorer(calibration(), SEASONAL)
    small = rng.normal(0, 0.1, size=(2000, 2))  # a forecaster that follows whatever comes
    normal = [scorer.score_one(r, x)[1][0] for r, x in zip(small[:1000], sine(1000))]
    flat = [scorer.score_one(r, [0.0, 0.5])[1][0] for r in small[1000:1050]]  # one season where the cycle stops
    assert max(normal[200:]) < 0.4 and max(flat) == 1.0


def test_nothing_seasonal_is_scored_until_a_season_and_the_learning_period_have_passed() -> None:
    rng = np.random.default_rng(6)
    with_season, without = LikelihoodScorer(calibration(), SEASONAL), LikelihoodScorer(calibration(), SETTINGS)
    residuals = rng.normal(0, 0.1, size=(150, 2))
    observed = rng.normal(0, 3.0, size=(150, 2)).tolist()  # wild, but not yet comparable with anything
    a = [with_season.score_one(r, x)[1] for r, x in zip(residuals, observed)]
    b = [without.score_one(r, x)[1] for r, x in zip(residuals, observed)]
    assert a == b  # 50 samples to fill the season, then 100 to learn its error distribution silently


def test_after_a_break_the_season_must_fill_again() -> None:
    rng = np.random.default_rng(7)
    scorer = LikelihoodScorer(calibration(), SEASONAL)
    for r, x in zip(rng.normal(0, 0.1, size=(400, 2)), sine(400)):
        scorer.score_one(r, x)
    scorer.reset()
    after = [scorer.score_one([0.0, 0.0], [5.0, 5.0])[1] for _ in range(49)]  # nothing a season ago to compare
    assert max(max(channels) for channels in after) < 0.2


@pytest.mark.parametrize(("period_s", "keys", "lag"), [
    (300.0, {}, 288), (60.0, {}, 1440), (7.0, {}, 12343), (1.0, {}, 0), (1.0, {"seasonal_max_samples": 90000}, 86400),
    (300.0, {"seasonal_lag_s": 0.0}, 0), (3600.0, {"seasonal_lag_s": 604800.0}, 168),
])
def test_the_season_in_samples_comes_from_the_sample_period(period_s: float, keys: dict, lag: int) -> None:
    assert DetectorSection(scoring="likelihood", **keys).season_lag(period_s) == lag


def test_likelihood_has_its_own_default_threshold_and_model_threshold_still_overrides(fixture_model) -> None:
    meta = fixture_model.metadata
    assert DetectorSection(scoring="calibrated").resolve(meta, None).decision.threshold == meta.threshold
    assert DetectorSection().resolve(meta, None).decision.threshold == 0.8  # likelihood is the default
    assert DetectorSection(scoring="likelihood", likelihood_threshold=0.6).resolve(meta, None).decision.threshold == 0.6
    assert DetectorSection(scoring="likelihood").resolve(meta, 0.7).decision.threshold == 0.7


RANGED = LikelihoodSettings(window=10, half_life_samples=500.0, spatial_margin=0.2)


def test_a_level_never_seen_before_is_as_rare_as_a_score_can_say_and_then_part_of_the_range() -> None:
    scorer = LikelihoodScorer(calibration(), RANGED)
    quiet = [scorer.score_one([0.0, 0.0], [x, 0.0])[1][0] for x in np.linspace(-2.5, 2.5, 200)]
    first = scorer.score_one([0.0, 0.0], [5.0, 0.0])  # beyond 3 + 0.2 * 6
    again = scorer.score_one([0.0, 0.0], [5.0, 0.0])  # the range now reaches 5
    assert max(quiet) < 0.2 and first[1][0] == 1.0 and first[0] == 1.0 and again[1][0] < 0.2


def test_the_range_is_kept_across_a_restore_and_off_with_a_zero_margin() -> None:
    scorer = LikelihoodScorer(calibration(), RANGED)
    scorer.score_one([0.0, 0.0], [6.0, 0.0])
    copy = LikelihoodScorer(calibration(), RANGED)
    copy.restore(scorer.state())
    assert copy.score_one([0.0, 0.0], [6.5, 0.0])[1][0] < 0.2  # within 6 + 0.2 * 9
    off = LikelihoodScorer(calibration(), SETTINGS)
    assert off.score_one([0.0, 0.0], [50.0, 0.0])[1][0] < 0.2
