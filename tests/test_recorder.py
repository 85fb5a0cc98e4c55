"""The field recorder on real parts: a running agent's readings into files, exact; rotation and limits; a stuck
or full disk never stops scoring; a SIGKILL loses at most about a second; the config section."""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import live_rows, write_config, write_history
from hypothesis import given
from hypothesis import strategies as st
from test_service import HEADER, replay_body, wait_for

import edge.service.recorder as recorder_module
from edge import recording
from edge.config import load_config
from edge.config_sections import RecorderSection
from edge.core.events import Reading
from edge.core.outcome import Scored
from edge.errors import ConfigError
from edge.service.agent import Service
from edge.service.notify import Notifier
from edge.service.recorder import Recorder

floats = st.floats(allow_infinity=False, width=64)


@given(
    timestamp=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    values=st.lists(floats, min_size=1, max_size=4),
    score=st.none() | st.floats(min_value=0, max_value=1),
    alert=st.booleans(),
    state=st.sampled_from(recording.STATES),
)
def test_a_line_reads_back_as_the_numbers_written(timestamp, values, score, alert, state) -> None:
    text = recording.line(timestamp, values, score, alert, state)
    got_time, got_values, got_score, got_alert, got_state = recording.parse_line(text, len(values))
    assert got_time == timestamp and (got_alert, got_state) == (alert, state)
    assert [math.isnan(v) for v in got_values] == [math.isnan(v) for v in values]
    assert [v for v in got_values if not math.isnan(v)] == [v for v in values if not math.isnan(v)]
    assert (got_score is None) == (score is None)
    if score is not None:
        assert got_score == pytest.approx(score, rel=1e-5, abs=1e-300)


def recordings(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if recording.FILE_PATTERN.fullmatch(p.name))


def read_lines(path: Path, channels: int = 2) -> list[tuple]:
    """A recording's readings; a last line cut by a crash is left out."""
    data = path.read_text()
    lines = data.splitlines(keepends=True)
    assert lines[0] == recording.header(["temperature", "vibration"][:channels])
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    return [recording.parse_line(text, channels) for text in lines[1:]]


def recorder_body(csv: Path, rate: float, extra: str = "") -> str:
    return replay_body(csv, rate) + f"\n[recorder]\nenabled = true\n{extra}"


def test_the_recorder_writes_what_the_pipeline_scored_exactly(tmp_path: Path) -> None:
    rows = live_rows(600)
    rows[300] = (rows[300][0], "", rows[300][2])  # a missing value: bridged, written empty
    csv = write_history(tmp_path / "live.csv", rows, HEADER)
    config = write_config(tmp_path, recorder_body(csv, rate=0.0, extra="rotate_mb = 0.01\n"))
    scored: list[Scored] = []
    service = Service(config, Notifier(None))
    service.observers.append(lambda _sensor, outcomes: scored.extend(outcomes))
    assert service.run() == 0  # the replay ends: the agent stops, the recorder writes what it queued
    files = recordings(tmp_path / "state" / "recordings" / "pump-1")
    assert len(files) >= 3  # rotated at 10 kB
    written = [line for path in files for line in read_lines(path)]
    assert len(written) == len(scored) == 600
    for (timestamp, values, score, alert, state), outcome, row in zip(written, scored, rows):
        assert timestamp == outcome.reading.timestamp == float(row[0])
        assert [v if not math.isnan(v) else "" for v in values] == [row[1], row[2]]  # the CSV's floats, exact
        assert (state, alert) == (outcome.state, outcome.alerting)
        assert score == (pytest.approx(outcome.score, rel=1e-5) if state == "scored" else None)
    assert {s for *_, s in written} >= {"warmup", "scored"}
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    counts = status["recorder"]
    assert counts["written"] == 600 and counts["files"] == len(files) and counts["dropped"] == 0
    assert counts["bytes"] == sum(p.stat().st_size for p in files) and counts["errors"] == 0


def outcome(i: int, state: str = "scored") -> Scored:
    return Scored(Reading("pump-1", 1_700_000_000.0 + i, (20.0 + i / 7, 1.0 / (i + 1))), state, 0.1, alerting=False)


def settings(**changes) -> RecorderSection:
    return RecorderSection(**{"enabled": True, **changes})


def test_files_rotate_and_stay_within_the_size_and_age_limits(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    old = folder / "pump-1" / "2020-01-01T00-00-00Z.csv"
    old.parent.mkdir(parents=True)
    old.write_text(recording.header(["temperature", "vibration"]))
    os.utime(old, (time.time() - 40 * 86_400,) * 2)
    labels = old.parent / "labels.csv"  # not a recording: never deleted
    labels.write_text("alert_id,label\n")
    os.utime(labels, (time.time() - 400 * 86_400,) * 2)
    recorder = Recorder(folder, settings(rotate_mb=0.002, max_total_mb=0.01, max_age_days=30.0))
    recorder.use({"pump-1": ("temperature", "vibration")})
    for i in range(0, 2000, 10):
        recorder("pump-1", [outcome(j) for j in range(i, i + 10)])
        time.sleep(0.0005)
    recorder.close()
    files = recordings(folder / "pump-1")
    counts = recorder.counters()
    assert not old.exists() and labels.exists()
    assert counts["written"] == 2000 and counts["files"] > len(files) >= 2
    assert counts["deleted"] == counts["files"] - len(files) + 1  # the old file and the oldest new ones
    assert sum(p.stat().st_size for p in files) <= 10_000 + 2_000 + 1_000  # the limit, the open file, a batch
    assert all(p.stat().st_size < 2_000 + 1_000 for p in files)
    kept = [line for path in files for line in read_lines(path)]
    assert [t for t, *_ in kept] == [1_700_000_000.0 + i for i in range(2000 - len(kept), 2000)]  # the newest


def test_a_stuck_disk_fills_the_queue_and_scoring_never_waits(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "recordings", settings(queue_readings=50))
    recorder.use({"pump-1": ("temperature", "vibration")})
    stuck, writing = threading.Event(), threading.Event()
    real_write = recorder._write

    def hang(handle, data) -> None:
        writing.set()
        stuck.wait(30)
        real_write(handle, data)

    recorder._write = hang  # type: ignore[method-assign]
    recorder("pump-1", [outcome(0)])
    assert writing.wait(5)  # the writer is inside a write that does not return
    began = time.perf_counter()
    for i in range(1, 1001):
        recorder("pump-1", [outcome(i)])
    assert time.perf_counter() - began < 0.5  # 1000 calls, none waited
    assert recorder.counters()["dropped"] == 1000 - 50
    stuck.set()
    recorder.close()
    assert recorder.counters()["written"] == 51


def test_an_unwritable_folder_is_said_once_counted_and_retried(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    recorder = Recorder(blocker / "recordings", settings())
    recorder.use({"pump-1": ("temperature", "vibration")})
    with caplog.at_level(logging.INFO, logger="edge"):
        for i in range(20):
            recorder("pump-1", [outcome(i)])
            time.sleep(0.002)
        recorder.close()
    said = [r.getMessage() for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(said) == 1 and str(blocker / "recordings") in said[0] and "[recorder] folder" in said[0]
    counts = recorder.counters()
    assert counts["written"] == 0 and counts["unwritten"] == 20 and counts["errors"] >= 1


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs (root only)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]).returncode:
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system with one file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_is_said_once_and_recording_resumes_in_a_new_file_when_there_is_room(
    small_disk: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "RETRY_S", 0.2)
    recorder = Recorder(small_disk / "recordings", settings(max_total_mb=100.0))
    recorder.use({"pump-1": ("temperature", "vibration")})
    with caplog.at_level(logging.INFO, logger="edge"):
        recorder("pump-1", [outcome(i) for i in range(100)])
        wait_for(lambda: recorder.counters()["written"] == 100)
        filler = fill(small_disk)
        for i in range(100, 4000, 100):
            recorder("pump-1", [outcome(j) for j in range(i, i + 100)])
            time.sleep(0.01)
        wait_for(lambda: recorder.counters()["errors"] > 0)
        filler.unlink()
        time.sleep(0.3)
        recorder("pump-1", [outcome(4000 + i) for i in range(10)])
        recorder.close()
    said = [r.getMessage() for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(said) == 1 and "No space left" in said[0] and str(small_disk / "recordings") in said[0]
    assert any("writing again" in r.getMessage() for r in caplog.records)
    counts = recorder.counters()
    assert counts["written"] + counts["unwritten"] == 4010 and counts["written"] >= 110
    files = recordings(small_disk / "recordings" / "pump-1")
    assert len(files) >= 2  # the one the disk filled up, then a new one
    for path in files:
        read_lines(path)  # each readable, a cut last line aside
    assert read_lines(files[-1])[-1][0] == 1_700_004_009.0


RATE = 200.0  # readings per second


def test_sigkill_loses_at_most_about_the_last_second(tmp_path: Path) -> None:
    rows = live_rows(6000)
    csv = write_history(tmp_path / "live.csv", rows, HEADER)
    config = write_config(tmp_path, recorder_body(csv, rate=RATE))
    agent = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    status_file = tmp_path / "run" / "status.json"
    try:

        def readings() -> int:
            try:
                status = json.loads(status_file.read_text())
            except (OSError, ValueError):
                return 0
            return int(status["sensors"]["pump-1"]["counters"]["readings"])

        wait_for(lambda: readings() >= 3 * RATE, timeout=30)
        seen = readings()  # a count shortly before the kill (the status is at most 0.2 s old)
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    finally:
        agent.kill()
        agent.communicate()
    assert agent.returncode == -signal.SIGKILL
    files = recordings(tmp_path / "state" / "recordings" / "pump-1")
    written = [line for path in files for line in read_lines(path)]
    assert [(t, v) for t, v, *_ in written] == [(float(r[0]), (r[1], r[2])) for r in rows[: len(written)]]
    assert len(written) >= seen - 2 * RATE  # at most a second lost, with a second to spare for a loaded machine


def test_the_recorder_section_is_checked_and_off_by_default(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(10), HEADER)
    config = load_config(write_config(tmp_path, replay_body(csv, rate=0.0)))
    assert not config.recorder.enabled
    assert config.recorder.folder_path(config.agent) == tmp_path / "state" / "recordings"
    relative = load_config(write_config(tmp_path, recorder_body(csv, 0.0, 'folder = "rec"\n')))
    assert relative.recorder.folder == tmp_path / "rec"  # relative to the config file
    for extra, problem in [
        ("rotate_mb = 2000.0\n", "rotate_mb = 2000.0 must be above 0 and at most max_total_mb"),
        ('sensors = ["pump-9"]\n', "[recorder] sensors: no source has sensor = 'pump-9'"),
        ("rotate_every = 1\n", "[recorder]: unknown key 'rotate_every'"),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_config(write_config(tmp_path, recorder_body(csv, 0.0, extra)))
        assert problem in str(caught.value)


def test_a_reload_with_another_recorder_folder_closes_the_old_one_and_counts_on(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(3000), HEADER)
    path = write_config(tmp_path, recorder_body(csv, rate=500.0, extra='folder = "first"\n'))
    service = Service(path, Notifier(None))
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: service.recorder is not None and service.recorder.counters()["written"] > 100)
        first = service.recorder
        write_config(tmp_path, recorder_body(csv, rate=500.0, extra='folder = "second"\n'))
        service.request_reload()
        wait_for(lambda: service.recorder is not first and (tmp_path / "second" / "pump-1").is_dir())
        wait_for(lambda: service.recorder is not None and service.recorder.counters()["written"] > 300)
    finally:
        service.request_stop()
        thread.join(20)
    assert first is not None and first not in service.observers
    one = [line for p in recordings(tmp_path / "first" / "pump-1") for line in read_lines(p)]
    two = [line for p in recordings(tmp_path / "second" / "pump-1") for line in read_lines(p)]
    assert one and two and one[-1][0] < two[0][0]
    assert service.recorder is not None and service.recorder.counters()["written"] == len(one) + len(two)
