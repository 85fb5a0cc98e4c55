"""The anomaly-likelihood scorer: quiet on its own noise, sharp at a change, robust to what it learns from."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from edge.config import DetectorSection
from edge.core.calibration import fit_calibration
from edge.core.scorers.likelihood import LikelihoodScorer, LikelihoodSettings
from edge.core.scorers.season import SeasonBuffer
from edge.errors import ConfigError

SETTINGS = LikelihoodSettings(window=10, half_life_samples=500.0)
SEASONAL = LikelihoodSettings(window=10, half_life_samples=500.0, season_lag=50, season_learn_samples=100)
WEEKLY = LikelihoodSettings(
    window=10, half_life_samples=500.0, season_lag=50, season_learn_samples=100, long_season_lag=350
)


def calibration():
    rng = np.random.default_rng(0)
    return fit_calibration(rng.normal(0, 0.1, size=(5000, 2)), sample_period_s=60.0, false_alarms_per_day=1.0)


def without_start_memory():
    """The same calibration said to come from one reading: the novelty memory starts empty, so a test sees the
    novelty of what it feeds alone."""
    return replace(calibration(), samples=1)


def feed(scorer: LikelihoodScorer, residuals, observed=None) -> list:
    out = []
    for i, r in enumerate(residuals):
        x = [0.0, 0.0] if observed is None else observed[i]
        j = scorer.score_one(list(r), x)
        scorer.learn_one(list(r), x, j.level < 0.5)
        out.append(j)
    return out


def season_entries(saved: str, channels: int = 2) -> list[list[float] | None]:
    """A checkpoint's season, entry by entry."""
    return SeasonBuffer(1, channels).decode(saved)


def sine(n: int, period: int = 50, start: int = 0) -> list[list[float]]:
    return [[math.sin(2 * math.pi * (start + i) / period), 0.5] for i in range(n)]


def test_noise_like_the_calibration_data_stays_below_a_one_a_day_threshold() -> None:
    got = feed(LikelihoodScorer(calibration(), SETTINGS), np.random.default_rng(1).normal(0, 0.1, size=(20000, 2)))
    threshold = calibration().threshold  # one false alarm a day at one reading a minute
    assert np.mean([j.level >= threshold for j in got]) < 5 / 1440  # a handful of alerting readings a day at most


def test_a_change_is_sharp_at_its_onset_then_explained_and_its_channel_named() -> None:
    rng = np.random.default_rng(2)
    scorer = LikelihoodScorer(without_start_memory(), SETTINGS)
    feed(scorer, rng.normal(0, 0.1, size=(2000, 2)))
    burst = feed(scorer, rng.normal(0, 0.1, size=(60, 2)) + np.array([0.0, 3.0]))
    assert max(j.score for j in burst[:5]) > 0.2  # surprising now
    # each step of the level's climb is said once: the scores of the onset add up to the level it reached
    assert sum(j.score for j in burst[:12]) >= 0.9 * max(j.level for j in burst[:12])
    assert max(j.score for j in burst[20:]) < 0.05  # the same again is no news
    assert min(j.level for j in burst[5:]) > 0.3  # though still rare: what alerts are held on
    assert burst[10].channel_scores[1] > 0.3 > burst[10].channel_scores[0]


def test_one_spike_is_one_detection_while_it_sits_in_the_short_window() -> None:
    rng = np.random.default_rng(4)
    scorer = LikelihoodScorer(without_start_memory(), SETTINGS)
    feed(scorer, rng.normal(0, 0.1, size=(2000, 2)))
    spike = np.vstack([[0.0, 5.0], rng.normal(0, 0.1, size=(15, 2))])
    got = feed(scorer, spike)
    assert got[0].score > 0.2  # surprising now
    levels = [j.level for j in got]
    # while the spike stays in the window of ten its level holds or falls: nothing new after the first reading
    assert min(levels[1:10]) > 0.5 * levels[0]
    assert all(j.score == 0.0 for j, before in zip(got[1:], levels) if j.level <= before)
    assert max(j.score for j in got[1:]) < 0.1 * got[0].score


def test_at_the_start_only_a_level_rarer_than_the_calibrations_normal_readings_showed_is_news() -> None:
    cal = calibration()  # 5,000 normal readings: the rarest of them is about one in 5,000 (3.7 decades)
    fresh, blank = LikelihoodScorer(cal, SETTINGS), LikelihoodScorer(replace(cal, samples=1), SETTINGS)
    bump = [[0.0, 0.45]] * 3  # a small lasting rise: rare, though not rarer than the calibration data showed
    got, without = feed(fresh, bump), feed(blank, bump)
    assert 1.0 < max(j.level for j in got) * cal.score_decades < math.log10(cal.samples)
    assert max(j.score for j in got) == 0.0 < max(j.score for j in without)
    jump = feed(fresh, [[0.0, 6.0]])[0]  # rarer than anything in the calibration: news by the excess
    assert jump.score > 0.0  # the memory it exceeds is the start's (decayed by three readings' worth)
    assert (jump.level - jump.score) * cal.score_decades == pytest.approx(math.log10(cal.samples), rel=0.01)


def test_an_event_on_one_channel_does_not_hide_a_later_one_on_another() -> None:
    rng = np.random.default_rng(9)
    scorer = LikelihoodScorer(without_start_memory(), SETTINGS)
    feed(scorer, rng.normal(0, 0.1, size=(2000, 2)))
    first = feed(scorer, rng.normal(0, 0.1, size=(30, 2)) + np.array([3.0, 0.0]))  # channel 0's event
    feed(scorer, rng.normal(0, 0.1, size=(300, 2)))
    second = feed(scorer, rng.normal(0, 0.1, size=(30, 2)) + np.array([0.0, 3.0]))  # the same on channel 1
    again = feed(scorer, rng.normal(0, 0.1, size=(30, 2)) + np.array([0.0, 3.0]))  # and channel 1 once more
    peak = max(j.score for j in first)
    assert peak > 0.2 and max(j.score for j in second) > 0.8 * peak  # news on channel 1: its own memory is empty
    assert max(j.score for j in again) < 0.2 * peak  # while channel 1's own repeat is not


def test_a_state_saved_before_the_memory_was_per_channel_restores_for_every_channel() -> None:
    scorer = LikelihoodScorer(calibration(), SETTINGS)
    feed(scorer, np.random.default_rng(10).normal(0, 0.1, size=(100, 2)))
    state = scorer.state()
    state["memory"], state["levels"] = 2.5, [1.5]  # the older layout: one number each
    scorer.restore(state)
    assert scorer.state()["memory"] == [2.5, 2.5] and scorer.state()["levels"] == [[1.5, 1.5]]
    state["memory"] = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="saved memory"):
        scorer.restore(state)


def test_a_glitch_moves_neither_the_range_nor_the_error_distribution() -> None:
    rng = np.random.default_rng(3)
    clean, dirty = LikelihoodScorer(calibration(), SETTINGS), LikelihoodScorer(calibration(), SETTINGS)
    residuals = rng.normal(0, 0.1, size=(500, 2))
    observed = rng.normal(0, 1.0, size=(500, 2)).tolist()
    feed(clean, residuals, observed)
    glitched_r, glitched_x = residuals.copy(), [list(x) for x in observed]
    glitched_r[200, 0], glitched_x[200][0] = 1e6, 1e6
    assert feed(dirty, glitched_r, glitched_x)[200].level == 1.0
    assert dirty.state()["range"] == clean.state()["range"]
    assert np.allclose(dirty.residual_scale, clean.residual_scale, rtol=0.05)
    probe = feed(clean, [[0.0, 0.0]], [[4.5, 0.0]])[0], feed(dirty, [[0.0, 0.0]], [[4.5, 0.0]])[0]
    assert probe[0].channel_scores[0] == probe[1].channel_scores[0] == 1.0  # beyond the range in both


def test_a_new_level_enters_the_range_only_once_learned_as_normal_and_then_from_two_readings() -> None:
    scorer = LikelihoodScorer(calibration(), LikelihoodSettings(window=10, spatial_margin=0.2))
    feed(scorer, np.zeros((100, 2)), [[0.0, 0.0]] * 100)
    protected = feed(scorer, np.zeros((20, 2)), [[6.0, 0.0]] * 20)  # judged anomalous: not learned
    assert all(j.channel_scores[0] == 1.0 for j in protected) and scorer.state()["range"][1][0] == 3.0
    for _ in range(2):  # accepted (the detector's rule, or a technician): learned as normal
        scorer.learn_one([0.0, 0.0], [6.0, 0.0], True)
    assert scorer.state()["range"][1][0] == 6.0


def test_a_day_unlike_the_day_before_stands_out_even_when_the_forecast_keeps_up() -> None:
    rng = np.random.default_rng(5)
    scorer = LikelihoodScorer(calibration(), SEASONAL)
    small = rng.normal(0, 0.1, size=(1050, 2))  # a forecaster that follows whatever comes
    normal = feed(scorer, small[:1000], sine(1000))
    flat = feed(scorer, small[1000:], [[0.0, 0.5]] * 50)  # one season where the cycle stops
    assert max(j.channel_scores[0] for j in normal[300:]) < 0.3 and max(j.channel_scores[0] for j in flat) > 0.4


def test_a_step_the_day_before_had_at_the_same_time_is_explained_by_the_season() -> None:
    rng = np.random.default_rng(8)
    day = [0.0] * 20 + [1.0] * 30  # a daily square wave: two steps a day, always at the same readings
    observed = [[v + rng.normal(0, 0.02), 0.5] for _ in range(20) for v in day]
    scorer = LikelihoodScorer(calibration(), SEASONAL)
    feed(scorer, np.zeros((len(observed), 2)), observed)  # a perfect forecaster: only the season speaks
    # the season's error is the noise's (E|n1 - n2| = 0.023), with no step in it: its entries sit in their slots
    # (filed one reading late, each step would be an error of 1 twice a day: a mean error of 0.057)
    assert scorer.state()["seasonal"][0][0] < 0.03


def test_after_a_break_the_season_stays_aligned_in_time_and_a_reading_unlike_its_time_stands_out() -> None:
    rng = np.random.default_rng(9)
    observed = [[v + rng.normal(0, 0.02), 0.5] for v, _ in sine(600)]
    stopped = [[0.0, 0.5]] * 25  # the cycle stops (within the range, and a perfect forecaster follows it)
    outcomes = {}
    for lost in (None, 37):
        scorer = LikelihoodScorer(calibration(), SEASONAL)
        feed(scorer, np.zeros((600, 2)), observed)
        scorer.reset(lost)  # a break of 37 sample periods (None: its length is not known)
        after = [[v + rng.normal(0, 0.02), 0.5] for v, _ in sine(20, start=600 + (lost or 0))]
        normal = feed(scorer, np.zeros((20, 2)), after)  # the cycle goes on where time has taken it
        flat = feed(scorer, np.zeros((25, 2)), stopped)
        outcomes[lost] = (max(j.level for j in normal), max(j.level for j in flat))
    assert outcomes[37][0] < 0.1 and outcomes[37][1] > 0.4  # compared with a season before, in time
    assert outcomes[None] == (0.0, 0.0)  # the season starts over: nothing seasonal to compare with yet


def test_a_break_longer_than_a_season_repeats_the_last_season_in_its_slots() -> None:
    observed = sine(120)
    scorer = LikelihoodScorer(calibration(), SEASONAL)
    feed(scorer, np.zeros((120, 2)), observed)
    before = season_entries(scorer.state()["past"])
    scorer.reset(50 * 3 + 7)  # three seasons and seven readings: the slots move on by seven
    past = season_entries(scorer.state()["past"])
    assert len(past) == 50 and past[:-8] == before[8:] and past[-7:] == before[1:8]


def test_the_seasons_empty_slots_survive_a_checkpoint() -> None:
    scorer = LikelihoodScorer(calibration(), WEEKLY)
    feed(scorer, np.zeros((30, 2)), sine(30))
    scorer.reset(12)  # within the first season: twelve slots with no reading
    state = json.loads(json.dumps(scorer.state()))
    assert season_entries(state["past"])[-12:] == [None] * 12
    restored = LikelihoodScorer(calibration(), WEEKLY)
    restored.restore(state)
    assert restored.state() == scorer.state()


def week_of(days: list[str], rng: np.random.Generator) -> list[list[float]]:
    """A 50-reading day cycles on a working day and stays flat on a rest day ("w" or "r"), with noise."""
    shapes = {"w": [math.sin(2 * math.pi * i / 50) for i in range(50)], "r": [0.0] * 50}
    return [[v + rng.normal(0, 0.02), 0.5] for day in days for v in shapes[day]]


def test_a_weekly_rhythm_is_explained_by_the_long_season_and_a_holiday_still_stands_out() -> None:
    rng = np.random.default_rng(7)
    weeks = [week_of(list("wwwwwrr"), rng) for _ in range(8)] + [week_of(list("wwrwwrr"), rng)]  # holiday: day 3
    observed = [x for week in weeks for x in week]
    residuals = rng.normal(0, 0.1, size=(len(observed), 2))  # a forecaster that follows whatever comes
    daily, weekly = (feed(LikelihoodScorer(calibration(), s), residuals, observed) for s in (SEASONAL, WEEKLY))

    def peak(judged: list, week: int, day: int) -> float:
        start = (week * 7 + day) * 50
        return max(j.channel_scores[0] for j in judged[start : start + 50])

    assert max(peak(weekly, w, d) for w in range(2, 8) for d in range(7)) < 0.2  # weeks 3 to 8: quiet
    assert peak(weekly, 8, 2) > 0.3  # a rest day on a working day: unlike a day and a week before
    # a day before alone learns the week's rhythm as noise, so its spread is too wide to see the holiday
    assert peak(daily, 8, 2) < 0.2


def test_nothing_seasonal_is_scored_until_a_season_and_the_learning_period_have_passed() -> None:
    rng = np.random.default_rng(6)
    with_season, without = LikelihoodScorer(calibration(), SEASONAL), LikelihoodScorer(calibration(), SETTINGS)
    residuals = rng.normal(0, 0.1, size=(150, 2))
    observed = rng.normal(0, 1.0, size=(150, 2)).tolist()
    assert [j.channel_scores for j in feed(with_season, residuals, observed)] == [
        j.channel_scores for j in feed(without, residuals, observed)
    ]


@pytest.mark.parametrize(
    ("period_s", "keys", "lag"),
    [
        (300.0, {}, 288),
        (60.0, {}, 1440),
        (7.0, {}, 12343),
        (1.0, {}, 0),
        (1.0, {"seasonal_max_samples": 90000}, 86400),
        (300.0, {"seasonal_lag_s": 0.0}, 0),
        (3600.0, {"seasonal_lag_s": 604800.0}, 168),
    ],
)
def test_the_season_in_samples_comes_from_the_sample_period(period_s: float, keys: dict, lag: int) -> None:
    assert DetectorSection(**keys).season_lag(period_s) == lag


@pytest.mark.parametrize(
    ("period_s", "keys", "lag"),
    [
        (300.0, {}, 2016),
        (60.0, {}, 10080),
        (7.0, {}, 0),  # a week is more readings than kept; the day is not
        (300.0, {"seasonal_long_lag_s": 0.0}, 0),
        (300.0, {"seasonal_lag_s": 0.0}, 0),  # the long season only explains alongside the season
        (3600.0, {"seasonal_lag_s": 604800.0}, 0),  # a week as the season: no longer one left
    ],
)
def test_the_long_season_is_a_week_in_samples_when_it_fits(period_s: float, keys: dict, lag: int) -> None:
    assert DetectorSection(**keys).long_season_lag(period_s) == lag


def test_config_names_the_scorers_and_the_tails() -> None:
    from edge.config import parse_config

    with pytest.raises(ConfigError, match="calibrated.*likelihood"):
        parse_config({"model": {"path": "m.onnx"}, "detector": {"scoring": "magic"}})
    with pytest.raises(ConfigError, match="likelihood_tail"):
        parse_config({"model": {"path": "m.onnx"}, "detector": {"likelihood_tail": "cauchy"}})


def test_a_checkpoint_of_an_earlier_version_with_its_seasons_as_lists_restores_the_same() -> None:
    scorer = LikelihoodScorer(calibration(), WEEKLY)
    feed(scorer, np.zeros((130, 2)), sine(130))
    scorer.reset(3)
    state = json.loads(json.dumps(scorer.state()))
    earlier = dict(state, past=season_entries(state["past"]), past_long=season_entries(state["past_long"]))
    restored = LikelihoodScorer(calibration(), WEEKLY)
    restored.restore(earlier)
    assert restored.state() == scorer.state()
