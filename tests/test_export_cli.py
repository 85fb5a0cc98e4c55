"""edge-export as a person uses it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAST, synthetic_rows, write_history

from edge.cli import main as agent_main
from export.cli import main as export_main

pytestmark = pytest.mark.workstation  # trains a model: needs torch

FAST_ARGS = [f"--{k}={v}" for k, v in FAST.items()]


def test_export_writes_model_report_and_summary(history_csv: Path, tmp_path: Path, capsys) -> None:
    out, report = tmp_path / "model.onnx", tmp_path / "report.png"
    code = export_main(["--data", str(history_csv), "--out", str(out), "--report", str(report), *FAST_ARGS])
    printed = capsys.readouterr().out
    assert code == 0
    assert out.stat().st_size > 0 and report.read_bytes().startswith(b"\x89PNG")
    assert "onnxruntime int8" in printed and "threshold" in printed and "x smaller" in printed
    assert agent_main(["inspect", str(out)]) == 0
    assert "verified" in capsys.readouterr().out


def test_quiet_prints_nothing(history_csv: Path, tmp_path: Path, capsys) -> None:
    assert export_main(["--data", str(history_csv), "--out", str(tmp_path / "m.onnx"), "--quiet", *FAST_ARGS]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def _bad(tmp_path: Path, rows: list, header: str = "timestamp,temperature,vibration") -> Path:
    return write_history(tmp_path / "bad.csv", rows, header)


CASES = {
    "missing column": (
        lambda t: _bad(t, synthetic_rows(300)),
        ["--columns", "temperature,pressure"],
        "no column 'pressure'",
    ),
    "non-numeric": (
        lambda t: _bad(t, synthetic_rows(300)[:5] + [("1700009999", "x", 1)] + synthetic_rows(300)[6:]),
        [],
        "not a number",
    ),
    "too few rows": (lambda t: _bad(t, synthetic_rows(30)), [], "--window 16 needs 33 rows to train on"),
    "too few to validate": (
        lambda t: _bad(t, synthetic_rows(186)),
        ["--window", "32"],
        "validation (the last 0.2 of them, --validation-fraction) scores 37 rows and needs 50; "
        "read at least 248 rows (--train-rows/--train-fraction) or hold out more with "
        "--validation-fraction 0.27",
    ),
    "semicolon file named as comma": (lambda t: _bad(t, [], "timestamp;temperature;vibration"), [], ""),
    "NaN gap": (
        lambda t: _bad(
            t, synthetic_rows(300)[:100] + [(synthetic_rows(300)[100][0], "", 1.0)] + synthetic_rows(300)[101:]
        ),
        [],
        "line 102, column 'temperature': missing value",
    ),
    "unsorted": (lambda t: _bad(t, list(reversed(synthetic_rows(300)))), [], "sort the file by time"),
    "duplicate timestamps": (
        lambda t: _bad(t, synthetic_rows(300)[:50] + synthetic_rows(300)[49:]),
        [],
        "remove the duplicate rows",
    ),
    "no file": (lambda t: t / "absent.csv", [], "no such file"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path, capsys) -> None:
    make, extra, expected = CASES[case]
    path = make(tmp_path)
    if case == "semicolon file named as comma":
        path = write_semicolons(tmp_path / "bad.csv", synthetic_rows(300))
        extra, expected = ["--delimiter", "comma"], "name the separator with --delimiter"
    code = export_main(["--data", str(path), "--out", str(tmp_path / "m.onnx"), "--quiet", *FAST_ARGS, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("edge-export: error: ") and err.count("\n") == 1
    assert expected in err and "Traceback" not in err
    assert str(path) in err
    assert not (tmp_path / "m.onnx").exists()


def write_semicolons(path: Path, rows: list, decimal_comma: bool = False) -> Path:
    lines = ["timestamp;temperature;vibration"]
    for t, a, b in rows:
        a_text, b_text = (f"{a:.4f}", f"{b:.4f}")
        if decimal_comma:
            a_text, b_text = a_text.replace(".", ","), b_text.replace(".", ",")
        lines.append(f"{t};{a_text};{b_text}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolon_and_tab_files_are_read_as_they_are(separator: str, tmp_path: Path) -> None:
    from edge.model.loader import load_model

    text = (
        "\n".join(
            separator.join(str(v) for v in row)
            for row in [("timestamp", "temperature", "vibration"), *synthetic_rows(400)]
        )
        + "\n"
    )
    path = tmp_path / "history.csv"
    path.write_text(text)
    out = tmp_path / "m.onnx"
    assert export_main(["--data", str(path), "--out", str(out), "--quiet", *FAST_ARGS]) == 0
    assert load_model(out).metadata.channels == ("temperature", "vibration")
    scored = tmp_path / "scored.csv"
    assert agent_main(["replay", "--model", str(out), "--input", str(path), "--output", str(scored), "--quiet"]) == 0
    header, first = scored.read_text().splitlines()[:2]
    assert header.split(separator)[:4] == ["timestamp", "temperature", "vibration", "anomaly_score"]
    assert len(first.split(separator)) == len(header.split(separator))


def test_a_channel_constant_in_training_is_kept_and_a_departure_from_it_is_rare(tmp_path: Path) -> None:
    from edge.model.loader import load_model

    rows = [(r[0], 7.0, r[2]) for r in synthetic_rows(700)]
    path = _bad(tmp_path, rows[:400])
    out = tmp_path / "m.onnx"
    assert export_main(["--data", str(path), "--out", str(out), "--quiet", *FAST_ARGS]) == 0
    assert load_model(out).metadata.constant_channels == ("temperature",)
    live = rows[400:]
    live[200] = (live[200][0], 7.5, live[200][2])
    source, scored = _bad(tmp_path, live), tmp_path / "scored.csv"
    assert agent_main(["replay", "--model", str(out), "--input", str(source), "--output", str(scored), "--quiet"]) == 0
    lines = [line.split(",") for line in scored.read_text().splitlines()[1:]]
    states = [line[5] for line in lines]
    assert "fault" not in states  # a constant that stays constant is not a stuck sensor here
    scores = [float(line[3]) for line in lines]
    assert scores[200] == max(scores) and scores[200] > 0.5


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such file"):
        export_main(["--data", str(tmp_path / "absent.csv"), "--debug"])


def test_gaps_are_allowed_on_request(tmp_path: Path) -> None:
    rows = synthetic_rows(700)
    rows[300] = (rows[300][0], "", rows[300][2])
    path = _bad(tmp_path, rows)
    assert (
        export_main(["--data", str(path), "--out", str(tmp_path / "m.onnx"), "--quiet", "--allow-gaps", *FAST_ARGS])
        == 0
    )


def test_time_gaps_are_reported(tmp_path: Path, capsys) -> None:
    rows = synthetic_rows(700)
    rows = rows[:300] + [(f"{float(r[0]) + 3000:.0f}", r[1], r[2]) for r in rows[300:]]  # 10 periods missing
    path = _bad(tmp_path, rows)
    assert export_main(["--data", str(path), "--out", str(tmp_path / "m.onnx"), *FAST_ARGS]) == 0
    assert "1 time gap(s) longer than 1.5 sample periods (longest 11 periods)" in capsys.readouterr().out


def test_repeated_timestamps_are_kept_as_samples_on_request_and_time_going_back_never_is(tmp_path: Path) -> None:
    rows = synthetic_rows(700)
    repeated = rows[:300] + [(rows[299][0], r[1], r[2]) for r in rows[300:303]] + rows[303:]
    path = _bad(tmp_path, repeated)
    out = tmp_path / "m.onnx"
    assert export_main(["--data", str(path), "--out", str(out), "--quiet", *FAST_ARGS]) == 2
    assert export_main(["--data", str(path), "--out", str(out), "--quiet", "--allow-repeated-times", *FAST_ARGS]) == 0
    backwards = _bad(tmp_path, rows[:300] + [rows[100]] + rows[301:])
    assert (
        export_main(["--data", str(backwards), "--out", str(out), "--quiet", "--allow-repeated-times", *FAST_ARGS]) == 2
    )
