"""The compiled likelihood scorer is the Python one, bit for bit: every judgement, every error, every state.

Random streams (hypothesis) of scored readings, bridged ones, breaks of any length, glitches and
non-finite values, with checkpoints restored midway, go through both; each step must give the very same
floats, and each state the same dict.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.calibration import fit_calibration
from edge.core.compiled_condition import compiled_condition_core
from edge.core.scorers import SCORERS
from edge.core.scorers.compiled import CompiledLikelihoodScorer, compiled_core, likelihood_scorer
from edge.core.scorers.likelihood import LikelihoodScorer, LikelihoodSettings

CORE = compiled_core()
needs_core = pytest.mark.skipif(CORE is None, reason="the compiled scorer is not built here")


def calibration(samples: int | None = None):
    rng = np.random.default_rng(0)
    fitted = fit_calibration(rng.normal(0, 0.1, size=(3000, 2)), sample_period_s=60.0, false_alarms_per_day=1.0)
    return fitted if samples is None else replace(fitted, samples=samples)


value = st.one_of(
    st.floats(-4.0, 4.0, allow_nan=False),
    st.sampled_from([0.0, -0.0, 25.0, -60.0, 3.0e7, -1.0e12]),  # beyond the range; beyond ERROR_CLIP
)
reading = st.lists(value, min_size=2, max_size=2)
step = st.one_of(
    st.tuples(st.just("score"), reading, reading, st.booleans()),
    st.tuples(st.just("bridge"), reading),
    st.tuples(st.just("reset"), st.one_of(st.none(), st.integers(0, 40))),
    st.tuples(st.just("restore")),
    st.tuples(st.just("nan"), st.sampled_from([math.nan, math.inf])),
)
setting = st.builds(
    LikelihoodSettings,
    window=st.integers(1, 6),
    half_life_samples=st.sampled_from([5.0, 100.0]),
    season_lag=st.sampled_from([0, 3, 7]),
    season_learn_samples=st.sampled_from([0, 4]),
    long_season_lag=st.sampled_from([0, 11]),
    spatial_margin=st.sampled_from([0.0, 0.2]),
    novelty_half_life_samples=st.sampled_from([0.0, 20.0]),
)


def apply(scorer: LikelihoodScorer, action: tuple) -> object:
    """One step; what it gave (a judgement, or the error it raised)."""
    kind = action[0]
    try:
        if kind == "score":
            _, residual, observed, normal = action
            judgement = scorer.score_one(residual, observed)
            again = scorer.score_one(list(residual), tuple(observed))  # equal values, other objects
            scorer.learn_one(residual, observed, normal and judgement.level < 0.5)
            return (judgement, again)
        if kind == "bridge":
            return scorer.bridge_one(action[1])
        if kind == "reset":
            return scorer.reset(action[1])
        if kind == "nan":
            return scorer.score_one([action[1], 0.0], [0.0, 0.0])
    except ValueError as exc:
        return ("ValueError", str(exc))
    raise AssertionError(kind)


@needs_core
@settings(max_examples=150, deadline=None)
@given(setting, st.sampled_from([None, 1, 3000]), st.lists(step, max_size=120))
def test_every_step_and_state_is_the_python_scorers(
    likelihood: LikelihoodSettings, samples: int | None, steps: list[tuple]
) -> None:
    python = LikelihoodScorer(calibration(samples), likelihood)
    compiled = CompiledLikelihoodScorer(calibration(samples), likelihood, CORE)
    for action in steps:
        if action[0] == "restore":
            saved = json.loads(json.dumps(compiled.state()))
            assert saved == json.loads(json.dumps(python.state()))
            compiled = CompiledLikelihoodScorer(calibration(samples), likelihood, CORE)
            compiled.restore(saved)
            python.restore(saved)
            continue
        assert apply(compiled, action) == apply(python, action), action
    assert json.dumps(compiled.state()) == json.dumps(python.state())
    assert compiled.residual_scale.tolist() == python.residual_scale.tolist()
    assert (compiled.learned, compiled.protected) == (python.learned, python.protected)


@needs_core
def test_a_long_seasonal_stream_with_breaks_matches_to_the_last_bit() -> None:
    """Thousands of readings, a day's and a week's season in use, breaks that realign them."""
    likelihood = LikelihoodSettings(window=10, season_lag=48, long_season_lag=336, season_learn_samples=50)
    python, compiled = LikelihoodScorer(calibration(), likelihood), likelihood_scorer(calibration(), likelihood)
    assert isinstance(compiled, CompiledLikelihoodScorer)
    rng = np.random.default_rng(5)
    for i in range(4000):
        if i % 997 == 0:
            lost = int(rng.integers(0, 60))
            for scorer in (python, compiled):
                scorer.reset(lost)
        observed = [math.sin(2 * math.pi * i / 48) + rng.normal(0, 0.05), rng.normal(0, 1)]
        residual = list(rng.normal(0, 0.1, 2) + (3.0 if i % 613 == 0 else 0.0))
        judged = [s.score_one(residual, observed) for s in (python, compiled)]
        assert judged[0] == judged[1], i
        for scorer in (python, compiled):
            scorer.learn_one(residual, observed, judged[0].level < 0.3)
    assert json.dumps(compiled.state()) == json.dumps(python.state())


def test_without_the_compiled_core_the_python_scorer_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_PURE_PYTHON", "1")
    scorer = likelihood_scorer(calibration(), LikelihoodSettings())
    assert type(scorer) is LikelihoodScorer
    assert compiled_core() is None


def test_a_tail_the_c_does_not_compute_falls_back_to_python() -> None:
    scorer = likelihood_scorer(calibration(), LikelihoodSettings(tail="gaussian"))
    assert type(scorer) is LikelihoodScorer
    assert type(likelihood_scorer(calibration(), LikelihoodSettings(season_lag=1))) is LikelihoodScorer


@pytest.mark.skipif(
    bool(os.environ.get("EDGE_PURE_PYTHON"))
    or not (os.environ.get("EDGE_EXPECT_COMPILED") or not os.environ.get("EDGE_GATEWAY_TESTS_ONLY")),
    reason="the Python scorer is asked for, or this gateway run does not build the compiled one",
)
def test_the_compiled_parts_are_built_where_the_suite_expects_them() -> None:
    """`pip install -e .` compiles the scorer and the condition monitor on the workstation,
    tools/aarch64/run-tests.sh for aarch64 (a gateway without a compiler falls back): there they must be in
    use, so that the parity tests do not skip."""
    assert CORE is not None and compiled_condition_core() is not None
    model_scorer = SCORERS["likelihood"](calibration(), type("S", (), {"likelihood": LikelihoodSettings()})())
    assert isinstance(model_scorer, CompiledLikelihoodScorer)


@needs_core
def test_the_seasons_are_held_once_not_in_python_and_in_c_both() -> None:
    """A long season is the scorer's largest part: the compiled one keeps it in the C alone, before and after a
    checkpoint is taken, so it holds no more than the Python scorer does."""
    import tracemalloc

    likelihood = LikelihoodSettings(season_lag=20000)
    held = {}
    for kind in ("python", "compiled"):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        scorer = (
            LikelihoodScorer(calibration(), likelihood)
            if kind == "python"
            else likelihood_scorer(calibration(), likelihood)
        )
        scorer.state()
        held[kind] = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del scorer
    season = 20000 * 2 * 8  # entries x channels x bytes
    assert held["compiled"] < held["python"] + season // 4, held
