"""edge-export reads the technicians' alert labels beside a sensor's recordings: a confirmed alert's rows (and the
--window rows before it) are left out of training, a false alarm's are kept, and the summary says how the new
model decides on every labelled alert, exactly as the runtime's own replay of the same rows does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, live_rows, write_history
from test_recorder_export import FAST_ARGS, by_hand, record, write_recording

from edge import feedback, recording
from edge.replay_file import replay
from export.cli import main as export_main
from export.feedback import END_FROM_RECORDINGS, read_feedback
from export.pipeline import ExportOptions, run_export
from export.recordings import read_folder, training_history
from export.train import TrainConfig

pytestmark = pytest.mark.workstation  # edge-export: torch

WINDOW = FAST["window"]


def alert_line(alert_id: str, start: float, end: float | None, event: str = "alert", score: float = 0.5) -> str:
    entry = {"event": event, "id": alert_id, "sensor": "pump-1", "channels": ["temperature"], "start": start}
    return json.dumps({**entry, "end": end, "score": score, "threshold": 0.25, "model": "pump"}) + "\n"


def label(root: Path, record: feedback.AlertRecord, name: str | None, note: str = "") -> None:
    feedback.add_feedback(root, record, at=record.start + 3600, by="ana", via="cli", label=name, note=note)


def test_confirmed_rows_and_the_window_before_them_are_left_out_false_alarms_kept(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    folder = root / "pump-1"
    write_recording(
        folder / "2000-01-01T00-00-00Z.csv",
        [(100.0 + i, (float(i), 1.0), i in (10, 11, 12, 20, 21, 30, 31), "scored") for i in range(40)],
    )
    (folder / feedback.ALERTS_FILE).write_text(
        alert_line("confirmed-known-end", 110.0, None)
        + alert_line("confirmed-known-end", 110.0, 113.0, "clear", 0.9)  # cleared by the row after the alert's
        + alert_line("false-alarm-1", 120.0, 122.0, "clear")
        + alert_line("confirmed-no-clear", 130.0, None)  # closed by a reload: its end is in the recordings
        + alert_line("unlabelled", 135.0, 136.0, "clear")
        + alert_line("not-recorded-any-more", 50.0, 55.0, "clear")
    )
    alerts = feedback.read_alerts(folder)
    label(root, alerts["confirmed-known-end"], "confirmed", "bearing")
    label(root, alerts["false-alarm-1"], "confirmed")
    label(root, alerts["false-alarm-1"], "false-alarm", "door open")  # the latest label wins
    label(root, alerts["confirmed-no-clear"], None)  # an ack, then the label
    label(root, alerts["confirmed-no-clear"], "confirmed")
    label(root, alerts["not-recorded-any-more"], "false-alarm")
    label(root, feedback.AlertRecord("only-in-labels", "pump-1", 0.0), "confirmed")  # no alert, no start
    with (folder / feedback.LABELS_FILE).open("a") as handle:
        handle.write(json.dumps({"id": "confirmed-known-end", "label": "maybe"}) + "\n")

    rows = read_folder(folder)
    found = read_feedback(rows)
    assert [(a.id, a.label, a.end, a.end_from) for a in found.alerts] == [
        ("not-recorded-any-more", "false-alarm", None, ""),
        ("confirmed-known-end", "confirmed", 113.0, "alerts.jsonl"),
        ("false-alarm-1", "false-alarm", 122.0, "alerts.jsonl"),
        ("confirmed-no-clear", "confirmed", 131.0, END_FROM_RECORDINGS),
    ]
    assert found.alerts[1].note == "bearing" and found.alerts[1].score == 0.9
    assert (found.unlabelled, found.unknown_labels, found.unknown_ids) == (1, 1, 1)
    assert found.confirmed_spans() == [(110.0, 113.0), (130.0, 131.0)]
    said = found.describe()
    assert "4 labelled alert(s) (2 confirmed: left out of training; 2 false alarm(s): kept), 1 unlabelled" in said
    assert "1 end(s) taken from the recordings' alert column" in said and "1 labelled alert(s) not in the" in said
    assert "1 line(s) of labels.jsonl neither an ack nor false-alarm nor confirmed: ignored" in said
    assert "1 labelled id(s) not in alerts.jsonl and without a start: ignored" in said

    history = training_history(rows, alert_margin=3, leave_out=found.confirmed_spans())
    blank = {*range(7, 14), *range(27, 32)}  # 3 rows before each confirmed alert, then its span
    assert [i for i in range(40) if math.isnan(history.values[i, 0])] == sorted(blank)
    assert rows.read.confirmed_rows == 6 and rows.read.confirmed_margin_rows == 6
    assert "6 rows of confirmed alerts and 6 rows before them" in rows.read.describe()
    both = training_history(read_folder(folder), skip_alerts=True, alert_margin=3, leave_out=found.confirmed_spans())
    assert [i for i in range(40) if math.isnan(both.values[i, 0])] == sorted(blank | {17, 18, 19, 20, 21})


def test_retraining_leaves_out_the_confirmed_alert_and_decides_every_label_as_the_runtime_does(
    tmp_path: Path, capsys
) -> None:
    rows = live_rows(800)
    rows[400] = (rows[400][0], "", "")  # a sensor fault
    for i in range(300, 310):
        rows[i] = (rows[i][0], rows[i][1], rows[i][2] + 0.5)  # a door left open: the technician's false alarm
    for i in range(600, 620):
        rows[i] = (rows[i][0], rows[i][1] + 8, rows[i][2])  # the anomaly the technician confirms
    recordings = record(tmp_path, rows)
    alerts = sorted(feedback.read_alerts(recordings).values(), key=lambda a: a.start)
    assert len(alerts) == 2
    false_alarm, anomaly = alerts
    assert false_alarm.end is not None and float(rows[300][0]) < false_alarm.start < float(rows[320][0])
    assert float(rows[590][0]) < anomaly.start < float(rows[610][0])
    # the anomaly's CLEAR was not logged (a reload closed it): its end is the last row of its alerting run
    log = (recordings / feedback.ALERTS_FILE).read_text().splitlines(keepends=True)
    (recordings / feedback.ALERTS_FILE).write_text("".join(x for x in log if not ('"clear"' in x and anomaly.id in x)))
    anomaly = feedback.read_alerts(recordings)[anomaly.id]
    assert anomaly.end is None
    root = recordings.parent
    label(root, anomaly, "confirmed", "bearing replaced")
    label(root, false_alarm, "false-alarm", "door open")

    quiet = {"quiet": True, "train": TrainConfig(**FAST)}
    result = run_export(ExportOptions(data=recordings, out=tmp_path / "folder.onnx", **quiet), say=lambda _t: None)

    # by hand: the folder's rows as one CSV, then the anomaly's alerting run and WINDOW rows before it emptied
    folder_rows = by_hand(recordings, rows, tmp_path / "folder-rows.csv")
    lines = folder_rows.read_text().splitlines()
    times = [float(line.split(",")[0]) for line in lines[1:]]
    recorded = {
        t: a
        for f in sorted(recordings.glob("20*.csv"))
        for t, _v, _s, a, _st in (recording.parse_line(x, 2) for x in f.read_text().splitlines()[1:])
    }
    first = times.index(anomaly.start)
    last = next(i for i in range(first, len(times)) if not recorded.get(times[i], False)) - 1
    blank = set(range(first - WINDOW, last + 1))
    hand_rows = [(line.split(",")[0], "", "") if i in blank else line.split(",") for i, line in enumerate(lines[1:])]
    hand = write_history(tmp_path / "by-hand.csv", [tuple(r) for r in hand_rows])
    from_hand = run_export(
        ExportOptions(data=hand, out=tmp_path / "hand.onnx", allow_gaps=True, **quiet), lambda _t: None
    )
    np.testing.assert_array_equal(result.history.values, from_hand.history.values)
    assert result.model.weights_sha256 == from_hand.model.weights_sha256
    read = result.recordings
    assert read is not None and read.confirmed_rows == last - first + 1 and read.confirmed_margin_rows == WINDOW
    kept = [i for i, t in enumerate(times) if false_alarm.start <= t <= false_alarm.end and lines[i + 1].split(",")[1]]
    assert kept and np.isfinite(result.history.values[kept]).all()  # the false alarm's rows are trained on

    # the decisions equal the runtime's own replay of the folder's rows with the new model
    summary = replay(
        result.model.path, folder_rows, tmp_path / "scores.csv", keep_trace=True, log_events=False, sensor="pump-1"
    )
    assert summary.trace is not None
    trace = list(zip(summary.trace.timestamps, summary.trace.levels, summary.trace.alerts))
    assert [d.alert.id for d in result.decisions] == [false_alarm.id, anomaly.id]
    for decision, (start, end) in zip(
        result.decisions, [(false_alarm.start, false_alarm.end), (anomaly.start, times[last])]
    ):
        span = [(level, alert) for t, level, alert in trace if start <= t <= end]
        assert decision.alert.end == end and decision.threshold == summary.threshold
        assert decision.peak == max(level for level, _ in span if level is not None)
        assert decision.alerted == any(alert for _, alert in span)
    assert result.decisions[1].alerted  # the anomaly, never trained on, still alerts
    assert result.decisions[1].alert.end_from == END_FROM_RECORDINGS

    # and the summary says so, one line each and a closing count; decided with the gateway's [detector] settings
    gateway = tmp_path / "agent.toml"  # the config the recordings were made with
    argv = ["--data", str(recordings), "--out", str(tmp_path / "cli.onnx"), "--agent-config", str(gateway)]
    assert export_main([*argv, *FAST_ARGS]) == 0
    printed = capsys.readouterr().out
    assert f"the folder, [detector] of {gateway}):" in printed
    assert all(f"  {d.line()}\n" in printed for d in result.decisions)  # the same weights: the same decisions
    assert "alert feedback in" in printed and "1 confirmed: left out of training; 1 false alarm(s): kept" in printed
    assert f"rows of confirmed alerts and {WINDOW} rows before them" in printed
    assert "labelled alerts, as the new model would decide (replayed through the runtime" in printed
    fa, conf = result.decisions
    assert (
        f"{false_alarm.id} pump-1/{','.join(false_alarm.channels)} " in printed
        and 'false-alarm "door open"; old peak' in printed
    )
    assert (
        f"{anomaly.id} pump-1/{','.join(anomaly.channels)} " in printed
        and '(end from the recordings): confirmed "bearing replaced"' in printed
    )
    assert f"new model {conf.decision}" in printed and "new model would alert (peak" in printed
    assert f"false alarms: {int(not fa.alerted)} of 1 no longer alerted; confirmed: 1 of 1 still alerted" in printed
