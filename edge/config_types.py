"""Typed config sections from TOML tables: unknown keys and wrong types are errors that say what fits.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Example:
...     path: str
...     rate: float = 1.0
>>> build_section(Example, {"path": "a.csv", "rate": 2}, "[[sources]] 1")
Example(path='a.csv', rate=2.0)
>>> build_section(Example, {"path": "a.csv", "rat": 2}, "[[sources]] 1")
Traceback (most recent call last):
...
edge.errors.ConfigError: [[sources]] 1: unknown key 'rat'; allowed keys: path, rate
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from edge.errors import ConfigError

T = TypeVar("T")
SECRET = {"secret": True}  # ``field(metadata=SECRET)``: its value is never shown in an error


def _describe(kind: Any) -> str:
    if get_origin(kind) is typing.Literal:
        return " or ".join(repr(a) for a in get_args(kind))
    if get_origin(kind) is list:
        return f"a list of {_describe(get_args(kind)[0])}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", Path: "a path"}.get(
        kind, getattr(kind, "__name__", str(kind))
    )


def _required(kind: Any) -> Any:
    """``X`` of ``X | None``; any other type as it is."""
    options = [a for a in get_args(kind) if a is not type(None)]
    return options[0] if get_origin(kind) in (typing.Union, types.UnionType) and len(options) == 1 else kind


def _article(name: str) -> str:
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, where)
    if origin is typing.Literal:
        if value in get_args(kind):
            return value
    elif origin is list:
        if isinstance(value, list):
            return [_convert(get_args(kind)[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    elif kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value)
            raise ConfigError(f"{where} is {value!r}; it must be a finite number (not nan or inf)")
    elif kind is str or kind is Path:
        if isinstance(value, str):
            return kind(value)
    elif kind is dict or origin is dict:
        if isinstance(value, dict):
            return value
    raise ConfigError(f"{where} is {value!r}; it must be {_describe(kind)}")


class Problems:
    """Collects every problem of a config instead of stopping at the first one."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem."""
        self.messages.append(message)

    def attempt(self, build: Callable[[], T]) -> T | None:
        """``build()``, or None with its ``ConfigError`` recorded."""
        try:
            return build()
        except ConfigError as exc:
            self.messages.extend(exc.problems)
            return None

    def raise_any(self) -> None:
        """One ``ConfigError`` naming every problem (one line when there is one)."""
        if len(self.messages) == 1:
            raise ConfigError(self.messages[0])
        if self.messages:
            raise ConfigError(
                f"{len(self.messages)} problems:" + "".join(f"\n  - {m}" for m in self.messages), list(self.messages)
            )


def build_section(cls: type[T], table: Any, where: str, ignore: tuple[str, ...] = ()) -> T:
    """Build dataclass ``cls`` from a TOML table, checking keys and types; ``where`` names the table."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of settings, not {table!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    allowed = ", ".join([*fields, *(key for key in ignore if key != "type")])
    values: dict[str, Any] = {}
    problems = Problems()
    for key, value in table.items():
        if key in ignore:
            continue
        if key not in fields:
            problems.add(f"{where}: unknown key {key!r}; allowed keys: {allowed}")
            continue
        try:
            values[key] = _convert(hints[key], value, f"{where}: {key}")
        except ConfigError as exc:
            problems.add(
                str(exc)
                if not fields[key].metadata.get("secret")
                else f"{where}: {key} is {_article(type(value).__name__)} (not shown: it is a secret); "
                f"it must be {_describe(_required(hints[key]))}; quote it in TOML"
            )
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and name not in table
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        problems.add(f"{where}: missing {', '.join(repr(m) for m in missing)}; allowed keys: {allowed}")
    problems.raise_any()
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
