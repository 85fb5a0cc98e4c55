"""Debounce, hysteresis and cooldown decide when an alert starts and ends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.decision import AlertPolicy, DecisionSettings


def run(settings: DecisionSettings, scores: list[float], period: float = 1.0) -> list[str]:
    policy = AlertPolicy(settings)
    return [policy.update(i * period, s).state for i, s in enumerate(scores)]


def test_debounce_needs_k_of_the_last_n_above() -> None:
    settings = DecisionSettings(threshold=0.5, k=3, n=5, clear_level=0.5, clear_samples=1)
    assert run(settings, [0.6, 0.1, 0.6, 0.1, 0.1, 0.1, 0.6]) == ["quiet"] * 7  # never 3 of 5
    assert run(settings, [0.6, 0.1, 0.6, 0.1, 0.6]) == ["quiet"] * 4 + ["raised"]


def test_hysteresis_keeps_the_alert_between_the_two_levels() -> None:
    settings = DecisionSettings(threshold=0.8, clear_level=0.4, clear_samples=2)
    states = run(settings, [0.9, 0.7, 0.5, 0.45, 0.3, 0.9, 0.35, 0.2])
    assert states == ["raised", "active", "active", "active", "active", "active", "active", "cleared"]


def test_cooldown_suppresses_a_new_alert_and_counts_it() -> None:
    settings = DecisionSettings(threshold=0.5, clear_samples=1, cooldown_s=3.0)
    policy = AlertPolicy(settings)
    states = [policy.update(float(t), s).state for t, s in enumerate([0.9, 0.1, 0.9, 0.9, 0.9, 0.9])]
    assert states == ["raised", "cleared", "quiet", "quiet", "raised", "active"]
    assert policy.suppressed == 2


def test_interrupt_closes_an_open_alert_and_forgets_recent_scores() -> None:
    policy = AlertPolicy(DecisionSettings(threshold=0.5, k=2, n=2))
    policy.update(0, 0.9)
    policy.update(1, 0.9)
    assert policy.active and policy.interrupt(2)
    assert not policy.active
    assert policy.update(3, 0.9).state == "quiet"  # the count starts again after a pause


@pytest.mark.parametrize("bad", [dict(k=3, n=2), dict(k=0, n=2), dict(clear_level=0.9), dict(clear_samples=0)])
def test_impossible_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        DecisionSettings(threshold=0.5, **bad)


@given(st.lists(st.floats(0.0, 1.0), max_size=200), st.integers(1, 5), st.integers(0, 4), st.integers(1, 4))
def test_alerts_alternate_and_never_start_below_k(scores: list[float], k: int, extra: int, clear: int) -> None:
    settings = DecisionSettings(threshold=0.6, k=k, n=k + extra, clear_level=0.3, clear_samples=clear)
    states = run(settings, scores)
    transitions = [s for s in states if s in ("raised", "cleared")]
    assert all(a != b for a, b in zip(transitions, transitions[1:]))
    assert transitions[:1] in ([], ["raised"])
    for i, state in enumerate(states):
        if state == "raised":
            window = scores[max(0, i - settings.n + 1) : i + 1]
            assert sum(s >= 0.6 for s in window) >= k
        if state == "cleared":
            assert all(s < 0.3 for s in scores[i - clear + 1 : i + 1])
