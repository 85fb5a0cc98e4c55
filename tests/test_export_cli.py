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
    "missing column": (lambda t: _bad(t, synthetic_rows(300)), ["--columns", "temperature,pressure"], "no column 'pressure'"),
    "non-numeric": (lambda t: _bad(t, synthetic_rows(300)[:5] + [("1700009999", "x", 1)] + synthetic_rows(300)[6:]), [],
                    "not a number"),
    "too few rows": (lambda t: _bad(t, synthetic_rows(60)), [], "needs at least"),
    "constant channel": (lambda t: _bad(t, [(r[0], 7.0, r[2]) for r in synthetic_rows(300)]), [],
                         "column 'temperature' is constant (7)"),
    "NaN gap": (lambda t: _bad(t, synthetic_rows(300)[:100] + [(synthetic_rows(300)[100][0], "", 1.0)]
                               + synthetic_rows(300)[101:]), [], "line 102, column 'temperature': missing value"),
    "unsorted": (lambda t: _bad(t, list(reversed(synthetic_rows(300)))), [], "sort the file by time"),
    "duplicate timestamps": (lambda t: _bad(t, synthetic_rows(300)[:50] + synthetic_rows(300)[49:]), [],
                             "remove the duplicate rows"),
    "no file": (lambda t: t / "absent.csv", [], "no such file"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(case: str, tmp_path: Path, capsys) -> None:
    make, extra, expected = CASES[case]
    path = make(tmp_path)
    code = export_main(["--data", str(path), "--out", str(tmp_path / "m.onnx"), "--quiet", *FAST_ARGS, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("edge-export: error: ") and err.count("\n") == 1
    assert expected in err and "Traceback" not in err
    assert str(path) in err
    assert not (tmp_path / "m.onnx").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such file"):
        export_main(["--data", str(tmp_path / "absent.csv"), "--debug"])


def test_gaps_are_allowed_on_request(tmp_path: Path) -> None:
    rows = synthetic_rows(700)
    rows[300] = (rows[300][0], "", rows[300][2])
    path = _bad(tmp_path, rows)
    assert export_main(["--data", str(path), "--out", str(tmp_path / "m.onnx"), "--quiet", "--allow-gaps", *FAST_ARGS]) == 0


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
    assert export_main(["--data", str(backwards), "--out", str(out), "--quiet", "--allow-repeated-times",
                        *FAST_ARGS]) == 2
