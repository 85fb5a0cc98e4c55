"""Parse CSV timestamps into epoch seconds (shared by edge-export and replay)."""

from __future__ import annotations

import math
from datetime import datetime

TIMESTAMP_NAMES = ("timestamp", "time", "datetime", "date", "ts")
MISSING = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None", "NA", "N/A"})


def parse_timestamp(text: str) -> float:
    """ISO 8601 (naive means UTC) or epoch seconds; raise ``ValueError`` otherwise.

    >>> parse_timestamp("2013-12-02 21:15:00")
    1386018900.0
    >>> parse_timestamp("1386018900.5")
    1386018900.5
    """
    text = text.strip()
    if text[4:5] == "-":  # a date first (no number has a '-' there but an exponent's: that one falls through)
        try:
            return _iso_seconds(text)
        except ValueError:
            pass
    try:
        seconds = float(text)
    except ValueError:
        return _iso_seconds(text)
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a finite number of seconds")
    return seconds


_EPOCH = datetime(1970, 1, 1)


def _iso_seconds(text: str) -> float:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # naive means UTC: the same seconds as replace(tzinfo=UTC).timestamp()
        return (moment - _EPOCH).total_seconds()
    return moment.timestamp()


def guess_timestamp_column(names: list[str]) -> str:
    """The column named like a timestamp (timestamp, time, datetime, date, ts; any case), else the first.

    >>> guess_timestamp_column(["value", "Time"])
    'Time'
    """
    lowered = [n.lower() for n in names]
    return next((names[lowered.index(n)] for n in TIMESTAMP_NAMES if n in lowered), names[0])
