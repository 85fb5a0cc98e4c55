"""The field recorder's file format, shared by the writer on the gateway and edge-export's folder reader.

A recording is edge-export's own CSV: a header ``timestamp,<channels…>,anomaly_score,alert,state``, then one
line per reading. The timestamp (Unix seconds) and the values are written with ``repr``, so reading a line
back gives the very floats that were scored; a missing value is empty. ``anomaly_score`` (6 significant
digits) is empty when the reading was not scored, ``alert`` is 1 while an alert is open, ``state`` is
``warmup``, ``scored`` or ``fault``.

Files live under ``<folder>/<sensor>/``, one per stretch of recording, named by the UTC time of their first
reading: ``2026-12-02T13-00-00Z.csv`` (``…Z-1.csv`` if a name is taken), so names sort in time order. Only
files named so are recordings: anything else in the folder (a ``labels.csv`` of alert feedback, say) is not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime

TIMESTAMP = "timestamp"
EXTRA_COLUMNS = ("anomaly_score", "alert", "state")
STATES = ("warmup", "scored", "fault")
FILE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z(-\d+)?\.csv")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def header(channels: Sequence[str]) -> str:
    """The first line of a recording of these channels (with its newline)."""
    reserved = [c for c in channels if c == TIMESTAMP or c in EXTRA_COLUMNS]
    if reserved:
        raise ValueError(f"channel {reserved[0]!r} has the name of a recorder column; rename it in the model")
    return ",".join([TIMESTAMP, *channels, *EXTRA_COLUMNS]) + "\n"


def number(value: float) -> str:
    """A value as written: ``repr`` (exact when read back), empty when missing."""
    return "" if math.isnan(value) else repr(value)


def line(timestamp: float, values: Sequence[float], score: float | None, alert: bool, state: str) -> str:
    """One reading's line (with its newline); ``score`` None when the reading was not scored."""
    fields = [repr(float(timestamp)), *(number(float(v)) for v in values)]
    fields += ["" if score is None else f"{score:.6g}", "1" if alert else "0", state]
    return ",".join(fields) + "\n"


def parse_line(text: str, channels: int) -> tuple[float, tuple[float, ...], float | None, bool, str]:
    """What :func:`line` wrote; ``ValueError`` when ``text`` is not such a line of ``channels`` values."""
    fields = text.rstrip("\n").split(",")
    if len(fields) != 1 + channels + len(EXTRA_COLUMNS):
        raise ValueError(f"{len(fields)} fields, not {1 + channels + len(EXTRA_COLUMNS)}")
    values = tuple(math.nan if f == "" else float(f) for f in fields[1 : 1 + channels])
    score, alert, state = fields[1 + channels :]
    if alert not in ("0", "1") or state not in STATES:
        raise ValueError(f"alert {alert!r} or state {state!r} is not the recorder's")
    return float(fields[0]), values, None if score == "" else float(score), alert == "1", state


def file_name(timestamp: float, taken: int = 0) -> str:
    """The name of a recording whose first reading is at ``timestamp``; ``taken``: how many such names exist."""
    try:
        moment = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        moment = datetime.fromtimestamp(0, UTC)  # a device clock far off: still a valid, sortable name
    stem = moment.strftime("%Y-%m-%dT%H-%M-%SZ")
    return f"{stem}.csv" if taken == 0 else f"{stem}-{taken}.csv"


def sensor_folder(sensor: str) -> str:
    """A sensor's folder name: its name with anything but letters, digits, ``_``, ``.`` and ``-`` as ``_``."""
    safe = _UNSAFE.sub("_", sensor)
    return safe if safe not in ("", ".", "..") else f"_{safe}"
