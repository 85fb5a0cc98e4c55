"""Loading history CSVs: prefixes, hashing, and a clear error for each kind of bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_rows, write_history

from export.errors import DataError
from export.history import count_data_rows, finite_segments, load_history, sample_period


def test_reads_only_the_prefix_and_hashes_exactly_it(tmp_path: Path) -> None:
    rows = synthetic_rows(50)
    path = write_history(tmp_path / "h.csv", rows)
    with path.open("a") as handle:
        handle.write("garbage,not a number,\n")  # after the prefix: must never be parsed
    history = load_history(path, max_rows=50)
    lines = path.read_bytes().splitlines(keepends=True)
    assert history.rows == 50 and history.total_rows == 51
    assert history.sha256 == hashlib.sha256(b"".join(lines[:51])).hexdigest()
    assert history.channels == ("temperature", "vibration")
    assert history.values[3, 0] == pytest.approx(rows[3][1])
    assert sample_period(history.timestamps) == 300.0


def test_default_columns_are_the_numeric_ones(tmp_path: Path) -> None:
    path = write_history(
        tmp_path / "h.csv", [(f"2024-01-01 00:0{i}:00", i, "ok", 2 * i) for i in range(5)], header="time,a,status,b"
    )
    history = load_history(path)
    assert history.channels == ("a", "b")
    assert count_data_rows(path) == 5


@pytest.mark.parametrize(
    ("mutate", "kwargs", "expected"),
    [
        (lambda rows: rows, {"columns": ["pressure"]}, "no column 'pressure'"),
        (lambda rows: rows, {"timestamp_column": "when"}, "no timestamp column 'when'"),
        (
            lambda rows: rows[:7] + [(rows[7][0], "hot", rows[7][2])] + rows[8:],
            {},
            "line 9, column 'temperature': 'hot' is not a number",
        ),
        (
            lambda rows: rows[:4] + [rows[5], rows[4]] + rows[6:],
            {},
            "line 7: its timestamp is earlier than line 6; sort",
        ),
        (
            lambda rows: rows[:4] + [rows[4], rows[4]] + rows[6:],
            {},
            "line 7: its timestamp repeats the timestamp of line 6; remove",
        ),
        (
            lambda rows: rows[:3] + [("yesterday", 1, 2)] + rows[4:],
            {},
            "line 5, column 'timestamp': 'yesterday' is not a timestamp",
        ),
        (lambda rows: rows[:3] + [(rows[3][0], 1)] + rows[4:], {}, "line 5: 2 fields but the header has 3"),
    ],
)
def test_bad_input_names_line_column_and_fix(tmp_path: Path, mutate, kwargs, expected) -> None:
    path = write_history(tmp_path / "bad.csv", mutate(synthetic_rows(20)))
    with pytest.raises(DataError, match=expected.replace("(", r"\(").replace(")", r"\)")) as info:
        load_history(path, **kwargs)
    assert str(path) in str(info.value)


def test_missing_values_refused_unless_gaps_are_allowed(tmp_path: Path) -> None:
    rows = synthetic_rows(30)
    rows[10] = (rows[10][0], "", rows[10][2])
    rows[11] = (rows[11][0], "nan", "NaN")
    history = load_history(write_history(tmp_path / "gaps.csv", rows))
    with pytest.raises(DataError, match=r"line 12, column 'temperature': missing value \(2 row\(s\).*--allow-gaps"):
        finite_segments(history, allow_gaps=False)
    segments = finite_segments(history, allow_gaps=True)
    assert segments == [(0, 10), (12, 30)]
    for start, end in segments:
        assert np.isfinite(history.values[start:end]).all()


def test_fraction_reads_that_share_of_the_rows(tmp_path: Path) -> None:
    path = write_history(tmp_path / "h.csv", synthetic_rows(50))
    history = load_history(path, fraction=0.5)
    assert (history.rows, history.total_rows) == (25, 50)
