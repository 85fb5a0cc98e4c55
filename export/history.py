"""Load sensor history from CSV, reading only the chronological prefix used for training.

Every problem is a :class:`DataError` naming the file, line and column and saying
how to fix it. Line numbers are the file's own (the header is line 1).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.core.timestamps import MISSING, guess_timestamp_column, parse_timestamp
from edge.csv_dialect import detect_delimiter
from export.errors import DataError


@dataclass(frozen=True)
class History:
    """The rows read from a history CSV (or a folder of recordings): timestamps in epoch seconds, float64 values."""

    path: Path
    channels: tuple[str, ...]
    timestamps: np.ndarray
    values: np.ndarray
    sha256: str
    total_rows: int
    in_folder: bool = False  # rows of a folder of recordings (``export.recordings``), not lines of one file

    @property
    def rows(self) -> int:
        """How many data rows were read."""
        return len(self.timestamps)

    def line(self, row: int) -> int:
        """The file line of data row ``row`` (0-based); the header is line 1. In a folder: the row, from 1."""
        return row + 1 if self.in_folder else row + 2

    def span(self, first: int, last: int) -> str:
        """``lines 2-481`` of a file, ``rows 1-480`` of a folder (``first`` and ``last`` 0-based, inclusive)."""
        return f"{'rows' if self.in_folder else 'lines'} {self.line(first)}-{self.line(last)}"


def count_data_rows(path: Path) -> int:
    """Count non-blank lines after the header without parsing any value."""
    with path.open("rb") as handle:
        lines = sum(1 for raw in handle if raw.strip())
    return max(0, lines - 1)


def _raw_lines(path: Path, digest: hashlib._Hash, limit: int | None) -> Iterator[str]:
    """Yield decoded lines (header and at most ``limit`` data rows), hashing exactly those bytes."""
    with path.open("rb") as handle:
        rows = -1
        for raw in handle:
            if not raw.strip():
                continue
            if limit is not None and rows >= limit:
                return
            digest.update(raw)
            rows += 1
            try:
                yield raw.decode("utf-8-sig" if rows == 0 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path} line {rows + 1}: not UTF-8 text ({exc.reason}); save the file as UTF-8"
                ) from exc


def _choose_columns(
    path: Path, header: list[str], first: list[str], columns: Sequence[str] | None, timestamp_column: str | None
) -> tuple[int, list[int]]:
    names = [h.strip() for h in header]
    if timestamp_column is None:
        timestamp_column = guess_timestamp_column(names)
    if timestamp_column not in names:
        raise DataError(
            f"{path}: no timestamp column {timestamp_column!r}; the columns are {names}; "
            "name the right one with --timestamp-column"
        )
    time_index = names.index(timestamp_column)
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(f"{path}: no column {missing[0]!r}; the columns are {names}; fix --columns")
        if timestamp_column in columns:
            raise DataError(f"{path}: column {timestamp_column!r} is the timestamp; leave it out of --columns")
        return time_index, [names.index(c) for c in columns]
    numeric = [i for i, value in enumerate(first) if i != time_index and _is_number(value)]
    if not numeric:
        raise DataError(
            f"{path}: no numeric column besides the timestamp {timestamp_column!r}; the columns are {names}; "
            "if the file separates its fields otherwise, name the separator with --delimiter"
        )
    return time_index, numeric


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_value(path: Path, line: int, column: str, text: str) -> float:
    text = text.strip()
    if text in MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{path} line {line}, column {column!r}: {text!r} is not a number; "
            "correct the value, or leave the column out with --columns"
        ) from None
    if math.isinf(value):
        raise DataError(f"{path} line {line}, column {column!r}: {text!r} is infinite; correct or empty the value")
    return value


def load_history(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    timestamp_column: str | None = None,
    max_rows: int | None = None,
    fraction: float | None = None,
    allow_repeated_times: bool = False,
    delimiter: str | None = None,
) -> History:
    """Read the header and the first ``max_rows`` (or ``fraction`` of the) data rows; nothing after them.

    Fields are separated by ``delimiter``, or by whichever of ``,`` ``;`` and tab the header uses.

    Rows that repeat the previous row's timestamp are refused unless ``allow_repeated_times`` (then
    they are separate samples in file order); a timestamp earlier than the one before always is.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check --data")
    total = count_data_rows(path)
    if fraction is not None:
        max_rows = max(1, int(total * fraction))
    digest = hashlib.sha256()
    lines = _raw_lines(path, digest, max_rows)
    header_line = next(lines, None)
    if header_line is None:
        raise DataError(f"{path}: the file is empty; check --data")
    if delimiter is None:
        delimiter = detect_delimiter(header_line)
    reader = csv.reader(itertools.chain([header_line], lines), delimiter=delimiter)
    header = next(reader, None)
    first = next(reader, None)
    if header is None or first is None:
        raise DataError(f"{path}: no data rows below the header; check --data")
    time_index, value_indices = _choose_columns(path, header, first, columns, timestamp_column)
    channels = tuple(header[i].strip() for i in value_indices)
    times: list[float] = []
    values: list[list[float]] = []
    for row_number, row in enumerate([first, *reader]):
        line = row_number + 2
        if len(row) != len(header):
            raise DataError(f"{path} line {line}: {len(row)} fields but the header has {len(header)}; repair the row")
        try:
            times.append(parse_timestamp(row[time_index]))
        except ValueError:
            raise DataError(
                f"{path} line {line}, column {header[time_index].strip()!r}: {row[time_index]!r} is not a "
                "timestamp; use ISO 8601 (2024-01-31 12:00:00) or epoch seconds, or pick another --timestamp-column"
            ) from None
        values.append([_parse_value(path, line, header[i].strip(), row[i]) for i in value_indices])
    timestamps = np.asarray(times, dtype=np.float64)
    check_order(path, timestamps, allow_repeated_times)
    return History(
        path=path,
        channels=channels,
        timestamps=timestamps,
        values=np.asarray(values, dtype=np.float64).reshape(len(times), len(channels)),
        sha256=digest.hexdigest(),
        total_rows=total,
    )


def check_order(path: Path, timestamps: np.ndarray, allow_repeated_times: bool = False) -> None:
    """Times strictly increasing (or not decreasing, with ``allow_repeated_times``); a ``DataError`` otherwise."""
    steps = np.diff(timestamps)
    bad = np.flatnonzero(steps < 0 if allow_repeated_times else steps <= 0)
    if bad.size == 0:
        return
    row = int(bad[0]) + 1
    what = "repeats the timestamp of" if steps[bad[0]] == 0 else "is earlier than"
    fix = (
        "remove the duplicate rows, or keep them as separate samples with --allow-repeated-times"
        if steps[bad[0]] == 0
        else "sort the file by time"
    )
    raise DataError(f"{path} line {row + 2}: its timestamp {what} line {row + 1}; {fix}")


def sample_period(timestamps: np.ndarray) -> float:
    """The typical spacing of the timestamps (their median step), in seconds."""
    if len(timestamps) < 2:
        raise ValueError("a sample period needs two timestamps")
    return float(np.median(np.diff(timestamps)))


def finite_segments(history: History, *, allow_gaps: bool) -> list[tuple[int, int]]:
    """Half-open row ranges without any missing value.

    A missing value is an error naming its line unless ``allow_gaps``, in which case
    the rows around it become separate segments and no window ever spans a gap.
    """
    finite = np.isfinite(history.values).all(axis=1)
    if not allow_gaps and not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        column = history.channels[int(np.flatnonzero(~np.isfinite(history.values[row]))[0])]
        count = int((~finite).sum())
        raise DataError(
            f"{history.path} line {history.line(row)}, column {column!r}: missing value "
            f"({count} row(s) with gaps); fill the gaps, drop those rows, or pass "
            "--allow-gaps to train on the stretches between them"
        )
    segments: list[tuple[int, int]] = []
    start: int | None = None
    for row, ok in enumerate(finite):
        if ok and start is None:
            start = row
        elif not ok and start is not None:
            segments.append((start, row))
            start = None
    if start is not None:
        segments.append((start, len(finite)))
    return segments
