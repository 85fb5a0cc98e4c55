"""``edge-agent replay``: the service's pipeline over a CSV, strictly causal."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL, live_rows, write_history

from edge.cli import main

HEADER = "timestamp,temperature,vibration"


def eventful_rows() -> list[tuple]:
    """Normal data with a spike, a NaN, a gap in time and an unreadable timestamp."""
    rows: list[tuple] = list(live_rows(320))
    t, temp, vib = rows[150]
    rows[150] = (t, temp + 30.0, vib)
    rows[200] = (rows[200][0], "nan", rows[200][2])
    del rows[240:250]
    rows[270] = ("yesterday", rows[270][1], rows[270][2])
    return rows


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def replay(tmp_path: Path, rows: list[tuple], name: str, *extra: str) -> list[list[str]]:
    source = write_history(tmp_path / f"{name}.csv", rows, HEADER)
    out = tmp_path / f"{name}.out.csv"
    assert (
        main(["replay", "--model", str(FIXTURE_MODEL), "--input", str(source), "--output", str(out), "--quiet", *extra])
        == 0
    )
    return read_csv(out)


def test_output_has_every_input_column_and_the_scores(tmp_path: Path) -> None:
    rows = eventful_rows()
    out = replay(tmp_path, rows, "full")
    assert out[0] == [
        "timestamp",
        "temperature",
        "vibration",
        "anomaly_score",
        "alert",
        "state",
        "score_temperature",
        "score_vibration",
    ]
    assert len(out) == len(rows) + 1
    assert [r[:3] for r in out[1:]] == [[str(v) for v in row] for row in rows]
    states = [r[5] for r in out[1:]]
    assert states[:16] == ["warmup"] * 16 and states[16] == "scored"
    assert states[200] == "fault" and states[270] == "dropped"
    assert states[240] == "warmup"  # the gap restarts the warm-up instead of alerting
    scores = [float(r[3]) for r in out[1:] if r[5] == "scored"]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert out[151][4] == "1" and float(out[151][3]) >= 0.2  # the spike alerts
    assert {r[4] for r in out[1:] if r[5] != "scored"} == {"0"}


def test_replay_is_strictly_causal(tmp_path: Path) -> None:
    """Row i's output is the same whether the file ends at row i or goes on."""
    rows = eventful_rows()
    full = replay(tmp_path, rows, "full")
    for cut in (1, 17, 151, 152, 201, 245, 271, 290):
        prefix = replay(tmp_path, rows[:cut], f"prefix{cut}")
        assert prefix == full[: cut + 1], f"prefix of {cut} rows differs"


@pytest.mark.parametrize("block", ["2", "37", "256"])
def test_every_block_size_writes_what_one_row_per_call_writes(tmp_path: Path, capsys, block: str) -> None:
    rows = eventful_rows()
    source = write_history(tmp_path / "in.csv", rows, HEADER)
    outputs, logs = {}, {}
    for size in ("1", block):
        out = tmp_path / f"out{size}.csv"
        assert (
            main(
                ["replay", "--model", str(FIXTURE_MODEL), "--input", str(source), "--output", str(out), "--block", size]
            )
            == 0
        )
        outputs[size] = out.read_bytes()
        lines = [
            line.split(" ", 2)[-1] for line in capsys.readouterr().err.splitlines() if not line.startswith("replayed ")
        ]
        # the event lines in order; the reader's own warnings come as a block is read, ahead of its events
        logs[size] = [line for line in lines if not line.startswith("WARNING replay ")]
    assert outputs[block] == outputs["1"]  # byte for byte: scores, alerts, states
    assert logs[block] == logs["1"] and any("ALERT" in line for line in logs["1"])
    assert any("FAULT" in line for line in logs["1"])


def test_a_block_below_one_is_refused(tmp_path: Path, capsys) -> None:
    source = write_history(tmp_path / "in.csv", live_rows(40), HEADER)
    code = main(
        [
            "replay",
            "--model",
            str(FIXTURE_MODEL),
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.csv"),
            "--block",
            "0",
        ]
    )
    assert code == 2 and "--block 0" in capsys.readouterr().err


def test_log_lines_name_sensor_channel_score_and_values(tmp_path: Path, capsys) -> None:
    source = write_history(tmp_path / "pump-7.csv", eventful_rows(), HEADER)
    out = tmp_path / "out.csv"
    assert main(["replay", "--model", str(FIXTURE_MODEL), "--input", str(source), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    alert = next(line for line in err.splitlines() if " ALERT pump-7/temperature score=" in line)
    from edge.model.loader import load_model

    assert (
        f"(threshold {load_model(FIXTURE_MODEL).metadata.threshold:.3f})" in alert
        and "observed=" in alert
        and "expected=" in alert
        and "since" in alert
    )
    assert "FAULT pump-7 nan: temperature is not a number; the model's forecast fills it, scoring goes on" in err
    assert "FAULT pump-7 time_gap: no data for 3300 s (expected every 300 s)" in err
    assert "line 272: dropped, timestamp 'yesterday' cannot be read" in err
    assert "replayed 310 rows" in err and "1 dropped" in err


def test_units_given_to_replay_appear_in_its_alert_lines(tmp_path: Path, capsys) -> None:
    source = write_history(tmp_path / "pump-7.csv", eventful_rows(), HEADER)
    argv = ["replay", "--model", str(FIXTURE_MODEL), "--input", str(source), "--output", str(tmp_path / "o.csv")]
    assert main([*argv, "--units", "degC, mm/s"]) == 0
    alert = next(line for line in capsys.readouterr().err.splitlines() if " ALERT pump-7/temperature " in line)
    assert re.search(r"observed=[-\d.]+ degC expected=[-\d.]+ degC since", alert)
    assert main([*argv, "--units", "degC"]) == 2
    assert "units ['degC'] (1) for the model's 2 channels" in capsys.readouterr().err


def test_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "replay.png"
    replay(tmp_path, eventful_rows()[:100], "plotted", "--plot", str(plot))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_file_without_the_models_channels_is_one_error(tmp_path: Path, capsys) -> None:
    source = write_history(tmp_path / "other.csv", live_rows(20), "timestamp,temp,vib")
    code = main(["replay", "--model", str(FIXTURE_MODEL), "--input", str(source), "--output", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "has no column 'temperature', 'vibration'" in err and "its columns are ['timestamp', 'temp', 'vib']" in err


def test_config_thresholds_apply_to_replay(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[model]\npath = "{FIXTURE_MODEL}"\nthreshold = 0.99\n\n[detector]\nscoring = "calibrated"\n'
        'debounce_k = 3\ndebounce_n = 4\n\n[[sources]]\ntype = "replay"\n'
        'sensor = "x"\npath = "x.csv"\n'
    )
    out = replay(tmp_path, eventful_rows(), "strict", "--config", str(config))
    assert {r[4] for r in out[1:]} == {"0"}
