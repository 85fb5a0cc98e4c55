"""What one bad reading, a lost frame, a missing value, a lasting change or another operating point does."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from conftest import live_rows

from edge.config import DetectorSection
from edge.core.detector import Detector
from edge.core.events import Reading
from edge.core.scorers.season import SeasonBuffer

SEASON = 288  # the fixture's five-minute readings: a day


def readings(rows, sequence: bool = False) -> list[Reading]:
    return [
        Reading("pump-1", float(t), (float(a), float(b)), sequence=i % 65536 if sequence else None, row=i)
        for i, (t, a, b) in enumerate(rows)
    ]


def detector(model, **keys) -> Detector:
    return Detector("pump-1", model, DetectorSection(**keys).resolve(model.metadata, None))


def drifted(n: int = 700, start: int = 430, length: int = 50, size: float = 25.0) -> list[tuple]:
    rows = [list(r) for r in live_rows(n, seed=31)]
    for i in range(start, start + length):
        rows[i][1] += size * (i - start + 1) / length  # the bearing warms up, then is repaired
    return [tuple(r) for r in rows]


def alert_spans(outcomes) -> list[tuple[int, int, float]]:
    """(first row, last row, peak level) of each alert."""
    spans, start = [], None
    for i, o in enumerate(outcomes):
        if o.alerting and start is None:
            start = i
        if start is not None and (not o.alerting or i == len(outcomes) - 1):
            spans.append((start, i, max(p.level for p in outcomes[start : i + 1])))
            start = None
    return spans


@pytest.mark.parametrize("glitch", [-1000.0, 1e6, 1e30])
def test_one_glitch_is_alerted_and_blinds_nothing_after_it(fixture_model, glitch: float) -> None:
    clean = drifted()
    dirty = list(clean)
    dirty[250] = (dirty[250][0], glitch, dirty[250][2])
    reference = [o for o in map(detector(fixture_model).score_one, readings(clean))]
    outcome = [o for o in map(detector(fixture_model).score_one, readings(dirty))]
    drift = [s for s in alert_spans(reference) if 420 <= s[0] <= 480]
    assert drift, "the drift is alerted on clean data"
    spans = alert_spans(outcome)
    assert spans[0][0] == 250 and spans[0][1] < 280  # the glitch itself is an anomaly, and it passes
    after = [s for s in spans[1:] if s[0] < 420 or s[0] > 490]
    assert after == []  # nothing false later, a season after the glitch included (row 538)
    same = [s for s in spans if 420 <= s[0] <= 480]
    assert same and abs(same[0][0] - drift[0][0]) <= 2 and same[0][2] == pytest.approx(drift[0][2], abs=0.05)
    assert abs(same[0][1] - drift[0][1]) <= 3  # held through the drift as on clean data


def test_a_lasting_change_is_held_while_it_lasts_though_the_score_comes_back_down(fixture_model) -> None:
    rows = [list(r) for r in live_rows(600, seed=32)]
    for i in range(300, 420):
        rows[i][1] += 30.0  # a lasting step of about 8.5 training sd
    d = detector(fixture_model)
    outcome = [d.score_one(r) for r in readings([tuple(r) for r in rows])]
    spans = alert_spans(outcome)
    assert len(spans) == 1
    first, last, _ = spans[0]
    assert 300 <= first <= 305 and 420 <= last <= 440
    threshold = d.settings.decision.threshold
    assert max(o.score for o in outcome[300:306]) >= threshold  # sharp at the onset
    assert np.mean([o.score >= threshold for o in outcome[340:420]]) < 0.1  # then explained
    assert (
        d.alert is None
        and [e for o in outcome for e in o.events if e.kind == "clear"][0].subject.ended_by == "back to normal"
    )


def test_an_alert_lasting_past_accept_after_is_accepted_as_the_new_normal_and_said_so(fixture_model, caplog) -> None:
    rows = [list(r) for r in live_rows(500, seed=33)]
    for i in range(200, 500):
        rows[i][1] += 30.0  # and it stays
    d = detector(fixture_model, accept_after_s=3600.0)  # twelve readings
    with caplog.at_level(logging.WARNING, logger="edge.core.detector"):
        outcome = [d.score_one(r) for r in readings([tuple(r) for r in rows])]
    clears = [e.subject for o in outcome for e in o.events if e.kind == "clear"]
    assert clears and clears[0].ended_by == "accepted as the new normal"
    assert d.counters.accepted >= 1
    assert any("taken as the new normal" in r.getMessage() for r in caplog.records)
    assert not any(o.alerting for o in outcome[300:])  # the new level is the normal one now


def test_a_lost_frame_is_bridged_without_a_fault_or_a_warm_up(fixture_model) -> None:
    stream = readings(live_rows(3000, seed=34), sequence=True)
    rng = np.random.default_rng(0)
    kept = [r for i, r in enumerate(stream) if i < 40 or rng.random() >= 0.015]  # 1.5 % of frames lost
    d = detector(fixture_model)
    outcome = [d.score_one(r) for r in kept]
    warmup = fixture_model.metadata.warmup
    assert d.counters.warmup == warmup  # only the start's
    assert [o.state for o in outcome].count("scored") == len(kept) - warmup
    assert d.counters.faults == 0 and d.counters.bridged == len(stream) - len(kept)
    assert d.counters.alerts <= 1


def test_more_frames_lost_than_can_be_bridged_rewarm(fixture_model) -> None:
    stream = readings(live_rows(200, seed=35), sequence=True)
    d = detector(fixture_model)
    limit = d.faults.bridge_limit
    outcome = [d.score_one(r) for r in stream[:100] + stream[100 + limit + 1 :]]
    assert [e.subject.kind for e in outcome[100].events] == ["sequence_gap"]
    assert outcome[100].state == "warmup"


def test_one_missing_value_costs_one_reading_not_a_warm_up(fixture_model) -> None:
    rows = list(live_rows(200, seed=36))
    rows[100] = (rows[100][0], math.nan, rows[100][2])
    d = detector(fixture_model)
    outcome = [d.score_one(r) for r in readings(rows)]
    assert outcome[100].state == "fault" and [e.subject.kind for e in outcome[100].events] == ["nan"]
    assert [o.state for o in outcome[101:]] == ["scored"] * 99
    assert d.counters.bridged == 1 and d.counters.alerts == 0


def test_a_gap_of_a_few_readings_in_time_is_bridged(fixture_model) -> None:
    stream = readings(live_rows(200, seed=37))
    d = detector(fixture_model)
    outcome = [d.score_one(r) for r in stream[:100] + stream[103:]]  # three readings missing
    assert all(o.state == "scored" for o in outcome[100:]) and d.counters.bridged == 3
    assert d.counters.faults == 0


def test_a_long_gap_rewarms_the_model_but_keeps_the_season_aligned_in_time(fixture_model) -> None:
    stream = readings(live_rows(981, seed=38))
    d = detector(fixture_model)
    outcome = [d.score_one(r) for r in stream[:700] + stream[740:]]  # 40 readings missing: a break
    assert [e.subject.kind for e in outcome[700].events] == ["time_gap"] and outcome[700].state == "warmup"
    past = SeasonBuffer(1, len(stream[0].values)).decode(d.scorer.state()["past"])
    assert len(past) == SEASON  # the season was not lost with the break
    # its next reference is the entry of the reading a season before the next one in time (a median of three)
    middle = np.median([stream[i].values for i in (692, 693, 694)], axis=0)
    assert past[1] == pytest.approx(d.inputs.normalise(tuple(middle)), abs=1e-9)
    assert past[-1] is not None and sum(1 for p in past if p is None) == 0  # the gap's slots hold a season before


def test_readings_from_another_operating_point_are_said_so_once(fixture_model, caplog) -> None:
    meta = fixture_model.metadata
    rows = [(t, a + 20 * meta.norm_std[0], b) for t, a, b in live_rows(300, seed=38)]
    d = detector(fixture_model)
    with caplog.at_level(logging.WARNING, logger="edge.core.detector"):
        for r in readings(rows):
            d.score_one(r)
    said = [r.getMessage() for r in caplog.records if "operating point" in r.getMessage()]
    assert len(said) == 1 and "temperature averages" in said[0] and "vibration" not in said[0]
    assert d.counters.regime_warnings == 1
    assert d.counters.alerts >= 1  # and the change itself is alerted


@pytest.mark.parametrize("glitch", [1e30, -1e6])
def test_one_glitch_is_not_taken_for_another_operating_point(fixture_model, caplog, glitch: float) -> None:
    rows = list(live_rows(300, seed=38))
    rows[150] = (rows[150][0], glitch, rows[150][2])  # one reading far out: its window's mean is, its median not
    d = detector(fixture_model)
    with caplog.at_level(logging.WARNING, logger="edge.core.detector"):
        for r in readings(rows):
            d.score_one(r)
    assert not [r for r in caplog.records if "operating point" in r.getMessage()]
    assert d.counters.regime_warnings == 0


@pytest.mark.parametrize("huge", [1e39, -1e308, math.inf])
def test_a_value_beyond_float32_is_a_named_fault_bridged_like_nan(fixture_model, huge: float, recwarn) -> None:
    from edge.sinks.log import fault_line

    stream = readings(live_rows(200))
    stream[120] = Reading("pump-1", stream[120].timestamp, (huge, stream[120].values[1]), row=120)
    d = detector(fixture_model)
    outcomes = [d.score_one(r) for r in stream]
    assert outcomes[120].state == "fault" and d.counters.bridged == 1
    faults = [e for o in outcomes for e in o.events if e.kind == "fault"]
    assert [f.subject.kind for f in faults] == ["nan"] and faults[0].subject.channels == ("temperature",)
    line = fault_line(faults[0])
    expected = "temperature = inf beyond" if huge == math.inf else f"temperature = {huge:g} beyond any sensor's range"
    assert expected in line
    assert not any(o.alerting for o in outcomes)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # no raw numpy overflow warning


def test_an_alert_interrupted_by_time_going_back_never_ends_before_it_began(fixture_model) -> None:
    rows = [list(r) for r in live_rows(300)]
    for row in rows[150:]:
        row[1] += 40.0
    stream = readings([tuple(r) for r in rows])
    d = detector(fixture_model)
    for reading in stream[:200]:
        d.score_one(reading)
    assert d.alert is not None
    start = d.alert.start
    back = Reading("pump-1", stream[0].timestamp, stream[200].values)  # a clock reset
    [clear] = [e for e in d.score_one(back).events if e.kind == "clear"]
    assert clear.subject.ended_by == "interrupted" and clear.subject.end == start == clear.time
