"""Calibration: scores in [0, 1], monotone, and thresholds that hit the asked false-alarm rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.calibration import Calibration, ErrorScorer, fit_calibration, fit_tail, score_series, threshold_for
from export.sequences import cut_lanes


def test_threshold_maps_false_alarms_to_a_tail_probability() -> None:
    # one sample every 5 min is 288 a day: 1 alarm/day is p = 1/288 per sample
    assert threshold_for(1.0, 300.0, 10.0) == pytest.approx(math.log10(288) / 10)
    with pytest.raises(ValueError, match="per sample"):
        threshold_for(1000.0, 300.0, 10.0)


def test_exponential_tail_recovers_its_parameters() -> None:
    rng = np.random.default_rng(0)
    tail = fit_tail(rng.exponential(2.0, 50_000), quantile=0.9)
    assert tail.scale == pytest.approx(2.0, rel=0.05)
    assert tail.fraction == pytest.approx(0.1, rel=0.01)


@pytest.mark.parametrize("smoothing", [1.0, 0.3])
def test_threshold_gives_about_the_asked_alarm_rate_on_normal_data(smoothing: float) -> None:
    rng = np.random.default_rng(1)
    period = 60.0  # 1440 samples a day
    calibration = fit_calibration(
        rng.normal(0, 0.2, (5_000, 2)), sample_period_s=period, false_alarms_per_day=10.0, smoothing=smoothing
    )
    scores, per_channel = score_series(calibration, rng.normal(0, 0.2, (200_000, 2)))
    per_day = np.mean(scores >= calibration.threshold) * 1440
    assert 3.0 < per_day < 30.0  # the tail model is approximate; within a factor of 3 of 10/day
    assert 0.0 <= scores.min() and scores.max() <= 1.0
    assert 0.0 <= per_channel.min() and per_channel.max() <= 1.0


def test_the_channel_that_jumped_scores_highest() -> None:
    rng = np.random.default_rng(2)
    calibration = fit_calibration(rng.normal(0, 1, (2_000, 3)), sample_period_s=1.0, false_alarms_per_day=1.0)
    overall, per_channel = ErrorScorer(calibration).score_one(np.array([0.1, 9.0, -0.2]))
    assert overall >= calibration.threshold
    assert int(np.argmax(per_channel)) == 1 and per_channel[1] >= calibration.threshold


def test_calibration_round_trips_as_dict() -> None:
    rng = np.random.default_rng(3)
    calibration = fit_calibration(rng.normal(0, 1, (500, 2)), sample_period_s=5.0, false_alarms_per_day=2.0)
    assert Calibration.from_dict(calibration.to_dict()) == calibration


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5),
    gaps=st.lists(st.integers(min_value=1, max_value=5), min_size=5, max_size=5),
    lane_rows=st.integers(min_value=1, max_value=12),
    offset=st.integers(min_value=0, max_value=50),
)
def test_lanes_cover_each_pair_once_and_never_cross_a_gap(lengths, gaps, lane_rows, offset) -> None:
    segments, start = [], 0
    for length, gap in zip(lengths, gaps):
        segments.append((start, start + length))
        start += length + gap
    lanes = cut_lanes(segments, lane_rows, offset)
    pairs = [t for a, b in lanes for t in range(a, b - 1)]
    expected = [t for s, e in segments for t in range(s, e - 1)]
    assert sorted(pairs) == expected
    for a, b in lanes:
        assert b - a >= 2 and b - a <= lane_rows + 1
        assert any(s <= a and b <= e for s, e in segments)
