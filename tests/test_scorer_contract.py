"""Every registered scorer keeps the same contract (river's ``checks``): run over edge.core.scorers.SCORERS.

score_one never changes state; learn_one does; a restored state continues identically; NaN is refused
without touching the state; the same input gives the same output; memory stays bounded.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import DetectorSection
from edge.core.calibration import fit_calibration
from edge.core.scorers import SCORERS, Scorer
from edge.core.scorers.tails import gaussian_decades, student3_decades
from edge.core.settings import DetectorSettings


def calibration():
    rng = np.random.default_rng(0)
    return fit_calibration(rng.normal(0, 0.1, size=(2000, 2)), sample_period_s=60.0, false_alarms_per_day=1.0)


class _Meta:
    """Just what DetectorSection.resolve reads."""

    def __init__(self) -> None:
        self.threshold, self.warmup, self.sample_period_s, self.channels = 0.3, 8, 60.0, ("a", "b")


def settings_for(**keys) -> DetectorSettings:
    # a 50-reading season and a 150-reading long one, both within the streams here
    return DetectorSection(seasonal_lag_s=3000.0, seasonal_long_lag_s=9000.0, **keys).resolve(_Meta(), None)


def make(name: str) -> Scorer:
    return SCORERS[name](calibration(), settings_for(scoring=name))


def stream(n: int, seed: int = 1) -> list[tuple[list[float], list[float]]]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.sin(np.arange(n) * 2 * math.pi / 50), rng.normal(0, 1, n)])
    r = rng.normal(0, 0.1, (n, 2))
    r[n // 2] += 3.0  # a spike to make the scores move
    return [(list(a), list(b)) for a, b in zip(r, x)]


def run(scorer: Scorer, items) -> list[tuple]:
    out = []
    for residual, observed in items:
        j = scorer.score_one(residual, observed)
        scorer.learn_one(residual, observed, j.level < 0.5)
        out.append((j.level, j.score, j.channel_scores))
    return out


def snapshot(scorer: Scorer) -> str:
    return json.dumps(scorer.state(), sort_keys=True)


NAMES = sorted(SCORERS)


@pytest.mark.parametrize("name", NAMES)
def test_score_one_changes_nothing_and_asking_twice_gives_the_same(name: str) -> None:
    scorer = make(name)
    run(scorer, stream(300))
    before = snapshot(scorer)
    first = scorer.score_one([0.5, -0.2], [0.1, 0.3])
    second = scorer.score_one([0.5, -0.2], [0.1, 0.3])
    assert first == second and snapshot(scorer) == before
    scorer.learn_one([0.5, -0.2], [0.1, 0.3])
    assert snapshot(scorer) != before


@pytest.mark.parametrize("name", NAMES)
def test_a_restored_state_continues_identically(name: str) -> None:
    items = stream(600, seed=2)
    first = make(name)
    run(first, items[:350])
    second = make(name)
    second.restore(json.loads(snapshot(first)))  # through JSON, as a checkpoint file
    assert run(first, items[350:]) == run(second, items[350:])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_is_refused_and_leaves_the_state_alone(name: str, bad: float) -> None:
    scorer = make(name)
    run(scorer, stream(100))
    before = snapshot(scorer)
    with pytest.raises(ValueError, match="not finite"):
        scorer.score_one([bad, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="not finite"):
        scorer.learn_one([bad, 0.0], [0.0, 0.0])
    assert snapshot(scorer) == before


@pytest.mark.parametrize("name", NAMES)
def test_the_same_stream_gives_the_same_scores(name: str) -> None:
    assert run(make(name), stream(400, seed=3)) == run(make(name), stream(400, seed=3))


@pytest.mark.parametrize("name", NAMES)
def test_memory_is_bounded(name: str) -> None:
    scorer = make(name)
    run(scorer, stream(200))
    size = len(snapshot(scorer))
    run(scorer, stream(2000, seed=4))
    assert len(snapshot(scorer)) < 1.3 * size


@pytest.mark.parametrize("name", NAMES)
def test_a_state_of_another_scorer_or_shape_is_refused(name: str) -> None:
    other = next(n for n in NAMES if n != name)
    with pytest.raises(ValueError):
        make(name).restore(make(other).state())
    narrow = SCORERS[name](
        fit_calibration(
            np.random.default_rng(0).normal(0, 0.1, (500, 3)), sample_period_s=60.0, false_alarms_per_day=1.0
        ),
        settings_for(scoring=name),
    )
    with pytest.raises(ValueError):
        make(name).restore(narrow.state())


@pytest.mark.parametrize("name", NAMES)
def test_levels_and_scores_are_in_the_unit_interval(name: str) -> None:
    for level, score, channels in run(make(name), stream(500, seed=5)):
        assert 0.0 <= score <= 1.0 and 0.0 <= level <= 1.0 and all(0.0 <= c <= 1.0 for c in channels)


@settings(max_examples=200)
@given(st.floats(-8.0, 1e6))
def test_tails_are_increasing_and_continuous(z: float) -> None:
    for tail in (gaussian_decades, student3_decades):
        assert tail(z * 1.001 + 0.01) >= tail(z)
    assert student3_decades(z) <= gaussian_decades(z) + 1e-9 or z < 1.0  # heavier: less rare far out
