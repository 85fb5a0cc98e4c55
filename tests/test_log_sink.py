"""The log sink: one line a technician reads at once, and the same event as journald fields."""

from __future__ import annotations

import logging
from pathlib import Path

from sockets import datagram_listener, parse_journal

from edge.core.events import Alert, Event, Fault
from edge.pipeline import Pipeline
from edge.plugins import PluginContext
from edge.running import DeliverySettings, RunningSink
from edge.service.journal import JournalHandler, JournalSender
from edge.sinks.base import Sink
from edge.sinks.log import Config, LogSink, alert_line, fault_line

START = 1_764_000_000.0  # 2025-11-24 16:00:00 UTC
ALERT = Alert(
    id="5c0e7a9d2b1f4e3a",
    sensor="pump-1",
    channels=("temperature",),
    start=START,
    score=0.998,
    threshold=0.99,
    observed=(81.2,),
    expected=(74.9,),
    model_sha256="ab" * 32,
)


def context(tmp_path: Path) -> PluginContext:
    return PluginContext(("temperature",), 60.0, "ab" * 32, tmp_path, tmp_path)


def test_alert_and_clear_lines_say_what_where_and_why() -> None:
    assert alert_line(Event("alert", ALERT, START)) == (
        "ALERT pump-1/temperature score=0.998 minor (threshold 0.990) observed=81.2 expected=74.9 "
        "since 2025-11-24 16:00:00 [id 5c0e7a9d2b1f4e3a]"
    )
    cleared = Alert(**{**ALERT.__dict__, "end": START + 250.0, "ended_by": "back to normal"})
    assert alert_line(Event("clear", cleared, START + 250.0)).startswith(
        "CLEAR pump-1/temperature after 4m10s (back to normal), peak score=0.998 minor (threshold 0.990)"
    )
    severe = Alert(**{**ALERT.__dict__, "score": 0.9, "threshold": 0.3})
    assert " critical (threshold 0.300)" in alert_line(Event("alert", severe, START))


def test_fault_lines_say_scoring_paused_or_restarted() -> None:
    nan = Fault("pump-1", "nan", START, "temperature is not a number", ("temperature",))
    assert fault_line(Event("fault", nan, START)) == (
        "FAULT pump-1 nan: temperature is not a number; the model's forecast fills it, scoring goes on"
    )
    stale = Fault("pump-1", "stale", START, "no reading for 90 s")
    assert fault_line(Event("fault", stale, START)).endswith("; scoring paused")
    gap = Fault("pump-1", "time_gap", START, "no data for 600 s (expected every 60 s)", end=START + 600)
    assert fault_line(Event("fault", gap, START)).endswith("; scoring restarts with a warm-up")
    over = Fault("pump-1", "nan", START, "x", end=START + 75.0)
    assert fault_line(Event("fault_cleared", over, START + 75)) == (
        "FAULT CLEARED pump-1 nan after 1m15s; scoring resumes"
    )


def test_events_reach_journald_with_structured_fields(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.socket")
    logger = logging.getLogger("edge.core.events")
    with datagram_listener(path) as sock:
        handler = JournalHandler(JournalSender(path))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            LogSink(Config(), context(tmp_path)).send(Event("alert", ALERT, START))
            fields = dict(parse_journal(sock.recv(65536)))
        finally:
            logger.removeHandler(handler)
    assert fields["MESSAGE"].startswith("ALERT pump-1/temperature score=0.998")
    assert fields["PRIORITY"] == "4" and fields["SYSLOG_IDENTIFIER"] == "edge-agent"
    assert fields["ALERT_ID"] == "5c0e7a9d2b1f4e3a" and fields["SENSOR"] == "pump-1"
    assert fields["CHANNEL"] == "temperature" and fields["EVENT"] == "ALERT"
    assert float(fields["SCORE"]) == 0.998 and float(fields["THRESHOLD"]) == 0.99
    assert fields["OBSERVED"] == "81.2" and fields["EXPECTED"] == "74.9"
    assert fields["MODEL_SHA"] == "ab" * 32 and fields["START"] == "2025-11-24T16:00:00.000Z"


def test_options_leave_out_clears_and_faults(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    sink = LogSink(Config(clears=False, faults=False), context(tmp_path))
    sink.send(Event("clear", ALERT, START))
    sink.send(Event("fault", Fault("pump-1", "stale", START, "no reading for 90 s"), START))
    assert caplog.text == ""
    sink.send(Event("alert", ALERT, START))
    assert "ALERT pump-1/temperature" in caplog.text


class BrokenSink(Sink):
    name = "broken"

    def send(self, event: Event) -> None:
        raise ConnectionError("broker unreachable")


def test_a_failing_sink_is_counted_and_never_blocks_the_others(tmp_path: Path, caplog, fixture_model) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    fast = DeliverySettings(retries=2, retry_initial_s=0.01, retry_max_s=0.02)
    broken, log = RunningSink(BrokenSink(), fast), RunningSink(LogSink(Config(), context(tmp_path)))
    pipeline = Pipeline(
        config=None, models={"m": fixture_model}, model_of={}, detectors={}, sources=[], sinks=[broken, log]
    )  # type: ignore[arg-type]
    for _ in range(3):
        pipeline.dispatch([Event("alert", ALERT, START)])
    assert log.flush(2.0) and broken.flush(2.0)
    assert broken.counts == {"sent": 0, "failed": 3, "dropped": 0, "retried": 6}
    assert log.counts["sent"] == 3 and log.counts["failed"] == 0
    assert caplog.text.count("sink broken failed to send alert event: broker unreachable") == 1
    assert list(pipeline.recent_alerts)[-1].subject is ALERT
