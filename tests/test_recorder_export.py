"""edge-export on a folder of recordings: time order, breaks between files and at faults, alerts left out on
request, a crash's cut line skipped; and a retraining from an agent's recordings that equals the same rows
exported by hand (same seed, same weights)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, live_rows, write_config, write_history
from test_service import HEADER, replay_body

from edge import recording
from edge.service.agent import Service
from edge.service.notify import Notifier
from export.cli import main as export_main
from export.errors import DataError
from export.pipeline import ExportOptions, run_export
from export.recordings import load_recordings
from export.train import TrainConfig

pytestmark = pytest.mark.workstation  # edge-export: torch

CHANNELS = ("temperature", "vibration")
FAST_ARGS = [f"--{k}={v}" for k, v in FAST.items()]


def write_recording(path: Path, rows: list[tuple[float, tuple[float, ...], bool, str]], cut: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [recording.line(t, v, 0.1 if s == "scored" else None, a, s) for t, v, a, s in rows]
    path.write_text(recording.header(CHANNELS) + "".join(lines) + cut)
    return path


def test_a_folder_reads_in_time_order_with_breaks_between_files_at_faults_and_at_alerts(tmp_path: Path) -> None:
    folder = tmp_path / "pump-1"
    # named out of order on purpose: the first reading orders them
    later = [(200.0 + i, (float(i), 1.0), i in (3, 4, 5), "scored") for i in range(8)]
    write_recording(folder / "2000-01-01T00-00-00Z.csv", later)
    earlier = [(100.0 + i, (float(i), 2.0), False, "fault" if i == 2 else "scored") for i in range(5)]
    write_recording(folder / "2030-01-01T00-00-00Z.csv", earlier, cut="105.0,5.0,2")  # killed mid-line
    (folder / "labels.csv").write_text("alert_id,label\n")  # not a recording: not read
    history, read = load_recordings(folder)
    nan = math.nan
    expected = [[0, 2], [1, 2], [nan, nan], [3, 2], [4, 2], [nan, nan], *[[i, 1] for i in range(8)]]
    np.testing.assert_array_equal(history.values, np.array(expected, dtype=float))
    assert history.timestamps.tolist() == [100, 101, 102, 103, 104, 152, *range(200, 208)]
    assert history.channels == CHANNELS and history.in_folder
    assert (read.files, read.rows, read.fault_rows, read.cut_lines, read.breaks) == (2, 13, 1, 1, 1)
    skipped, read = load_recordings(folder, skip_alerts=True, alert_margin=2)
    assert np.isnan(skipped.values[6 + 1 : 6 + 6]).all() and np.isfinite(skipped.values[6 + 6 :]).all()
    assert np.isfinite(skipped.values[6]).all()  # before the margin
    assert (read.alert_rows, read.margin_rows) == (3, 2)
    assert "left out as breaks: 1 fault rows, 3 alert rows and 2 rows before alerts" in read.describe()
    only, _ = load_recordings(folder, columns=["vibration"])
    assert only.channels == ("vibration",) and only.values[0].tolist() == [2.0]


def test_overlapping_files_and_a_folder_of_sensors_are_refused_with_the_fix(tmp_path: Path) -> None:
    folder = tmp_path / "recordings" / "pump-1"
    write_recording(folder / "2000-01-01T00-00-00Z.csv", [(100.0 + i, (1.0, 2.0), False, "scored") for i in range(5)])
    write_recording(folder / "2000-01-01T00-00-01Z.csv", [(103.0 + i, (1.0, 2.0), False, "scored") for i in range(5)])
    with pytest.raises(DataError, match="recordings of two agents"):
        load_recordings(folder)
    with pytest.raises(DataError, match=r"sensor folders: pass one, such as --data .*recordings/pump-1"):
        load_recordings(tmp_path / "recordings")


def record(folder: Path, rows: list[tuple]) -> Path:
    """Run an agent over ``rows`` with the recorder on, rotating every 10 kB; returns the sensor's folder."""
    csv = write_history(folder / "live.csv", rows, HEADER)
    body = replay_body(csv, rate=0.0) + "\n[recorder]\nenabled = true\nrotate_mb = 0.01\n"
    assert Service(write_config(folder, body), Notifier(None)).run() == 0
    return folder / "state" / "recordings" / "pump-1"


def by_hand(recordings: Path, rows: list[tuple], path: Path, skip_alerts: int | None = None) -> Path:
    """What a person would write from the same rows: one CSV, an empty row between the files (halfway in
    time), the rows recorded as faults (and, when asked, while alerting and ``skip_alerts`` before) emptied."""
    text = {float(r[0]): r for r in rows}
    out: list[tuple] = []
    alerting: list[bool] = []
    for file in sorted(p for p in recordings.iterdir() if recording.FILE_PATTERN.fullmatch(p.name)):
        lines = file.read_text().splitlines(keepends=True)[1:]
        parsed = [recording.parse_line(line, 2) for line in lines if line.endswith("\n")]  # not a cut one
        if out:
            out.append((repr((float(out[-1][0]) + parsed[0][0]) / 2), "", ""))
            alerting.append(False)
        for timestamp, _values, _score, alert, state in parsed:
            row = text[timestamp]
            out.append((row[0], "", "") if state == "fault" else row)
            alerting.append(alert)
    if skip_alerts is not None:
        starts = [i for i, a in enumerate(alerting) if a and (i == 0 or not alerting[i - 1])]
        blank = {i for i, a in enumerate(alerting) if a} | {
            j for s in starts for j in range(max(0, s - skip_alerts), s)
        }
        out = [(r[0], "", "") if i in blank else r for i, r in enumerate(out)]
    return write_history(path, out, HEADER)


def test_retraining_on_an_agents_recordings_gives_the_model_of_the_same_rows_exported_by_hand(tmp_path: Path) -> None:
    rows = live_rows(800)
    rows[400] = (rows[400][0], "", "")  # a sensor fault: recorded with state fault
    for i in range(600, 620):
        rows[i] = (rows[i][0], rows[i][1] + 8, rows[i][2])  # an anomaly: alert rows
    recordings = record(tmp_path, rows)
    files = sorted(p for p in recordings.iterdir() if recording.FILE_PATTERN.fullmatch(p.name))  # not alerts.jsonl
    assert len(files) >= 3
    with files[-1].open("a") as handle:
        handle.write(f"{float(rows[-1][0]) + 300!r},20.5,1.")  # a line cut by a crash
    quiet = {"quiet": True, "train": TrainConfig(**FAST)}
    for skip in (False, True):
        hand = by_hand(recordings, rows, tmp_path / f"by-hand-{skip}.csv", FAST["window"] if skip else None)
        from_folder = run_export(
            ExportOptions(data=recordings, out=tmp_path / f"folder-{skip}.onnx", skip_alerts=skip, **quiet),
            say=lambda _t: None,
        )
        from_hand = run_export(
            ExportOptions(data=hand, out=tmp_path / f"hand-{skip}.onnx", allow_gaps=True, **quiet), say=lambda _t: None
        )
        np.testing.assert_array_equal(from_folder.history.values, from_hand.history.values)
        np.testing.assert_array_equal(from_folder.history.timestamps, from_hand.history.timestamps)
        assert from_folder.model.weights_sha256 == from_hand.model.weights_sha256
        assert from_folder.calibration.threshold == from_hand.calibration.threshold
        read = from_folder.recordings
        assert read is not None and read.rows == 800 and read.fault_rows == 1 and read.cut_lines == 1
        assert read.breaks == len(files) - 1 and (read.alert_rows > 0) == skip


def test_edge_export_on_a_folder_says_what_it_read_and_left_out(tmp_path: Path, capsys) -> None:
    rows = live_rows(700)
    for i in range(500, 520):
        rows[i] = (rows[i][0], rows[i][1] + 8, rows[i][2])
    recordings = record(tmp_path, rows)
    out = tmp_path / "m.onnx"
    assert export_main(["--data", str(recordings), "--out", str(out), "--skip-alerts", *FAST_ARGS]) == 0
    printed = capsys.readouterr().out
    assert "read 700 rows from" in printed and "rows before alerts" in printed and "training on rows 1-" in printed
    assert export_main(["--data", str(recordings.parent), "--out", str(out), "--quiet", *FAST_ARGS]) == 2
    assert f"pass one, such as --data {recordings}" in capsys.readouterr().err
    csv = tmp_path / "live.csv"
    assert export_main(["--data", str(csv), "--out", str(out), "--quiet", "--skip-alerts", *FAST_ARGS]) == 2
    assert "--skip-alerts needs a folder" in capsys.readouterr().err
