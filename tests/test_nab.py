"""NAB scoring against its definition: rewards by position, first detection only, FP and FN costs, normalisation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nab_scoring import LOW_FN, LOW_FP, STANDARD, event_counts, normalised, scaled_sigmoid, score_file

WINDOWS = [(100, 149), (300, 319)]
ROWS = 500


def at(*rows: int) -> list[bool]:
    fired = [False] * ROWS
    for row in rows:
        fired[row] = True
    return fired


def test_the_sigmoid_is_the_published_one() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert scaled_sigmoid(0.0) == 0.0 and scaled_sigmoid(3.0) > -1.0 and scaled_sigmoid(3.01) == -1.0


def test_null_is_zero_and_detecting_every_window_at_its_start_is_a_hundred() -> None:
    null = [score_file(at(), WINDOWS, probation=50)]
    perfect = [score_file(at(100, 300), WINDOWS, probation=50)]
    assert normalised(null) == 0.0
    assert normalised(perfect) == pytest.approx(100.0)
    assert perfect[0].delays == (0, 0)


def test_only_the_first_detection_in_a_window_counts() -> None:
    once = score_file(at(110), WINDOWS, probation=50)
    thrice = score_file(at(110, 120, 149), WINDOWS, probation=50)
    assert once.score == thrice.score and thrice.true_positives == 1 and thrice.false_positives == 0


def test_a_false_positive_far_from_any_window_costs_the_profile_weight() -> None:
    for profile in (STANDARD, LOW_FP, LOW_FN):
        base = score_file(at(), WINDOWS, probation=50, profile=profile)
        before_any_window = score_file(at(60), WINDOWS, probation=50, profile=profile)
        long_after = score_file(at(480), WINDOWS, probation=50, profile=profile)  # > 3 window widths after
        assert before_any_window.score - base.score == pytest.approx(-profile.fp)
        assert long_after.score - base.score == pytest.approx(-profile.fp)
        assert base.score == -profile.fn * len(WINDOWS)


def test_a_false_positive_just_after_a_window_costs_less() -> None:
    base = score_file(at(), WINDOWS, probation=50).score
    just_after = score_file(at(151), WINDOWS, probation=50).score - base
    later = score_file(at(200), WINDOWS, probation=50).score - base
    assert -STANDARD.fp < later < just_after < 0


def test_probationary_detections_are_not_scored() -> None:
    assert score_file(at(10, 20), WINDOWS, probation=50) == score_file(at(), WINDOWS, probation=50)


def test_event_counts_and_delay() -> None:
    files = [score_file(at(110, 200), WINDOWS, probation=50), score_file(at(), [(10, 20)], probation=5)]
    counts = event_counts(files)
    assert (counts.precision, counts.recall) == (0.5, pytest.approx(1 / 3))
    assert counts.f1 == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3)) and counts.mean_delay_rows == 10


@given(st.integers(100, 149), st.integers(100, 149))
def test_earlier_is_never_worse(first: int, second: int) -> None:
    early, late = sorted((first, second))
    assert score_file(at(early), WINDOWS, 50).score >= score_file(at(late), WINDOWS, 50).score


@given(st.lists(st.integers(0, ROWS - 1), max_size=40))
def test_any_detector_scores_between_null_minus_fps_and_perfect(rows: list[int]) -> None:
    result = score_file(at(*rows), WINDOWS, probation=50)
    assert result.null_score - STANDARD.fp * result.false_positives - 1e-9 <= result.score <= result.perfect_score
    assert result.true_positives + result.false_negatives == len(WINDOWS)
