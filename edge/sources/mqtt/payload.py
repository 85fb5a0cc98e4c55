"""The ``mqtt`` source's payloads into numbers and times (pure: no broker, no paho).

A JSON payload is read with Python's ``json`` (so ``NaN`` and ``Infinity`` are numbers: they pass, and the
detector faults them); a dotted path (``vib.rms``: the key ``rms`` of the object under ``vib``; a part of digits
indexes a list: ``axes.2``) picks a field. A topic-per-channel message is one number as text.

>>> document = load_json(b'{"temp_c": 21.5, "vib": {"rms": 0.25}}')
>>> as_number(lookup(document, split_path("vib.rms")), "vib.rms")
0.25
>>> lookup(document, split_path("vib.peak"))
Traceback (most recent call last):
...
edge.sources.mqtt.payload.BadPayload: no field 'vib.peak' (vib has no key 'peak')
"""

from __future__ import annotations

import json
import math
from typing import Any

from edge.core.timestamps import parse_timestamp

MAX_PAYLOAD = 65_536  # bytes; a sensor's reading is far smaller, anything larger is a wrong topic
WORDS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


class BadPayload(ValueError):
    """A message that gives no reading; the text says what was wrong with it."""


def excerpt(payload: bytes, limit: int = 60) -> str:
    """The start of a payload as a log line shows it: quoted, one line, at most ``limit`` characters."""
    text = payload[: limit * 4].decode("utf-8", errors="replace")
    short = text[:limit] + ("..." if len(text) > limit or len(payload) > limit * 4 else "")
    return repr(short)


def kind(value: Any) -> str:
    """A JSON value's type in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def split_path(path: str) -> tuple[str, ...]:
    """``"vib.rms"`` -> ``("vib", "rms")``; raise ValueError for an empty path or part."""
    parts = tuple(path.split("."))
    if not path or not all(parts):
        raise ValueError(f"field path {path!r} must be names joined by dots (vib.rms), none empty")
    return parts


def load_json(payload: bytes) -> Any:
    """The payload as a JSON value (NaN and Infinity allowed, as Python writes them)."""
    if len(payload) > MAX_PAYLOAD:
        raise BadPayload(f"{len(payload)} bytes, more than {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"not JSON ({exc.msg} at character {exc.pos})") from None
    except (ValueError, RecursionError):  # too deeply nested, or an integer of too many digits
        raise BadPayload("not JSON this source reads (nested too deeply or a number too long)") from None


def lookup(document: Any, path: tuple[str, ...]) -> Any:
    """The value at a dotted path; BadPayload naming where the path stops."""
    current = document
    for depth, key in enumerate(path):
        if isinstance(current, dict) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.isascii() and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            where = ".".join(path[:depth]) or "the message"
            has = f"has no key {key!r}" if isinstance(current, dict) else f"is {kind(current)}"
            if isinstance(current, list):
                has = f"is a list of {len(current)}"
            raise BadPayload(f"no field {'.'.join(path)!r} ({where} {has})")
    return current


def as_number(value: Any, what: str) -> float:
    """A JSON number as a float (NaN and infinities pass: the detector faults them); BadPayload otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadPayload(f"{what} is {kind(value)}, not a number")
    try:
        return float(value)
    except OverflowError:
        raise BadPayload(f"{what} is an integer too large for a float") from None


def plain_number(payload: bytes) -> float:
    """A topic-per-channel message: one number as text (``21.5``, ``1e-3``, ``nan``, ``-inf``)."""
    try:
        value = load_json(payload)
    except BadPayload as exc:
        word = payload.strip().decode("utf-8", errors="replace").lower()
        if word in WORDS:
            return float(word)
        raise BadPayload(f"not a number ({exc})") from None
    if isinstance(value, dict | list):
        raise BadPayload(f"{kind(value)}, not a plain number (for JSON objects use topic and fields)")
    return as_number(value, "the message")


def to_seconds(value: Any, what: str) -> float:
    """A payload's time as Unix seconds: a number (its size tells seconds, ms, µs or ns) or ISO 8601 text.

    >>> to_seconds(1700000000, "t"), to_seconds(1700000000500, "t"), to_seconds("2023-11-14T22:13:20Z", "t")
    (1700000000.0, 1700000000.5, 1700000000.0)
    """
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            try:
                return parse_timestamp(value)  # ISO 8601; without an offset it is UTC
            except (ValueError, OverflowError, OSError):
                raise BadPayload(f"{what} {value[:40]!r} is neither a number nor ISO 8601") from None
    number = as_number(value, what)
    if not math.isfinite(number):
        raise BadPayload(f"{what} is {number}, not a time")
    for limit, scale in ((1e11, 1.0), (1e14, 1e-3), (1e17, 1e-6)):  # before 5138 AD in s, ms, µs; else ns
        if abs(number) < limit:
            return number * scale
    return number * 1e-9
