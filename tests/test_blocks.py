"""Blocks are an optimisation only: a stream cut into blocks gives exactly what one reading at a time gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import live_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import DetectorSection
from edge.core.detector import Detector, Scored
from edge.core.events import Event, Reading, SourceFault
from edge.core.forecaster import StreamingForecaster
from edge.core.scorers import SCORERS

PERIOD = 300.0
ROWS = live_rows(240)


def test_the_shipped_model_forecasts_the_same_in_blocks_as_one_at_a_time(fixture_model) -> None:
    stream = np.random.default_rng(3).normal(size=(300, len(fixture_model.metadata.channels))).astype(np.float32)
    stepped = StreamingForecaster.from_model(fixture_model)
    one_by_one = np.array([stepped.step_normalized(x) for x in stream])
    for size in (2, 7, 64, 300):
        blocked = StreamingForecaster.from_model(fixture_model)
        pieces = [blocked.step_block_normalized(stream[i : i + size]) for i in range(0, len(stream), size)]
        assert np.array_equal(np.concatenate(pieces), one_by_one), f"blocks of {size}"
        assert all(np.array_equal(a, b) for a, b in zip(blocked.state, stepped.state))


# One change to the clean stream at a row: what a gateway meets.
CHANGES = (
    "nan",
    "glitch",
    "shift",
    "short_gap",
    "long_gap",
    "back_in_time",
    "stuck",
    "lost_frames",
    "lost_many",
    "source_fault",
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Reading | SourceFault], list[int]]:
    """A stream of the fixture's sensor with faults, gaps, NaN and breaks, and a partition of it into blocks."""
    changes = draw(st.dictionaries(st.integers(0, len(ROWS) - 1), st.sampled_from(CHANGES), max_size=12))
    items: list[Reading | SourceFault] = []
    shift, offset, sequence, stuck = 0.0, 0.0, 0, 0
    for row, (stamp, temperature, vibration) in enumerate(ROWS):
        change = changes.get(row)
        time = float(stamp) + offset
        values = (temperature + shift, vibration)
        if change == "nan":
            values = (math.nan, vibration)
        elif change == "glitch":
            values = (temperature - 1e3, vibration)
        elif change == "shift":
            shift += 15.0
        elif change == "short_gap":
            offset += 2 * PERIOD
        elif change == "long_gap":
            offset += 20 * PERIOD
        elif change == "back_in_time":
            offset -= 3 * PERIOD
        elif change == "stuck":
            stuck = 8
        elif change == "lost_frames":
            sequence += 2
        elif change == "lost_many":
            sequence += 40
        elif change == "source_fault":
            items.append(SourceFault("pump-1", time - 1.0, "unplugged"))
            items.append(SourceFault("pump-1", time - 0.5, "replugged", cleared=True))
        if stuck:
            stuck -= 1
            values = (20.0, 1.0)
        items.append(Reading("pump-1", time, values, sequence=sequence, row=row))
        sequence += 1
    cuts = draw(st.lists(st.integers(1, len(items) - 1), max_size=30, unique=True))
    return items, sorted(cuts)


def _detector(model, scoring: str) -> Detector:
    section = DetectorSection(scoring=scoring, flatline_samples=6, clear_samples=2, warmup=8)
    return Detector("pump-1", model, section.resolve(model.metadata, 0.5))


def _one_at_a_time(detector: Detector, items: list[Reading | SourceFault]) -> tuple[list[Scored], list[Event]]:
    outcomes, source_events = [], []
    for item in items:
        if isinstance(item, SourceFault):
            source_events.extend(detector.source_fault(item))
        else:
            outcomes.append(detector.score_one(item, item.timestamp + 0.25))
    return outcomes, source_events


def _in_blocks(
    detector: Detector, items: list[Reading | SourceFault], cuts: list[int]
) -> tuple[list[Scored], list[Event]]:
    outcomes, source_events = [], []
    for start, end in zip([0, *cuts], [*cuts, len(items)]):
        block: list[Reading] = []
        for item in items[start:end]:
            if isinstance(item, SourceFault):  # a source's report is not a reading: it ends the block
                if block:
                    outcomes.extend(detector.score_block(block, [r.timestamp + 0.25 for r in block]))
                    block = []
                source_events.extend(detector.source_fault(item))
            else:
                block.append(item)
        if block:
            outcomes.extend(detector.score_block(block, [r.timestamp + 0.25 for r in block]))
    return outcomes, source_events


@pytest.mark.parametrize("scoring", sorted(SCORERS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=streams())
def test_any_partition_into_blocks_gives_exactly_one_at_a_time(fixture_model, scoring: str, case) -> None:
    items, cuts = case
    single, blocked = _detector(fixture_model, scoring), _detector(fixture_model, scoring)
    expected, expected_source_events = _one_at_a_time(single, items)
    got, got_source_events = _in_blocks(blocked, items, cuts)
    assert got == expected  # states, scores, levels, forecasts, alert decisions and every event, per reading
    assert got_source_events == expected_source_events
    assert blocked.counters == single.counters
    assert blocked.faults.counts == single.faults.counts
    assert blocked.alert == single.alert
    assert blocked.state() == single.state()


def test_the_partition_test_meets_every_path(fixture_model) -> None:
    """The stream the property test draws from does reach alerts, faults, bridges and warm-ups."""
    items = [
        Reading("pump-1", float(t), (a + (30.0 if 120 <= i < 160 else 0.0), b), sequence=i, row=i)
        for i, (t, a, b) in enumerate(ROWS)
    ]
    items[60] = Reading("pump-1", items[60].timestamp, (math.nan, 1.0), sequence=60)
    del items[90:92]  # two lost frames: bridged
    detector = _detector(fixture_model, "likelihood")
    outcomes = detector.score_block(items)
    assert {o.state for o in outcomes} == {"warmup", "scored", "fault"}
    assert detector.counters.alerts >= 1 and detector.counters.bridged >= 3


def test_sensors_stepped_together_on_the_batch_axis_get_what_each_gets_alone(fixture_model) -> None:
    from edge.core.forecaster import step_together

    rng = np.random.default_rng(5)
    channels = len(fixture_model.metadata.channels)
    alone = [StreamingForecaster.from_model(fixture_model) for _ in range(3)]
    together = [StreamingForecaster.from_model(fixture_model) for _ in range(3)]
    for size in (1, 1, 5, 64):
        blocks = [rng.normal(size=(size, channels)).astype(np.float32) for _ in alone]
        expected = [f.step_block_normalized(b) for f, b in zip(alone, blocks)]
        got = step_together(together, blocks)
        assert all(np.array_equal(a, b) for a, b in zip(got, expected)), f"blocks of {size}"
        for a, b in zip(alone, together):
            assert all(np.array_equal(x, y) for x, y in zip(a.state, b.state))


SENSORS = ("pump-a", "pump-b", "pump-c")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cases=st.lists(streams(), min_size=len(SENSORS), max_size=len(SENSORS)),
    ticks=st.lists(st.integers(1, len(ROWS) - 1), max_size=40, unique=True),
)
def test_a_pipeline_scoring_several_sensors_per_tick_gives_each_one_at_a_times_results(
    fixture_model, cases, ticks
) -> None:
    from dataclasses import replace

    from edge.pipeline import Pipeline

    def sensor_items(sensor: str, items: list) -> list[Reading]:  # readings only: a source fault ends a tick
        return [replace(i, sensor=sensor) for i in items if isinstance(i, Reading)]

    streams_by_sensor = {s: sensor_items(s, items) for s, (items, _) in zip(SENSORS, cases)}
    alone = {s: _detector(fixture_model, "likelihood") for s in SENSORS}
    expected = {s: [alone[s].score_one(r) for r in streams_by_sensor[s]] for s in SENSORS}
    detectors = {s: _detector(fixture_model, "likelihood") for s in SENSORS}
    for s, d in detectors.items():
        d.sensor = s
    for d in alone.values():
        d.sensor = "pump-1"  # alert ids and lines name the sensor: compare like with like
    pipeline = Pipeline(None, {"m": fixture_model}, dict.fromkeys(SENSORS, "m"), detectors, [], [])  # type: ignore[arg-type]
    got: dict[str, list[Scored]] = {s: [] for s in SENSORS}
    bounds = [0, *sorted(ticks), len(ROWS) + 1]
    for start, end in zip(bounds, bounds[1:]):
        blocks = {s: ([r for r in streams_by_sensor[s] if start <= r.row < end], None) for s in SENSORS}
        for s, outcomes in pipeline.handle_sensors(blocks).items():
            got[s].extend(outcomes)
    for s in SENSORS:
        assert [(o.state, o.score, o.level, o.alerting, o.expected) for o in got[s]] == [
            (o.state, o.score, o.level, o.alerting, o.expected) for o in expected[s]
        ]
        assert detectors[s].counters == alone[s].counters
        mine, theirs = detectors[s].state(), alone[s].state()
        assert {k: v for k, v in mine.items() if k != "sensor"} == {k: v for k, v in theirs.items() if k != "sensor"}
    assert sum(d.forecaster.calls for d in detectors.values()) > 0


def test_sensors_that_tick_together_share_one_lstm_call(fixture_model, monkeypatch) -> None:
    from edge import pipeline as pipelines

    calls = []
    real = pipelines.step_together
    monkeypatch.setattr(pipelines, "step_together", lambda fs, bs: calls.append(len(fs)) or real(fs, bs))
    detectors = {s: _detector(fixture_model, "likelihood") for s in SENSORS}
    pipeline = pipelines.Pipeline(None, {"m": fixture_model}, dict.fromkeys(SENSORS, "m"), detectors, [], [])  # type: ignore[arg-type]
    for i, (stamp, a, b) in enumerate(ROWS[:50]):
        ticks = {s: ([Reading(s, float(stamp), (a + k, b), row=i)], None) for k, s in enumerate(SENSORS)}
        pipeline.handle_sensors(ticks)
    assert calls == [3] * 50
    assert all(d.counters.readings == 50 for d in detectors.values())
