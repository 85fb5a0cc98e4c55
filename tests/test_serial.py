"""The serial source over real pseudo-terminals: the simulator → serial source → detector → alert line."""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL, live_rows, write_history

from edge.assembly import build_pipeline
from edge.config import parse_config
from edge.core.events import Reading, SourceFault
from edge.hardware.fake import FakeHardware
from edge.plugins import PluginContext
from edge.protocol.frames import encode_frame
from edge.sources.serial import Config, SerialSource
from firmware_bridge.signals import Anomaly, csv_signal, with_anomalies
from firmware_bridge.sim import FaultPlan, Simulator, build_hello

CHANNELS = ("temperature", "vibration")


def context(tmp_path: Path) -> PluginContext:
    return PluginContext(CHANNELS, 300.0, "0" * 64, tmp_path, tmp_path)


def source(tmp_path: Path, port: str, **keys) -> SerialSource:
    return SerialSource(Config(sensor="pump-1", port=port, **keys), context(tmp_path))


def simulator(
    tmp_path: Path,
    rows: int = 400,
    rate: float = 2000.0,
    channels=CHANNELS,
    anomalies=(),
    faults: FaultPlan | None = None,
    count: int | None = None,
) -> Simulator:
    csv = write_history(tmp_path / "signal.csv", live_rows(rows), "timestamp,temperature,vibration")
    values = with_anomalies(csv_signal(csv, list(CHANNELS), loop=True), list(anomalies))
    hello = build_hello(channels, ["degC", "mm/s"], 300_000, "sim-test")
    return Simulator(
        hello,
        values,
        rate=rate,
        link=tmp_path / "tty" / "bridge",
        faults=faults or FaultPlan(),
        seed=3,
        count=count or rows,
    )


@contextmanager
def streaming(sim: Simulator) -> Iterator[threading.Thread]:
    sim.plug()
    thread = threading.Thread(target=sim.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        sim.stop.set()
        thread.join(10)
        sim.close()


def collect(src: SerialSource, thread: threading.Thread, quiet_s: float = 0.3) -> list[Reading | SourceFault]:
    """Read until the simulator has finished and the port stayed quiet for ``quiet_s``."""
    items: list[Reading | SourceFault] = []
    last = time.monotonic()
    while thread.is_alive() or time.monotonic() - last < quiet_s:
        got = src.read(0.05)
        if got:
            items += got
            last = time.monotonic()
    return items


@contextmanager
def lines_port(tmp_path: Path) -> Iterator[tuple[int, SerialSource]]:
    """A pty pair: its master end to write to, and a lines-mode source open on the other end."""
    master, slave = os.openpty()
    tty.setraw(slave)
    src = source(tmp_path, os.ttyname(slave), mode="lines")
    src.open()
    try:
        yield master, src
    finally:
        src.close()
        os.close(master)
        os.close(slave)


def test_lines_mode_reads_bulk_and_counts_bad_lines(tmp_path: Path) -> None:
    with lines_port(tmp_path) as (master, src):
        os.write(master, b"20.5,1.25\n21,1.5\nnot,numbers\n22.0,")
        os.write(master, b"1.75\n1,2,3\n")
        readings = []
        deadline = time.monotonic() + 3
        while len(readings) < 3 and time.monotonic() < deadline:
            readings += src.read(0.1)
    assert [r.values for r in readings] == [(20.5, 1.25), (21.0, 1.5), (22.0, 1.75)]
    assert src.counters()["bad_lines"] == 2


def test_read_buffered_takes_what_the_port_holds_and_never_waits(tmp_path: Path) -> None:
    with lines_port(tmp_path) as (master, src):
        began = time.monotonic()
        assert src.read_buffered() == []  # nothing there: back at once
        assert time.monotonic() - began < 0.05
        os.write(master, b"20.5,1.25\n21,1.5\n22,1.75\n")
        deadline = time.monotonic() + 3
        while src._port.in_waiting < 27 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [r.values for r in src.read_buffered()] == [(20.5, 1.25), (21.0, 1.5), (22.0, 1.75)]
        assert src.read_buffered() == []
    assert src.read_buffered() == []  # closed: nothing, no error


def test_framed_stream_reaches_the_detector_and_one_anomaly_raises_one_alert(tmp_path: Path, caplog) -> None:
    sim = simulator(tmp_path, anomalies=[Anomaly("spike", 250, 0, 30.0)])
    config = parse_config(
        {
            "model": {"path": str(FIXTURE_MODEL)},
            "detector": {"clear_samples": 2},  # the default scorer (likelihood) at its own threshold
            "sources": [{"type": "serial", "sensor": "pump-1", "port": str(sim.link)}],
            "sinks": [{"type": "log"}],
        }
    )
    pipeline = build_pipeline(config)
    caplog.set_level(logging.INFO, logger="edge")
    with streaming(sim) as thread:
        pipeline.open()
        try:
            items = collect(pipeline.sources[0], thread)
            for item in items:
                pipeline.handle(item)
        finally:
            pipeline.close()
    detector = pipeline.detectors["pump-1"]
    counts = pipeline.sources[0].counters()
    # pyserial empties the input buffer when it opens, and samples before the answer to HELLO_REQUEST are
    # refused (counted), so a few of the first frames never become readings
    assert detector.counters.readings == counts["samples"] > 380
    assert detector.counters.faults == 0
    assert detector.counters.alerts == 1
    alert = next(line for line in caplog.messages if line.startswith("ALERT"))
    assert alert.startswith("ALERT pump-1/temperature score=")
    assert re.search(r" observed=[-\d.]+ degC expected=[-\d.]+ degC since ", alert)  # the units of the HELLO


def test_unplug_and_replug_is_a_fault_and_a_clear_and_every_frame_is_accounted_for(tmp_path: Path) -> None:
    emulated = bool(os.environ.get("EDGE_TEST_EMULATOR"))
    # under qemu the simulator and the reader share one slow interpreter: at 2,000 frames/s it falls behind and
    # catches up in bursts, so a slower rate keeps the unplugs apart there
    rate = 500.0 if emulated else 2000.0
    sim = simulator(tmp_path, rows=1500, rate=rate, faults=FaultPlan(unplug_every=400, unplug_ms=80))
    src = source(tmp_path, str(sim.link), reconnect_initial_s=0.01, reconnect_max_s=0.05)
    with streaming(sim) as thread:
        src.open()
        items = collect(src, thread, quiet_s=1.5 if emulated else 0.3)  # a reconnect is slow under qemu
        ended_plugged = sim.plugged.is_set()
    src.close()
    faults = [i for i in items if isinstance(i, SourceFault)]
    # every 400 frames generated: 3 on a host; under an emulator the simulator's catch-up after a slow unplug
    # can generate the next 400 frames while still unplugged, so it may plug out only twice, or make its last
    # frames while unplugged and end so: a device that never came back is never cleared; or catch up 400 frames
    # before the slow reader is back, so that two unplugs are one outage to it (it reconnects after both)
    unplugs = sim.stats.unplugs
    assert unplugs == 3 or (emulated and unplugs == 2)
    assert ended_plugged or emulated
    back = sum(1 for f in faults if f.cleared)
    replugs = unplugs if ended_plugged else unplugs - 1
    assert back == replugs or (emulated and 1 <= back < replugs)
    assert [f.cleared for f in faults] == [False, True] * back + ([] if ended_plugged else [False])
    assert "lost" in faults[0].message and "back after" in faults[1].message
    counts = src.counters()
    assert counts["reconnects"] == back and len(src.reconnect_seconds) == back
    assert counts["frames"] + counts["lost"] == src.session.sequence.span  # nothing unaccounted
    # every frame made while unplugged that the reader could know of (before the last one it saw) is counted lost;
    # frames made after it, when the simulator ends unplugged, leave no gap to count
    sequence = src.session.sequence
    first, last = sequence.first_position, sequence.position  # no wrap in 1500 frames
    assert counts["lost"] >= sum(1 for s in sim.stats.lost_sequences if first <= s <= last)
    assert counts["lost"] >= sim.stats.unplugged_frames or not ended_plugged
    readings = [i for i in items if isinstance(i, Reading)]
    assert len(readings) == counts["samples"] and len(readings) + sim.stats.unplugged_frames <= 1500


def test_corrupt_and_dropped_frames_are_counted_exactly(tmp_path: Path) -> None:
    sim = simulator(tmp_path, rows=3000, rate=4000.0, faults=FaultPlan(corrupt_rate=0.03, drop_rate=0.02))
    src = source(tmp_path, str(sim.link))
    with streaming(sim) as thread:
        src.open()
        items = collect(src, thread)
    src.close()
    counts, stats = src.counters(), sim.stats
    assert stats.corrupted > 30 and stats.dropped > 20
    assert counts["frames"] + counts["lost"] == src.session.sequence.span
    sequence = src.session.sequence
    first, last = sequence.first_position, sequence.position  # no wrap in 3000 frames
    assert counts["lost"] == sum(1 for s in stats.lost_sequences if first <= s <= last)
    assert counts["crc"] + counts["cobs"] + counts["short"] >= stats.corrupted - counts["recovered"]
    assert all(isinstance(i, Reading) for i in items)


def test_a_device_with_other_channels_is_refused_with_both_lists(tmp_path: Path, caplog) -> None:
    sim = simulator(tmp_path, rows=100, channels=("pressure", "flow"))
    src = source(tmp_path, str(sim.link))
    with streaming(sim) as thread:
        src.open()
        items = collect(src, thread)
    src.close()
    assert not any(isinstance(i, Reading) for i in items)
    fault = next(i for i in items if isinstance(i, SourceFault))
    assert "announces channels ['pressure', 'flow'] but the model has ['temperature', 'vibration']" in fault.message
    counts = src.counters()
    refused = counts["samples_refused"] + counts.get("samples_before_hello", 0)
    # every SAMPLE received was refused and counted (pyserial empties the input buffer when it opens, so on a
    # slow machine, qemu-aarch64, the first few of the 100 may never be received)
    assert counts["samples"] == 0 and refused == counts["frames"] - counts["hellos"] > 50


def test_a_missing_port_is_retried_and_check_says_why(tmp_path: Path) -> None:
    src = source(tmp_path, str(tmp_path / "nothing"), reconnect_initial_s=0.01, reconnect_max_s=0.02)
    src.open()
    first = src.read(0.05)
    assert [(f.cleared, "No such file or directory" in f.message) for f in first] == [(False, True)]
    assert src.read(0.05) == [] and src.read(0.05) == []  # said once, retried quietly
    assert src.counters()["open_failures"] >= 2
    from edge.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot be opened"):
        src.probe(0.2)


def test_simulator_command_prints_its_path_and_stats(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    link = tmp_path / "sim" / "tty"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "firmware_bridge.sim",
            "--link",
            str(link),
            "--rate",
            "500",
            "--count",
            "40",
            "--drop-rate",
            "0.5",
            "--spike",
            "10:0:5",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    first, last = done.stdout.strip().splitlines()
    assert first.startswith(f"simulator: 2 channel(s) temperature, vibration on {link} -> /dev/pts/")
    stats = json.loads(last.removeprefix("stats "))
    assert stats["generated"] == 40 and stats["written"] + stats["dropped"] + stats["overflow"] == 40
    assert 5 < stats["dropped"] < 35
    assert not link.exists()  # unplugged at exit


def test_the_service_turns_an_unplug_into_fault_events_and_keeps_scoring(tmp_path: Path, caplog) -> None:
    from conftest import write_config

    from edge.service.agent import Service
    from edge.service.notify import Notifier

    sim = simulator(tmp_path, rows=1500, rate=200.0, faults=FaultPlan(unplug_every=300, unplug_ms=60))
    body = (
        f'[[sources]]\ntype = "serial"\nsensor = "pump-1"\nport = "{sim.link}"\nreconnect_initial_s = 0.01\n'
        'reconnect_max_s = 0.05\n\n[[sinks]]\ntype = "log"\n'
    )
    service = Service(write_config(tmp_path, body), Notifier(), max_readings=450)
    caplog.set_level(logging.INFO, logger="edge")
    with streaming(sim):
        runner = threading.Thread(target=service.run, daemon=True)
        runner.start()
        runner.join(20)
        service.request_stop()  # only matters if it failed to reach 450 readings
        runner.join(10)
    detector = service.pipeline.detectors["pump-1"]
    assert detector.counters.readings == 450
    assert "FAULT pump-1 source: serial port" in caplog.text and "lost" in caplog.text
    assert "FAULT CLEARED pump-1 source" in caplog.text
    assert detector.faults.counts["source"] >= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:vibration:5", Anomaly("spike", 10, 1, 5.0)),
        ("10:0:5", Anomaly("spike", 10, 0, 5.0)),
        ("10:temperature:2.5:30", Anomaly("spike", 10, 0, 2.5, 30)),
    ],
)
def test_anomaly_channel_is_a_name_or_an_index(text: str, expected: Anomaly) -> None:
    assert Anomaly.parse("spike", text, ["temperature", "vibration"]) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10:pressure:5", "no channel 'pressure'; use one of temperature, vibration or an index 0-1"),
        ("10:2:5", "no channel '2'"),
        ("ten:0:5", "AT and LENGTH are whole samples, SIZE a number"),
        ("10:0", "expected AT:CHANNEL:SIZE[:LENGTH]"),
    ],
)
def test_a_bad_anomaly_is_one_line_naming_it(text: str, message: str, capsys) -> None:
    from firmware_bridge.sim import main as sim_main

    assert sim_main(["--channels", "temperature,vibration", "--units", "C,mm/s", "--spike", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"firmware_bridge.sim: error: --spike {text!r}: ") and message in err
    assert err.count("\n") == 1


def test_an_unreadable_csv_is_one_line_before_any_pty_is_made(tmp_path: Path, capsys) -> None:
    from firmware_bridge.sim import main as sim_main

    link = tmp_path / "bridge"
    assert sim_main(["--link", str(link), "--channels", "a", "--units", "1", "--csv", str(tmp_path / "no.csv")]) == 2
    assert "No such file or directory" in capsys.readouterr().err and not link.exists()


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (errno.EACCES, "needs group dialout"),
        (errno.EPERM, "DeviceAllow="),
        (errno.ENOENT, "ls -l /dev/serial/by-id/"),
        (errno.EAGAIN, "is edge-agent already running?"),
    ],
)
def test_a_port_that_does_not_open_is_a_fault_naming_why_until_it_opens(tmp_path: Path, error: int, hint: str) -> None:
    hardware = FakeHardware()
    device = hardware.serial.attach("/dev/ttyUSB0")
    device.open_errors = [error, error]
    src = SerialSource(
        Config(sensor="pump-1", port="/dev/ttyUSB0", reconnect_initial_s=0.01, reconnect_max_s=0.02),
        replace(context(tmp_path), hardware=hardware),
    )
    src.open()
    items: list = []
    for _ in range(50):
        items += src.read(0.01)
        if len(items) == 2:
            break
    assert [i.cleared for i in items] == [False, True]
    assert items[0].message.startswith(f"serial port /dev/ttyUSB0 cannot be opened: {os.strerror(error)}")
    assert items[1].message.startswith("serial port /dev/ttyUSB0 back after ")
    assert hint in items[0].message and device.open_errors == [] and hardware.serial.opens == 1
    assert src.counters()["open_failures"] == 2 and device.received.startswith(
        encode_frame(None, 0, 0)
    )  # it asks for HELLO


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (OSError(5, "Input/output error"), "[Errno 5] Input/output error"),
        (__import__("serial").SerialException(5, "Input/output error"), "[Errno 5] Input/output error"),
        (
            __import__("serial").SerialException(
                "device reports readiness to read but returned no data (device "
                "disconnected or multiple access on port?)"
            ),
            "device disconnected: readable but no data",
        ),
    ],
)
def test_a_lost_port_line_is_short(error: Exception, shown: str) -> None:
    from edge.sources.serial import short_error

    assert short_error(error) == shown
