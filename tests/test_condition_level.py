"""The condition's own level: how rare the short mean of the readings is against the normal, and what it raises."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import live_rows, synthetic_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import DetectorSection
from edge.core.condition import ConditionMonitor, ConditionSettings, short_mean_sd
from edge.core.detector import Detector
from edge.core.events import Reading

WINDOW = 10
DECADES = 10.0


def monitor(channels: int = 2, spread: float = 1 / math.sqrt(WINDOW), **keys) -> ConditionMonitor:
    return ConditionMonitor(channels, ConditionSettings(window=WINDOW, **keys), [spread] * channels, DECADES)


def feed(m: ConditionMonitor, rows: np.ndarray, protect_at: float = 1.0) -> list[float]:
    """Judge then learn each row (learning the level only while it stays below ``protect_at``); the levels."""
    levels = []
    for x in rows.tolist():
        level, _ = m.judge(x)
        m.learn_one(x, True, level < protect_at)
        levels.append(level)
    return levels


def test_short_mean_sd_of_white_noise_is_its_sd_over_the_root_of_the_window() -> None:
    noise = np.random.default_rng(1).normal(size=(20000, 2))
    spread = short_mean_sd(noise, [(0, 10000), (10000, 20000)], WINDOW)
    assert spread == pytest.approx((1 / math.sqrt(WINDOW),) * 2, rel=0.05)
    wandering = noise + np.sin(np.arange(20000) / 500)[:, None]  # a slow cycle: its short means stray further
    assert short_mean_sd(wandering, [(0, 20000)], WINDOW)[0] > 2 * spread[0]
    assert short_mean_sd(noise, [(0, 5)], WINDOW) == ()  # no full window: nothing to say


def test_a_constant_training_channel_gets_a_narrow_band_not_a_zero_one() -> None:
    spread = short_mean_sd(np.zeros((100, 1)), [(0, 100)], WINDOW)
    assert 0 < spread[0] <= 1e-3
    m = ConditionMonitor(1, ConditionSettings(window=WINDOW), spread, DECADES)
    assert feed(m, np.zeros((30, 1)))[-1] == 0.0
    level, _ = m.judge([0.5])  # any departure from the constant is rare
    assert level > 0.0


def test_on_normal_noise_the_level_is_as_rare_as_it_says() -> None:
    """A level of d decades (after the Bonferroni correction) is reached on at most about 10^-d of readings."""
    rows = np.random.default_rng(7).normal(size=(60000, 2))
    levels = np.asarray(feed(monitor(), rows))
    for decades in (1.0, 2.0):
        rate = float(np.mean(levels >= decades / DECADES))
        assert rate <= 1.5 * 10**-decades, (decades, rate)
    assert float(np.mean(levels >= 1.0 / DECADES)) > 0.2 * 10**-1  # and it is not blind either


def test_a_lasting_shift_stays_rare_while_it_lasts_and_is_not_learned() -> None:
    rng = np.random.default_rng(3)
    m = monitor()
    feed(m, rng.normal(size=(2000, 2)))
    before = (list(m.level_mean), list(m.level_var))
    shifted = rng.normal(size=(3000, 2)) + [0.0, 3.0]  # 3 reading sd: about 9.5 sd of a short mean
    levels = feed(m, shifted, protect_at=0.4)
    assert min(levels[WINDOW:]) >= 0.6  # every full window of the shift, for as long as it lasts
    # protected: the shift did not become the normal (only its first readings, before they were rare, were learned)
    assert m.level_mean == pytest.approx(before[0], abs=0.05) and m.level_var == pytest.approx(before[1], rel=0.1)
    _, channels = m.judge(shifted[-1].tolist())
    assert channels[1] > 0.6 and channels[0] < 0.3  # it names the channel that moved
    back = feed(m, rng.normal(size=(30, 2)), protect_at=0.4)
    assert max(back[WINDOW + 1 :]) < 0.4  # back to normal once the window has left the shift


def test_a_channel_that_wanders_widens_its_own_band() -> None:
    rng = np.random.default_rng(5)
    m = monitor(1, level_half_life_samples=500)
    wander = np.cumsum(rng.normal(size=(20000, 1)), axis=0) * 0.02 + rng.normal(size=(20000, 1))
    feed(m, wander)
    assert m.level_var[0] > 1.5 * (1 / WINDOW)  # learned: its short means stray further than noise alone


def test_one_huge_reading_does_not_move_the_normal() -> None:
    rng = np.random.default_rng(9)
    m = monitor()
    feed(m, rng.normal(size=(500, 2)))
    before = (list(m.level_mean), list(m.level_var))
    glitch = rng.normal(size=(40, 2))
    glitch[5] = [1e30, -1e30]
    levels = feed(m, glitch, protect_at=0.4)
    assert levels[5] == 1.0 and max(levels[5 + WINDOW :]) < 0.4
    assert m.level_mean == pytest.approx(before[0], abs=0.01) and m.level_var == pytest.approx(before[1], rel=0.05)


def test_off_it_says_nothing() -> None:
    m = monitor(raises=False)
    feed(m, np.full((20, 2), 50.0))
    assert m.judge([50.0, 50.0]) == (0.0, (0.0, 0.0))


def test_a_partial_window_is_judged_wider() -> None:
    m = monitor()
    assert m.judge([2.0, 0.0])[0] < monitor().judge([2.0, 0.0])[0] + 1e-12  # the same state judges the same
    full = monitor()
    feed(full, np.full((WINDOW - 1, 2), 2.0), protect_at=0.0)
    assert m.judge([2.0, 0.0])[0] < full.judge([2.0, 0.0])[0]  # one reading of 2 is less telling than ten


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=1, max_size=60), st.integers(0, 59))
def test_restore_after_state_gives_the_same_judgements(rows: list[tuple[float, float]], cut: int) -> None:
    cut = min(cut, len(rows))
    one = monitor()
    feed(one, np.array(rows[:cut] or [[0.0, 0.0]]))
    two = monitor()
    two.restore(one.state())
    rest = np.array(rows[cut:] or [[0.0, 0.0]])
    assert feed(one, rest) == feed(two, rest)


def test_a_state_without_the_level_keys_restores_with_the_seeds() -> None:
    m = monitor()
    feed(m, np.random.default_rng(2).normal(size=(50, 2)))
    old = {k: v for k, v in m.state().items() if not k.startswith("level_")}
    fresh = monitor()
    fresh.restore(old)
    assert fresh.level_var == [pytest.approx(1 / WINDOW)] * 2 and fresh.level_mean == [0.0, 0.0]
    with pytest.raises(ValueError):
        fresh.restore({**m.state(), "level_var": [0.1, -1.0]})


def with_spread(model, spread: tuple[float, ...]):
    return replace(model, metadata=replace(model.metadata, short_mean_sd=spread, short_mean_window=WINDOW))


def shifted_stream(n: int = 900, start: int = 500, length: int = 200, size: float = 6.0) -> list[Reading]:
    """The fixture pump's readings with the vibration stepped up by ``size`` training sd for ``length`` rows."""
    rows = [list(r) for r in live_rows(n, seed=41)]
    return [
        Reading("pump-1", float(t), (float(a), float(b) + (size if start <= i < start + length else 0.0)), row=i)
        for i, (t, a, b) in enumerate(rows)
    ]


def test_a_lasting_step_is_alerted_while_it_lasts_and_not_again_a_season_later(fixture_model) -> None:
    """The step is held while it lasts and cleared once back; the season (a day here) did not learn it, so the day
    after is judged against the normal day before it (the season used to take it in: a second alert 24 h on)."""
    meta = fixture_model.metadata
    stream = shifted_stream(size=6.0 * meta.norm_std[1])
    training = (np.array([r[1:] for r in synthetic_rows(800)]) - meta.norm_mean) / meta.norm_std
    model = with_spread(fixture_model, short_mean_sd(training, [(0, 800)], WINDOW))
    detector = Detector("pump-1", model, DetectorSection().resolve(model.metadata, None))
    outcomes = detector.score_block(stream)
    during = [o.alerting for o in outcomes[510:700]]
    assert sum(during) >= 0.95 * len(during)
    assert not any(o.alerting for o in outcomes[730:])  # 288 rows after the step's start included
    assert detector.counters.alerts == 1


@pytest.mark.workstation  # exports a model: needs torch
def test_the_model_states_its_short_mean_spread(exported) -> None:
    meta = exported.model.metadata
    assert meta.short_mean_window == ConditionSettings().window
    assert len(meta.short_mean_sd) == len(meta.channels) and all(0 < s < 2 for s in meta.short_mean_sd)


@pytest.mark.workstation  # exports a model: needs torch
def test_the_model_states_how_long_each_channel_held_a_value_in_training(exported) -> None:
    meta = exported.model.metadata
    assert len(meta.flat_run_samples) == len(meta.channels) and all(r >= 1 for r in meta.flat_run_samples)
