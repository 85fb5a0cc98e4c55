"""The service: sd_notify on a real socket, SIGTERM, reload, checkpoints, status and check."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL, live_rows, write_config, write_history
from sockets import datagram_listener

from edge.cli import main
from edge.core.compiled_condition import compiled_condition_core
from edge.core.scorers.compiled import compiled_core
from edge.service.agent import Service
from edge.service.notify import Notifier

HEADER = "timestamp,temperature,vibration"


def replay_body(csv: Path, rate: float, sensor: str = "pump-1") -> str:
    return (
        f'[[sources]]\ntype = "replay"\nsensor = "{sensor}"\npath = "{csv}"\nrate = {rate}\n\n[[sinks]]\ntype = "log"\n'
    )


# A ceiling, not a figure: under qemu an agent takes 6-9 s only to import its modules and load its model, so a
# loaded CI machine can pass 10 s before READY=1.
WAIT_S = 30.0 if os.environ.get("EDGE_TEST_EMULATOR") else 10.0


def messages(sock: socket.socket, until: str, timeout: float = WAIT_S) -> list[str]:
    """Datagrams received until one contains ``until``."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        if until in got[-1]:
            return got
    raise AssertionError(f"no {until!r} within {timeout} s; got {got}")


@contextmanager
def running(service: Service) -> Iterator[threading.Thread]:
    """Run the service in a thread; always stop and join it."""
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        service.request_stop()
        thread.join(10)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_ready_status_watchdog_and_stopping_reach_the_notify_socket(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(400), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=200.0))
    with datagram_listener(str(tmp_path / "notify")) as sock:
        notifier = Notifier(str(tmp_path / "notify"), watchdog_usec=200_000)
        service = Service(config, notifier)
        with running(service):
            ready = messages(sock, "READY=1")
            assert ready[0].startswith("READY=1\nSTATUS=pump-1 ")
            assert service.pipeline is not None  # READY only after the pipeline is built and open
            later = messages(sock, "STATUS=")
            later += messages(sock, "WATCHDOG=1") + messages(sock, "WATCHDOG=1")
            status = next(m for m in later if m.startswith("STATUS="))
            assert re.match(r"STATUS=pump-1 (ok|ALERT) readings=\d+ scored=\d+ alerts=\d+ faults=0 dropped=0$", status)
            assert "WATCHDOG=1" in later
        assert messages(sock, "STOPPING=1")[-1] == "STOPPING=1"


def drain(sock: socket.socket, seconds: float) -> list[str]:
    """Every datagram that arrives within ``seconds``."""
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
    return got


def test_watchdog_is_fed_between_the_readings_of_a_slow_sensor(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(50), HEADER)
    body = replay_body(csv, rate=0.001) + "\n[detector]\nstale_after_s = 30.0\n"  # one reading, then a long wait
    with datagram_listener(str(tmp_path / "notify"), timeout=0.05) as sock:
        service = Service(write_config(tmp_path, body), Notifier(str(tmp_path / "notify"), watchdog_usec=100_000))
        with running(service):
            messages(sock, "READY=1")
            pings = drain(sock, 1.0).count("WATCHDOG=1")
    assert pings >= 3  # at every idle wake-up of the loop (POLL_S): the sensor is slow, not lost


def test_watchdog_starves_once_a_sensor_is_silent_past_its_stale_limit(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(50), HEADER)
    body = replay_body(csv, rate=0.001) + "\n[detector]\nstale_after_s = 0.3\n"
    with datagram_listener(str(tmp_path / "notify"), timeout=0.05) as sock:
        service = Service(write_config(tmp_path, body), Notifier(str(tmp_path / "notify"), watchdog_usec=100_000))
        with running(service):
            before = messages(sock, "READY=1") + drain(sock, 0.2)
            # once the sensor is stale (the status says so), no more pings: however slow the machine
            messages(sock, "STATUS=pump-1 fault")
            after = drain(sock, 1.0)
    assert "WATCHDOG=1" in before and "WATCHDOG=1" not in after


def test_sigterm_drains_flushes_checkpoints_and_exits_zero(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(2000), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=400.0))
    with datagram_listener(str(tmp_path / "notify")) as sock:
        env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")}
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--config", str(config)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        messages(sock, "READY=1")
        time.sleep(0.7)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
        assert agent.returncode == 0, err
        assert messages(sock, "STOPPING=1")
    assert "edge-agent started" in err and "edge-agent stopped" in err and "Traceback" not in err
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    sensor = status["sensors"]["pump-1"]
    assert status["state"] == "stopped"
    assert 50 < sensor["counters"]["readings"] < 2000
    assert sensor["counters"]["readings"] == sensor["source"]["readings"]  # nothing left in the queue
    checkpoint = json.loads((tmp_path / "state" / "checkpoint.json").read_text())
    assert checkpoint["sensors"]["pump-1"]["seen"] == sensor["counters"]["readings"]


def test_restart_restores_state_and_skips_the_warm_up(tmp_path: Path, caplog) -> None:
    rows = live_rows(300)
    first = write_config(tmp_path, replay_body(write_history(tmp_path / "a.csv", rows[:200], HEADER), 0.0), "a.toml")
    assert Service(first, Notifier()).run() == 0
    second = write_config(tmp_path, replay_body(write_history(tmp_path / "b.csv", rows[200:], HEADER), 0.0), "b.toml")
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(second, Notifier())
    assert service.run() == 0
    counters = service.pipeline.detectors["pump-1"].counters
    assert "state restored for pump-1" in caplog.text
    assert (counters.readings, counters.warmup, counters.scored) == (100, 0, 100)


def test_a_checkpoint_of_another_model_is_not_used(tmp_path: Path, caplog) -> None:
    rows = live_rows(100)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "checkpoint.json").write_text(
        json.dumps({"format": 1, "sensors": {"pump-1": {"model_sha256": "f" * 64}}})
    )
    config = write_config(tmp_path, replay_body(write_history(tmp_path / "a.csv", rows, HEADER), 0.0))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    service.run()
    assert "saved state from" in caplog.text and "written for another model" in caplog.text
    assert service.pipeline.detectors["pump-1"].counters.warmup == 16


def test_reload_swaps_to_a_valid_config_and_keeps_the_old_one_otherwise(tmp_path: Path, caplog) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(3000), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=300.0))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    with running(service):
        _reload_swaps_or_keeps(service, config, caplog)


def _reload_swaps_or_keeps(service: Service, config: Path, caplog) -> None:
    wait_for(lambda: service.pipeline is not None and service.pipeline.detectors["pump-1"].counters.readings > 20)
    original = service.pipeline
    text = config.read_text()
    config.write_text(text.replace("[model]\n", "[model]\nthreshold = 0.5\n"))
    service.request_reload()
    wait_for(lambda: service.pipeline is not original)
    swapped = service.pipeline
    assert swapped.detectors["pump-1"].settings.decision.threshold == 0.5
    assert swapped.detectors["pump-1"].counters is original.detectors["pump-1"].counters  # counting goes on
    config.write_text(text.replace("[detector]", "").replace("[model]\n", "[model]\ntreshold = 0.4\n"))
    service.request_reload()
    wait_for(lambda: "reload failed" in caplog.text)
    assert service.pipeline is swapped
    assert "unknown key 'treshold'" in caplog.text
    readings = swapped.detectors["pump-1"].counters.readings
    wait_for(lambda: swapped.detectors["pump-1"].counters.readings > readings + 10)  # still scoring


def test_reload_keeps_running_when_the_new_model_is_tampered(tmp_path: Path, caplog) -> None:

    csv = write_history(tmp_path / "live.csv", live_rows(3000), HEADER)
    model = tmp_path / "model.onnx"
    model.write_bytes(FIXTURE_MODEL.read_bytes())
    config = write_config(tmp_path, replay_body(csv, rate=300.0))
    config.write_text(config.read_text().replace(str(FIXTURE_MODEL), "model.onnx"))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    with running(service):
        wait_for(lambda: service.pipeline is not None)
        original = service.pipeline
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
        service.request_reload()
        wait_for(lambda: "reload failed" in caplog.text)
        assert service.pipeline is original and "was modified" in caplog.text


def test_status_command_reads_the_status_file(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, replay_body(write_history(tmp_path / "a.csv", live_rows(60), HEADER), 0.0))
    Service(config, Notifier()).run()
    # a technician reads the status without sudo; the checkpoint (detector state) stays the agent's own
    assert (tmp_path / "run" / "status.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "state" / "checkpoint.json").stat().st_mode & 0o777 == 0o600
    shown = json.loads((tmp_path / "run" / "status.json").read_text())["sensors"]["pump-1"]
    assert shown["scorer"] == ("likelihood (Python)" if compiled_core() is None else "likelihood (compiled)")
    assert shown["condition"] == ("Python" if compiled_condition_core() is None else "compiled")
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "edge-agent not running" in out and "state stopped" in out
    assert "sensor pump-1: scoring (model model, threshold " in out and "; last " in out and "readings=60" in out
    assert f"model model: {FIXTURE_MODEL} (int8, weights " in out
    assert main(["status", "--runtime-dir", str(tmp_path / "nowhere")]) == 2
    assert "no status file in" in capsys.readouterr().err


def test_check_opens_what_it_can_and_reports(tmp_path: Path, capsys) -> None:
    csv = write_history(tmp_path / "a.csv", live_rows(10), HEADER)
    assert main(["check", "--config", str(write_config(tmp_path, replay_body(csv, 0.0)))]) == 0
    out = capsys.readouterr().out
    assert "config " in out and ": valid" in out and "verified (int8" in out
    assert "\nok    replay " in out and "\nok    log" in out and out.endswith("no problems found\n")
    missing = write_config(tmp_path, replay_body(tmp_path / "gone.csv", 0.0), "m.toml")
    assert main(["check", "--config", str(missing)]) == 2
    captured = capsys.readouterr()
    assert "FAIL  replay" in captured.out and "cannot open" in captured.out
    assert "gone.csv" in captured.err.splitlines()[-1]


@pytest.mark.parametrize("argv", [["sample-config"]])
def test_sample_config_prints_every_plugin(argv, capsys) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert 'type = "replay"' in out and 'type = "log"' in out and "[detector]" in out


def test_two_sensors_share_the_model_but_not_their_state(tmp_path: Path) -> None:
    rows = live_rows(120)
    spiked = list(rows)
    t, temp, vib = spiked[80]
    spiked[80] = (t, temp + 40.0, vib)
    second = replay_body(write_history(tmp_path / "b.csv", spiked, HEADER), 0.0, "pump-b")
    body = replay_body(write_history(tmp_path / "a.csv", rows, HEADER), 0.0, "pump-a") + second.split("[[sinks]]")[0]
    config = write_config(tmp_path, body)
    service = Service(config, Notifier())  # the default scorer (likelihood) at its own threshold
    assert service.run() == 0
    a, b = service.pipeline.detectors["pump-a"], service.pipeline.detectors["pump-b"]
    assert a.forecaster is not b.forecaster and a.forecaster.state[0] is not b.forecaster.state[0]
    assert (a.counters.readings, b.counters.readings) == (120, 120)
    assert (a.counters.alerts, b.counters.alerts) == (0, 1)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert set(status["sensors"]) == {"pump-a", "pump-b"}
    assert status["last_alerts"][0]["sensor"] == "pump-b"


def test_readings_that_arrive_together_are_scored_as_blocks_with_one_at_a_times_results(tmp_path: Path) -> None:
    from edge.config import DetectorSection
    from edge.core.detector import Detector
    from edge.core.events import Reading

    rows = list(live_rows(600))
    t, temp, vib = rows[300]
    rows[300] = (t, temp + 40.0, vib)
    rows[400] = (rows[400][0], "nan", rows[400][2])
    del rows[450:452]  # two readings lost in time: bridged
    config = write_config(tmp_path, replay_body(write_history(tmp_path / "live.csv", rows, HEADER), 0.0))
    service = Service(config, Notifier())
    assert service.run() == 0
    served = service.pipeline.detectors["pump-1"]
    one_at_a_time = Detector(
        "pump-1", service.pipeline.model, DetectorSection().resolve(service.pipeline.model.metadata, None)
    )
    for i, (stamp, a, b) in enumerate(rows):
        one_at_a_time.score_one(Reading("pump-1", float(stamp), (float(a), float(b)), row=i))
    assert served.counters == one_at_a_time.counters and served.counters.alerts == 1
    assert served.state() == one_at_a_time.state()
    assert served.forecaster.calls < len(rows) / 10  # the replay source hands over 256 readings at a time


def test_counters_are_logged_periodically_with_each_sources_own(tmp_path: Path, caplog) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(400), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=400.0))
    config.write_text(config.read_text().replace("[agent]\n", "[agent]\ncounters_log_interval_s = 0.2\n"))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    with running(service):
        wait_for(lambda: "source replay " in caplog.text)
    line = next(m for m in caplog.messages if m.startswith("counters: pump-1 "))
    assert re.search(r"readings=\d+ scored=\d+ alerts=\d+ faults=\d+ dropped=0", line)
    assert re.search(r"source replay .* for pump-1 .*: bad_values=0 dropped_rows=0 readings=\d+ rows=\d+", caplog.text)


def test_a_pump_queues_one_reads_items_and_what_was_buffered_meanwhile_as_one_entry() -> None:
    import queue as queues

    from edge.core.events import Reading
    from edge.service.agent import RunningSource
    from edge.sources.base import Source

    def reading(i: int) -> Reading:
        return Reading("pump-1", float(i), (1.0, 2.0))

    class Burst(Source):
        sensor = "pump-1"
        reads = 0

        def read(self, timeout: float) -> list:
            self.reads += 1
            return [reading(0), reading(1)]

        def read_buffered(self) -> list:
            return [reading(2)]

        @property
        def finished(self) -> bool:
            return self.reads >= 1

    items: queues.Queue = queues.Queue()
    RunningSource(Burst(), items, threading.Event(), gather_s=0.01).run()
    entry = items.get_nowait()
    assert [r.timestamp for r, _ in entry] == [0.0, 1.0, 2.0]
    assert entry[0][1] == entry[1][1] < entry[2][1]  # each item keeps the time its read returned
    assert type(items.get_nowait()).__name__ == "Finished"


def test_a_source_that_raises_becomes_a_fault_and_is_retried() -> None:
    import queue as queues

    from edge.core.events import SourceFault
    from edge.service.agent import RunningSource
    from edge.sources.base import Source

    class Flaky(Source):
        sensor = "pump-1"
        calls = 0

        def read(self, timeout: float) -> list:
            self.calls += 1
            if self.calls == 1:
                raise OSError("bus wedged")
            return []

        @property
        def finished(self) -> bool:
            return self.calls >= 2

    items: queues.Queue = queues.Queue()
    pump = RunningSource(Flaky(), items, threading.Event())
    pump.run()  # in this thread: raises once, waits its back-off, then finishes
    [(fault, received)] = items.get_nowait()
    assert isinstance(fault, SourceFault) and fault.message == "source failed: bus wedged" and received > 0
    assert pump.errors == 1 and type(items.get_nowait()).__name__ == "Finished"


def test_reload_command_waits_for_the_verdict_and_fails_when_the_agent_keeps_the_old_config(
    tmp_path: Path, capsys
) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(2000), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=20.0))
    run_dir = str(tmp_path / "run")
    with datagram_listener(str(tmp_path / "notify")) as sock:
        env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")}
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--config", str(config)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            messages(sock, "READY=1")
            assert main(["reload", "--runtime-dir", run_dir, "--timeout", "20"]) == 0
            assert capsys.readouterr().out.startswith("reloaded: model ")
            config.write_text(config.read_text() + "\n[bogus]\n")
            assert main(["reload", "--runtime-dir", run_dir, "--timeout", "20"]) == 2
            err = capsys.readouterr().err
            assert "reload failed, the previous configuration runs on: " in err and "bogus" in err
            assert agent.poll() is None  # still running, on the old configuration
            assert main(["status", "--runtime-dir", run_dir]) == 0
            assert "FAILED, the previous configuration runs on" in capsys.readouterr().out
            config.write_text(config.read_text().replace("[model]\n", '[model]\nthreshold = "high"\n'))  # a bad type
            assert main(["reload", "--config", str(config), "--timeout", "20"]) == 2  # found through the broken file
            err = capsys.readouterr().err
            assert "reload failed, the previous configuration runs on: " in err
            summary = json.loads((tmp_path / "run" / "status.json").read_text())
            assert summary["last_reload"]["ok"] is False and summary["last_reload"]["count"] == 3
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.communicate(timeout=20)


def _alerting_rows() -> list[tuple]:
    rows = [list(r) for r in live_rows(1600)]
    for row in rows[300:1100]:
        row[1] += 40.0  # a lasting condition: the alert stays open for a while
    rows[200][1] = "nan"  # a fault before it, counted by kind
    return [tuple(r) for r in rows]


def test_a_reload_keeps_recent_alerts_and_every_counter(tmp_path: Path, caplog) -> None:
    csv = write_history(tmp_path / "live.csv", _alerting_rows(), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=400.0))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    with running(service):
        wait_for(lambda: service.pipeline is not None and service.pipeline.detectors["pump-1"].alert is not None)
        old = service.pipeline
        before = old.detectors["pump-1"]
        # a changed source (its rate) is built anew: its counters go on from the old one's
        config.write_text(config.read_text().replace("rate = 400.0", "rate = 401.0"))
        service.request_reload()
        wait_for(lambda: service.pipeline is not old)
        assert service.pipeline.sources[0] is not old.sources[0]
        after = service.pipeline.detectors["pump-1"]
        assert after.counters is before.counters and after.faults.counts.get("nan") == 1
        assert [e.subject.id for e in service.pipeline.recent_alerts][:1] == [before.alert.id]

        def read_status() -> dict:
            return json.loads((tmp_path / "run" / "status.json").read_text())

        wait_for(lambda: (read_status().get("last_reload") or {}).get("ok") is True)  # written once swapped
        status = read_status()
        assert status["last_alerts"] and status["last_alerts"][0]["id"] == before.alert.id
        assert status["sensors"]["pump-1"]["source"]["rows"] >= old.sources[0].counters()["rows"] > 0
    new = service.pipeline
    source, sink = new.sources[0], new.sinks[0]
    # the source's and the sink's counters go on from the old instances' totals
    assert new.source_counters(source)["rows"] == old.sources[0].counters()["rows"] + source.counters()["rows"]
    assert sink.totals()["sent"] == old.sinks[0].counts["sent"] + sink.counts["sent"]
    assert old.sinks[0].counts["sent"] > 0


def _detector_with_open_alert(model, threshold: float | None = None):
    from edge.config import DetectorSection
    from edge.core.detector import Detector
    from edge.core.events import Reading

    def make(t: float | None) -> Detector:
        return Detector("pump-1", model, DetectorSection().resolve(model.metadata, t))

    stream = [
        Reading("pump-1", float(t), (float(a), float(b)), row=i)
        for i, (t, a, b) in enumerate(_alerting_rows())
        if a != "nan"
    ]
    old = make(None)
    for reading in stream[:400]:
        old.score_one(reading)
    assert old.alert is not None
    new = make(threshold)
    new.restore(old.state())
    return old, new, stream[400:]


def test_an_open_alert_goes_on_across_a_reload_that_keeps_its_settings(fixture_model) -> None:
    old, new, rest = _detector_with_open_alert(fixture_model)
    alert = old.alert
    assert new.carry_over(old) == [] and new.alert is alert
    clears = [e for r in rest for e in new.score_one(r).events if e.kind == "clear"]
    assert [(c.subject.id, c.subject.ended_by) for c in clears][:1] == [(alert.id, "back to normal")]


def test_a_reload_that_changes_the_threshold_closes_the_open_alert_and_says_so(fixture_model) -> None:
    old, new, _ = _detector_with_open_alert(fixture_model, threshold=0.9)
    [clear] = new.carry_over(old)
    assert (
        clear.kind == "clear"
        and clear.subject.id == old.alert.id
        and clear.subject.ended_by == "closed by a reload with new settings"
    )
    assert new.alert is None and new.counters is old.counters


def test_a_reload_keeps_an_unchanged_source_open_and_rebuilds_a_changed_one(tmp_path: Path, caplog) -> None:
    """A source whose settings did not change is taken over open: the file (or port) reads on, nothing is
    read twice or lost; one whose settings changed is closed and built anew."""
    csv = write_history(tmp_path / "live.csv", live_rows(600), HEADER)
    config = write_config(tmp_path, replay_body(csv, rate=500.0))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    with running(service) as thread:
        wait_for(lambda: service.pipeline is not None and service.pipeline.detectors["pump-1"].counters.readings > 100)
        first = service.pipeline
        config.write_text(config.read_text().replace("[agent]\n", "[agent]\ncounters_log_interval_s = 900.0\n"))
        service.request_reload()
        wait_for(lambda: service.pipeline is not first)
        assert service.pipeline.sources[0] is first.sources[0]
        thread.join(timeout=10)
    detector = service.pipeline.detectors["pump-1"]
    assert detector.counters.readings == 600 and detector.faults.counts.get("time_gap", 0) == 0
    assert "sources kept open: pump-1" in caplog.text
    kept = service.pipeline
    config.write_text(config.read_text().replace("rate = 500.0", "rate = 400.0"))
    again = Service(config, Notifier())
    with running(again):
        wait_for(lambda: again.pipeline is not None)
        before = again.pipeline
        config.write_text(config.read_text().replace("rate = 400.0", "rate = 300.0"))
        again.request_reload()
        wait_for(lambda: again.pipeline is not before)
        assert again.pipeline.sources[0] is not before.sources[0] and kept is not before


def test_observers_see_every_outcome_once_and_a_failing_one_never_stops_scoring(tmp_path: Path, caplog) -> None:
    from edge.assembly import build_pipeline
    from edge.config import load_config

    csv = write_history(tmp_path / "a.csv", live_rows(100), HEADER)
    pipeline = build_pipeline(load_config(write_config(tmp_path, replay_body(csv, 0.0))))
    seen: list[tuple[str, float]] = []

    def broken(sensor: str, outcomes) -> None:
        raise RuntimeError("disk full")

    pipeline.observers = [broken, lambda sensor, outcomes: seen.extend((sensor, o.score) for o in outcomes)]
    readings = [r for _, r in pipeline.sources[0].records() if r is not None]
    outcomes = pipeline.handle_block(readings[:60]) + [pipeline.handle(r) for r in readings[60:]]
    assert seen == [("pump-1", o.score) for o in outcomes] and len(seen) == 100
    failures = [r.getMessage() for r in caplog.records if "disk full" in r.getMessage()]
    assert len(failures) == 1 and "scoring goes on" in failures[0]  # once per streak, not once per block
