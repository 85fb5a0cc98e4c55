"""The compiled condition monitor is the Python one, bit for bit: every level, short mean, regime verdict and state.

Random streams (hypothesis) of judged and learned readings (normal or not, the level's own verdict or not),
with breaks, rebases, far readings and checkpoints restored midway, go through both.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.compiled_condition import CompiledConditionMonitor, compiled_condition_core, condition_monitor
from edge.core.condition import ConditionMonitor, ConditionSettings

CORE = compiled_condition_core()
needs_core = pytest.mark.skipif(CORE is None, reason="the compiled condition monitor is not built here")

value = st.one_of(st.floats(-5.0, 5.0, allow_nan=False), st.sampled_from([0.0, -0.0, 12.0, -3.0e4, 2.0e9]))
reading = st.lists(value, min_size=3, max_size=3)
step = st.one_of(
    st.tuples(st.just("learn"), reading, st.booleans(), st.sampled_from([None, True, False])),
    st.tuples(st.just("look"), reading),
    st.tuples(st.just("reset")),
    st.tuples(st.just("rebase")),
    st.tuples(st.just("restore")),
)
setting = st.builds(
    ConditionSettings,
    window=st.integers(1, 6),
    hold_sd=st.sampled_from([0.0, 0.8]),
    reference_half_life_samples=st.sampled_from([3.0, 100.0]),
    regime_sd=st.sampled_from([0.0, 2.0]),
    raises=st.booleans(),
    level_half_life_samples=st.sampled_from([4.0, 1000.0]),
)
spreads = st.sampled_from([(), (0.3, 1.0, 0.001), (1e-9, 2.0, 0.5)])


def apply(monitor: ConditionMonitor, action: tuple) -> object:
    kind = action[0]
    if kind == "learn":
        _, x, normal, level_normal = action
        judged = monitor.judge(x)
        outside = monitor.outside_training(x)  # as the detector: after judging the same reading
        monitor.learn_one(x, normal, level_normal)
        return judged, outside
    if kind == "look":
        x = action[1]
        return monitor.outside_training(x), monitor.short_mean(x), monitor.deviation(x), monitor.holding(x)
    if kind == "reset":
        return monitor.reset()
    if kind == "rebase":
        return monitor.rebase()
    raise AssertionError(kind)


@needs_core
@settings(max_examples=150, deadline=None)
@given(setting, spreads, st.sampled_from([10.0, 4.0]), st.lists(step, max_size=100))
def test_every_step_and_state_is_the_python_monitors(
    condition: ConditionSettings, spread: tuple, decades: float, steps: list[tuple]
) -> None:
    python = ConditionMonitor(3, condition, spread, decades)
    compiled = CompiledConditionMonitor(3, condition, spread, decades, CORE)
    for action in steps:
        if action[0] == "restore":
            saved = json.loads(json.dumps(compiled.state()))
            assert saved == json.loads(json.dumps(python.state()))
            compiled = CompiledConditionMonitor(3, condition, spread, decades, CORE)
            compiled.restore(saved)
            python.restore(saved)
            continue
        assert apply(compiled, action) == apply(python, action), action
    assert json.dumps(compiled.state()) == json.dumps(python.state())


def test_without_the_compiled_core_the_python_monitor_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_PURE_PYTHON", "1")
    assert type(condition_monitor(2, ConditionSettings())) is ConditionMonitor


@needs_core
def test_a_judged_reading_is_not_taken_for_another_with_the_same_values() -> None:
    """The regime check reuses the short means of the reading just judged, by identity, as the Python does."""
    condition = ConditionSettings(window=2, regime_sd=2.0)
    python, compiled = ConditionMonitor(1, condition), CompiledConditionMonitor(1, condition, (), 10.0, CORE)
    for monitor in (python, compiled):
        monitor.learn_one([5.0], True)
        monitor.judge([5.0])
    assert compiled.outside_training([5.0]) == python.outside_training([5.0]) == [0]
    assert compiled.outside_training([0.0]) == python.outside_training([0.0]) == [0]  # (5 + 0) / 2 > 2
