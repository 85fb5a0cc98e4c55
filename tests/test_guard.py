"""The wrapper around every sink: never blocks the caller, retries, bounds its queue, paces, counts."""

from __future__ import annotations

import threading
import time

import pytest

from edge.core.events import Event, Fault
from edge.errors import ConfigError
from edge.plugins import SINK_TYPES, load_spec
from edge.running import DeliverySettings, RunningSink
from edge.sinks.base import Sink


def event(i: int) -> Event:
    return Event("fault", Fault("pump-1", "stale", float(i), f"event {i}"), float(i))


class Recording(Sink):
    """Records what it is sent; can be made to hang or to fail a number of times first."""

    name = "recording"

    def __init__(self, failures: int = 0, gate: threading.Event | None = None) -> None:
        self.got: list[tuple[float, str]] = []
        self.failures, self.gate = failures, gate
        self.closed = 0

    def send(self, event: Event) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        if self.failures:
            self.failures -= 1
            raise OSError("line busy")
        self.got.append((time.monotonic(), event.subject.detail))

    def close(self) -> None:
        self.closed += 1


def test_send_returns_at_once_even_when_the_sink_hangs() -> None:
    gate = threading.Event()
    guard = RunningSink(Recording(gate=gate))
    started = time.monotonic()
    for i in range(100):
        guard.send(event(i))
    assert time.monotonic() - started < 0.05
    gate.set()
    assert guard.flush(5)
    assert [d for _, d in guard.sink.got] == [f"event {i}" for i in range(100)]  # in order


def test_retries_with_back_off_then_succeeds() -> None:
    guard = RunningSink(Recording(failures=2), DeliverySettings(retries=3, retry_initial_s=0.05, retry_max_s=0.2))
    started = time.monotonic()
    guard.send(event(1))
    assert guard.flush(5)
    assert time.monotonic() - started >= 0.05 + 0.1  # waited 0.05 then 0.1 between attempts
    assert guard.counts == {"sent": 1, "failed": 0, "dropped": 0, "retried": 2}


def test_a_full_queue_drops_the_oldest_and_counts_it(caplog) -> None:
    gate = threading.Event()
    guard = RunningSink(Recording(gate=gate), DeliverySettings(buffer=5))
    for i in range(20):
        guard.send(event(i))
    gate.set()
    assert guard.flush(5)
    delivered = [d for _, d in guard.sink.got]
    assert delivered[-5:] == [f"event {i}" for i in range(15, 20)]
    assert guard.counts["dropped"] == 20 - len(delivered)
    assert "queue of 5 is full, oldest events dropped" in caplog.text


def test_rate_limit_spaces_deliveries_out() -> None:
    guard = RunningSink(Recording(), DeliverySettings(rate_per_s=50.0))
    for i in range(6):
        guard.send(event(i))
    assert guard.flush(5)
    times = [t for t, _ in guard.sink.got]
    assert times[-1] - times[0] >= 5 / 50.0 * 0.9


def test_close_delivers_what_is_queued_then_closes_the_sink_once() -> None:
    guard = RunningSink(Recording())
    for i in range(10):
        guard.send(event(i))
    guard.close()
    assert len(guard.sink.got) == 10 and guard.sink.closed == 1
    guard.send(event(11))  # after close: counted, not delivered
    assert guard.counts["dropped"] == 1


def test_delivery_keys_are_accepted_on_every_sink_and_checked() -> None:
    spec = load_spec(SINK_TYPES, "sink", {"type": "log", "retries": 5, "rate_per_s": 2.0}, "[[sinks]] #1")
    assert spec.delivery == DeliverySettings(retries=5, rate_per_s=2.0)
    with pytest.raises(ConfigError, match="allowed keys: clears, faults, buffer, retries"):
        load_spec(SINK_TYPES, "sink", {"type": "log", "retry": 5}, "[[sinks]] #1")
    with pytest.raises(ConfigError, match="buffer must be at least 1"):
        load_spec(SINK_TYPES, "sink", {"type": "log", "buffer": 0}, "[[sinks]] #1")


def test_a_store_and_forward_sink_is_called_directly_so_nothing_waits_in_memory() -> None:
    class Outboxed(Recording):
        store_and_forward = True

    sink = Outboxed()
    guard = RunningSink(sink)
    guard.send(event(1))
    assert [d for _, d in sink.got] == ["event 1"]  # stored before send returned
    assert guard.counts["sent"] == 1 and guard._thread is None


class Queued(Recording):
    """A sink with its own counters: a count of deliveries and a level (what it holds now)."""

    LEVELS = frozenset({"waiting"})

    def counters(self) -> dict[str, int]:
        return {"delivered": len(self.got), "waiting": 7 - len(self.got)}


def test_a_replacing_sink_goes_on_counting_but_levels_are_read_as_they_are() -> None:
    old = RunningSink(Queued(failures=1), DeliverySettings(retries=2, retry_initial_s=0.001, retry_max_s=0.001))
    for i in range(3):
        old.send(event(i))
    old.flush()
    old.close()
    new = RunningSink(Queued())
    new.carry_over(old)
    new.send(event(9))
    new.flush()
    assert new.totals() == {
        "sent": 4,
        "failed": 0,
        "dropped": 0,
        "retried": 1,
        "recording.delivered": 4,
        "recording.waiting": 6,
    }
    newer = RunningSink(Queued())
    newer.carry_over(new)
    assert newer.totals()["sent"] == 4 and newer.totals()["recording.delivered"] == 4
    new.close()


def test_every_sink_can_watch_some_sensors_only() -> None:
    recording = Recording()
    guard = RunningSink(recording, DeliverySettings(sensors=["pump-2"]))
    guard.send(event(1))  # pump-1
    guard.send(Event("fault", Fault("pump-2", "stale", 2.0, "event 2"), 2.0))
    guard.flush()
    assert [detail for _, detail in recording.got] == ["event 2"] and guard.counts["sent"] == 1
    guard.close()
