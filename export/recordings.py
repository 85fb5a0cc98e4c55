"""Read a folder of edge-agent recordings (``[recorder]``) as one history, for ``edge-export --data FOLDER``.

The files of one sensor are read in time order (sorted by their first reading). Each boundary between files
is a break: a row with no values stands between them, timed halfway, so no training window spans the gap
(exactly what a hand-made CSV with an empty row there gives with ``--allow-gaps``). Rows the agent recorded
as ``fault`` become such empty rows (breaks too), and so, with ``skip_alerts``, do rows recorded while an alert
was open, with the ``alert_margin`` rows before each alert (the readings that led up to it). A last line cut
by a crash is skipped. :func:`read_folder` reads every row; :func:`training_history` leaves rows out: faults
and breaks always, alerts with ``skip_alerts``, and the given spans (the alerts technicians confirmed,
:mod:`export.feedback`) with their ``alert_margin`` rows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge import recording
from export.errors import DataError
from export.history import History, check_order


@dataclass
class FolderRead:
    """What reading a folder of recordings found and left out."""

    folder: Path
    files: int = 0
    rows: int = 0  # readings in the files (complete lines)
    fault_rows: int = 0
    alert_rows: int = 0
    margin_rows: int = 0  # rows before an alert left out with it
    confirmed_rows: int = 0  # rows of alerts a technician labelled confirmed
    confirmed_margin_rows: int = 0  # rows before them left out with them
    cut_lines: int = 0  # last lines cut by a crash
    breaks: int = 0  # empty rows between files
    names: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for edge-export's output."""
        skipped = f"{self.fault_rows} fault rows"
        if self.confirmed_rows or self.confirmed_margin_rows:
            skipped += (
                f", {self.confirmed_rows} rows of confirmed alerts and {self.confirmed_margin_rows} rows before them"
            )
        if self.alert_rows or self.margin_rows:
            skipped += f", {self.alert_rows} alert rows and {self.margin_rows} rows before alerts"
        return (
            f"read {self.rows} rows from {self.files} recording(s) in {self.folder} ({', '.join(self.names[:1])}"
            f"{' … ' + self.names[-1] if self.files > 1 else ''}); left out as breaks: {skipped}; "
            f"{self.breaks} break(s) between files; {self.cut_lines} last line(s) cut by a crash skipped"
        )


@dataclass
class _File:
    path: Path
    channels: tuple[str, ...]
    lines: list[str]
    data: bytes  # the complete lines' bytes, header included


def recording_files(folder: Path) -> list[Path]:
    """The recordings in ``folder`` (by name); a ``DataError`` that says what to pass when there are none."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; check --data")
    files = sorted(p for p in folder.iterdir() if p.is_file() and recording.FILE_PATTERN.fullmatch(p.name))
    if not files:
        sensors = sorted(p.name for p in folder.iterdir() if p.is_dir())
        hint = f"; it has sensor folders: pass one, such as --data {folder / sensors[0]}" if sensors else ""
        raise DataError(
            f"{folder}: no recordings (files named like 2026-12-02T13-00-00Z.csv){hint}; "
            "a single CSV is passed as --data FILE"
        )
    return files


def _read_file(path: Path) -> tuple[_File, bool]:
    """The file's complete lines, and whether a last line cut by a crash was left out."""
    data = path.read_bytes()
    cut = not data.endswith(b"\n")
    if cut:
        data = data[: data.rfind(b"\n") + 1]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason}); is it a recording?") from exc
    lines = text.splitlines(keepends=True)
    if not lines:
        return _File(path, (), [], data), cut
    names = lines[0].rstrip("\n").split(",")
    if names[0] != recording.TIMESTAMP or tuple(names[-len(recording.EXTRA_COLUMNS) :]) != recording.EXTRA_COLUMNS:
        raise DataError(
            f"{path}: the header is not a recording's (timestamp, the channels, "
            f"{', '.join(recording.EXTRA_COLUMNS)}); move other files out of the folder"
        )
    return _File(path, tuple(names[1 : -len(recording.EXTRA_COLUMNS)]), lines[1:], data), cut


@dataclass
class FolderRows:
    """Every row of a folder of recordings in time order, before anything is left out for training: values
    (NaN in fault rows and in the break rows between files), the recorder's ``alert`` column (False in break
    rows), the sha256 of the files' complete lines, and what was read (``read``)."""

    read: FolderRead
    channels: tuple[str, ...]
    timestamps: np.ndarray
    values: np.ndarray
    alerting: np.ndarray
    sha256: str


def read_folder(folder: str | Path, columns: Sequence[str] | None = None) -> FolderRows:
    """The rows of every recording in ``folder`` in time order, breaks as rows of NaN (see the module)."""
    folder = Path(folder)
    read = FolderRead(folder)
    files = []
    for path in recording_files(folder):
        file, cut = _read_file(path)
        read.cut_lines += cut
        if file.lines:
            files.append(file)
    if not files:
        raise DataError(f"{folder}: the recordings hold no readings yet; record for longer")
    channels = files[0].channels
    wanted = tuple(columns) if columns else channels
    for file in files:
        missing = [c for c in wanted if c not in file.channels]
        if missing or (not columns and file.channels != channels):
            raise DataError(
                f"{file.path}: its channels are {list(file.channels)}, not {list(wanted)} as in "
                f"{files[0].path.name}; the model changed: pick the common channels with --columns, or move "
                "the files of the other model out of the folder"
            )
    parsed = [_parse(file, wanted, read) for file in files]
    order = sorted(range(len(parsed)), key=lambda i: parsed[i][0][0])
    digest = hashlib.sha256()
    times: list[float] = []
    values: list[np.ndarray] = []
    alerting: list[np.ndarray] = []
    for i in order:
        file_times, file_values, file_alerts = parsed[i]
        if times:
            if file_times[0] <= times[-1]:
                raise DataError(
                    f"{files[i].path}: its first reading is not after the last one of the file before it in time; "
                    "recordings of two agents (or of a clock set back) are mixed: keep one sensor's files"
                )
            times.append((times[-1] + file_times[0]) / 2)
            values.append(np.full((1, len(wanted)), math.nan))
            alerting.append(np.zeros(1, dtype=bool))
            read.breaks += 1
        digest.update(files[i].data)
        read.files += 1
        read.names.append(files[i].path.name)
        times.extend(file_times)
        values.append(file_values)
        alerting.append(file_alerts)
    return FolderRows(
        read,
        wanted,
        np.asarray(times, dtype=np.float64),
        np.concatenate(values),
        np.concatenate(alerting),
        digest.hexdigest(),
    )


def training_history(
    rows: FolderRows,
    *,
    skip_alerts: bool = False,
    alert_margin: int = 0,
    leave_out: Sequence[tuple[float, float]] = (),
    max_rows: int | None = None,
    fraction: float | None = None,
    allow_repeated_times: bool = False,
) -> History:
    """The history to train on: ``rows`` with the rows of each ``leave_out`` span (start and end times,
    inclusive; a confirmed alert) and ``alert_margin`` rows before it as breaks, and with ``skip_alerts`` every
    alerting run and ``alert_margin`` rows before it too. Counts what it left out in ``rows.read``."""
    table = rows.values.copy()
    read = rows.read
    if leave_out:
        spans = np.zeros(len(table), dtype=bool)
        for start, end in leave_out:
            spans |= (rows.timestamps >= start) & (rows.timestamps <= end)
        read.confirmed_rows, read.confirmed_margin_rows = _blank_runs(table, spans, alert_margin)
    if skip_alerts:
        read.alert_rows, read.margin_rows = _blank_runs(table, rows.alerting, alert_margin)
    timestamps = rows.timestamps
    total = len(timestamps)
    if fraction is not None:
        max_rows = max(1, int(total * fraction))
    if max_rows is not None:
        timestamps, table = timestamps[:max_rows], table[:max_rows]
    check_order(read.folder, timestamps, allow_repeated_times)
    return History(read.folder, rows.channels, timestamps, table, rows.sha256, total, in_folder=True)


def load_recordings(
    folder: str | Path,
    *,
    columns: Sequence[str] | None = None,
    skip_alerts: bool = False,
    alert_margin: int = 0,
    max_rows: int | None = None,
    fraction: float | None = None,
    allow_repeated_times: bool = False,
) -> tuple[History, FolderRead]:
    """:func:`read_folder` then :func:`training_history`: the history of ``folder`` and what was read."""
    rows = read_folder(folder, columns)
    history = training_history(
        rows,
        skip_alerts=skip_alerts,
        alert_margin=alert_margin,
        max_rows=max_rows,
        fraction=fraction,
        allow_repeated_times=allow_repeated_times,
    )
    return history, rows.read


def _parse(file: _File, wanted: tuple[str, ...], read: FolderRead) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Times, values (fault rows NaN) and alert flags of one file's lines."""
    picks = [file.channels.index(c) for c in wanted]
    times, rows, alerts = [], [], []
    for number, text in enumerate(file.lines, 2):
        try:
            timestamp, values, _score, alert, state = recording.parse_line(text, len(file.channels))
        except ValueError as exc:
            raise DataError(f"{file.path} line {number}: not a recorder's line ({exc}); repair or remove it") from None
        times.append(timestamp)
        if state == "fault":
            read.fault_rows += 1
            rows.append([math.nan] * len(picks))
        else:
            rows.append([values[p] for p in picks])
        alerts.append(alert)
    read.rows += len(times)
    table = np.asarray(rows, dtype=np.float64).reshape(len(times), len(picks))
    return times, table, np.asarray(alerts, dtype=bool)


def _blank_runs(table: np.ndarray, flagged: np.ndarray, margin: int) -> tuple[int, int]:
    """The ``flagged`` rows, and ``margin`` rows before each run of them, as breaks (in place); how many of
    each still had values."""
    blank = flagged.copy()
    for start in np.flatnonzero(flagged & ~np.concatenate([[False], flagged[:-1]])):
        blank[max(0, start - margin) : start] = True
    finite = np.isfinite(table).all(axis=1)
    counts = int((flagged & finite).sum()), int((blank & ~flagged & finite).sum())
    table[blank] = math.nan
    return counts
