"""Sensor faults are told apart from anomalies, each as its own event."""

from __future__ import annotations

import math
import time

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from edge.core.events import Reading
from edge.core.faults import FaultMonitor, FaultSettings, longest_flat_runs

CHANNELS = ("temp", "vib")


def monitor(**settings: float) -> FaultMonitor:
    return FaultMonitor("pump-1", CHANNELS, FaultSettings(sample_period_s=10.0, **settings))  # type: ignore[arg-type]


def reading(t: float, values: tuple[float, ...] = (1.0, 2.0), sequence: int | None = None) -> Reading:
    return Reading("pump-1", t, values, sequence)


def kinds(check) -> list[tuple[str, str]]:
    return [(e.kind, e.subject.kind) for e in check.events]


def test_a_steady_stream_has_no_faults() -> None:
    m = monitor()
    checks = [m.check(reading(10.0 * i, (float(i), float(-i)), i)) for i in range(100)]
    assert all(c.scorable and not c.resumed and not c.events for c in checks)


def test_nan_is_a_fault_until_a_finite_reading_ends_it() -> None:
    m = monitor()
    m.check(reading(0.0))
    first_nan = m.check(reading(10.0, (math.nan, 2.0)))
    assert not first_nan.scorable
    assert kinds(first_nan) == [("fault", "nan")]
    assert first_nan.events[0].subject.channels == ("temp",)
    assert "temp is not a number" in first_nan.events[0].subject.detail
    assert m.check(reading(20.0, (math.inf, 2.0))).events == []  # one event per fault, not per reading
    back = m.check(reading(30.0, (1.5, 2.0)))
    assert back.scorable and not back.resumed  # the detector bridged the values, or re-warmed if it could not
    assert kinds(back) == [("fault_cleared", "nan")]
    assert back.events[0].subject.start == 10.0 and back.events[0].subject.end == 30.0


def test_a_time_gap_is_a_finished_fault_and_breaks_the_stream() -> None:
    m = monitor(max_gap_periods=3.0)
    m.check(reading(0.0))
    assert m.check(reading(30.0)).events == []  # exactly three periods is not a gap
    gap = m.check(reading(100.0))
    assert gap.scorable and gap.resumed
    assert kinds(gap) == [("fault", "time_gap")]
    fault = gap.events[0].subject
    assert (fault.start, fault.end) == (30.0, 100.0)
    assert "no data for 70 s (expected every 10 s)" in fault.detail
    assert m.active == {}


def test_time_going_backwards_is_a_gap() -> None:
    m = monitor()
    m.check(reading(100.0))
    back = m.check(reading(50.0))
    assert kinds(back) == [("fault", "time_gap")] and "went back 50 s" in back.events[0].subject.detail


def test_a_repeated_timestamp_is_another_sample_not_a_gap() -> None:
    m = monitor()
    m.check(reading(100.0))
    again = m.check(reading(100.0, (21.0, 1.0)))
    assert again.scorable and not again.resumed and kinds(again) == []


def test_sequence_gap_counts_the_lost_readings_across_the_wrap() -> None:
    m = monitor()
    m.check(reading(0.0, sequence=65534))
    assert m.check(reading(10.0, sequence=65535)).events == []
    assert m.check(reading(20.0, sequence=0)).events == []  # 16-bit wrap is not a gap
    short = m.check(reading(30.0, sequence=3))  # 2 lost: bridged by the detector, no fault
    assert kinds(short) == [] and short.missing == 2 and not short.resumed
    gap = m.check(reading(40.0, sequence=10))
    assert kinds(gap) == [("fault", "sequence_gap")] and gap.resumed and gap.missing == 0
    assert gap.events[0].subject.detail.startswith("6 readings lost")


def test_a_short_time_gap_is_counted_for_bridging_and_a_long_one_breaks_the_stream() -> None:
    m = monitor()
    m.check(reading(0.0))
    assert m.check(reading(10.0)).missing == 0
    step = m.check(reading(40.0))  # two readings missing at one every 10 s
    assert step.missing == 2 and not step.events and not step.resumed
    long = m.check(reading(200.0))
    assert kinds(long) == [("fault", "time_gap")] and long.resumed


def test_flatline_pauses_scoring_until_the_value_moves() -> None:
    m = monitor(flatline_samples=5)
    checks = [m.check(reading(10.0 * i, (7.0, float(i)))) for i in range(6)]
    assert [c.scorable for c in checks] == [True, True, True, True, False, False]
    assert kinds(checks[4]) == [("fault", "flatline")]
    assert checks[4].events[0].subject.channels == ("temp",)
    moved = m.check(reading(60.0, (7.5, 6.0)))
    assert moved.scorable and moved.resumed and kinds(moved) == [("fault_cleared", "flatline")]


def test_the_longest_flat_run_is_counted_per_channel_within_segments() -> None:
    series = np.array([[1, 5], [1, 5], [1, 6], [2, 6], [2, 6], [2, 6], [2, 7]], dtype=float)
    assert longest_flat_runs(series, [(0, 7)]) == (4, 4)
    assert longest_flat_runs(series, [(0, 4), (4, 7)]) == (3, 2)  # a run does not go on across a break


def test_a_channel_that_held_its_value_in_training_is_stuck_only_at_twice_that() -> None:
    settings = FaultSettings(sample_period_s=10.0, flatline_samples=5)
    m = FaultMonitor("pump-1", CHANNELS, settings, flat_runs=(1, 40))  # vib held a value for 40 readings
    checks = [m.check(reading(10.0 * i, (float(i), 3.0))) for i in range(90)]
    assert [i for i, c in enumerate(checks) if c.events] == [79]
    fault = checks[79].events[0].subject
    assert fault.channels == ("vib",)
    assert (
        fault.detail
        == "vib unchanged for 80 readings; at most 40 in the training history (stuck sensor or frozen value)"
    )
    m = FaultMonitor("pump-1", CHANNELS, settings, flat_runs=(1, 40))
    checks = [m.check(reading(10.0 * i, (7.0, float(i)))) for i in range(10)]
    assert [i for i, c in enumerate(checks) if c.events] == [4]  # temp never held a value: the configured 5
    assert checks[4].events[0].subject.detail == "temp unchanged for 5 readings (stuck sensor or frozen value)"


def test_stale_is_raised_on_the_service_clock_and_cleared_by_the_next_reading() -> None:
    m = monitor(stale_after_s=30.0)
    m.check(reading(0.0), received=1000.0)
    assert m.tick(1029.0) == []
    stale = m.tick(1031.0)
    assert [(e.kind, e.subject.kind) for e in stale] == [("fault", "stale")]
    assert stale[0].subject.start == 31.0  # in the sensor's time, not the service's monotonic clock
    assert m.tick(1100.0) == []  # raised once
    back = m.check(reading(110.0), received=1110.0)
    assert back.resumed and kinds(back)[0] == ("fault_cleared", "stale")  # (and a time gap: 110 s of no data)
    assert back.events[0].subject.end - back.events[0].subject.start == 79.0


def test_a_silent_sensor_is_stale_even_if_it_never_sent_anything() -> None:
    m = monitor(stale_after_s=5.0)
    assert m.tick(100.0) == []
    stale = m.tick(106.0)
    assert [e.subject.kind for e in stale] == ["stale"]
    assert abs(stale[0].subject.start - time.time()) < 60  # no reading to go by: the wall clock


def test_source_faults_come_and_go_once() -> None:
    m = monitor()
    assert [e.kind for e in m.source_fault("port gone", 5.0, cleared=False)] == ["fault"]
    assert m.source_fault("port gone", 6.0, cleared=False) == []
    back = m.check(reading(7.0))
    assert back.resumed and kinds(back) == [("fault_cleared", "source")]


@given(st.lists(st.tuples(st.floats(0.1, 100.0), st.booleans()), min_size=1, max_size=60))
def test_every_active_fault_is_raised_once_and_cleared_once(steps: list[tuple[float, bool]]) -> None:
    m = monitor(flatline_samples=0)
    t, raised, cleared = 0.0, 0, 0
    for dt, is_nan in steps:
        t += dt
        check = m.check(reading(t, (math.nan if is_nan else t, 1.0 + t)))
        assert check.scorable == (not is_nan)
        raised += sum(1 for e in check.events if e.kind == "fault" and e.subject.end is None)
        cleared += sum(1 for e in check.events if e.kind == "fault_cleared")
    assert raised - cleared == len(m.active)
