"""Prometheus's text exposition format (version 0.0.4), written by hand: pure, no dependency.

A :class:`Family` is one metric: its name, type, help and samples. :func:`render` writes families as
Prometheus and node_exporter's textfile collector read them: ``# HELP`` and ``# TYPE`` lines, then every
sample of the family together; label values escaped (backslash, double quote, newline), help text too
(backslash, newline); values as Go's ``ParseFloat`` reads them (``NaN``, ``+Inf``, ``-Inf``); no
timestamps (the textfile collector refuses them). A histogram's buckets are cumulative and end with
``le="+Inf"``, followed by ``_sum`` and ``_count``. Names and labels that Prometheus would refuse raise
``ValueError`` here, where they are made, not at the scraper.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]
Labels = Mapping[str, str]

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Buckets:
    """One histogram's value: ``cumulative[i]`` observations were at most ``bounds[i]``; the last entry of
    ``cumulative`` (one more than ``bounds``) is the +Inf bucket, which equals ``count``."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    sum: float

    def __post_init__(self) -> None:
        if len(self.cumulative) != len(self.bounds) + 1:
            raise ValueError(f"{len(self.bounds)} bounds need {len(self.bounds) + 1} cumulative counts (+Inf)")
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"bucket bounds {self.bounds} must increase")
        if any(a > b for a, b in zip(self.cumulative, self.cumulative[1:])):
            raise ValueError(f"bucket counts {self.cumulative} must be cumulative (never decrease)")

    @property
    def count(self) -> int:
        """Every observation: the +Inf bucket."""
        return self.cumulative[-1]


@dataclass
class Family:
    """One metric: a counter's name ends in ``_total``; each sample is its labels and its value."""

    name: str
    kind: Kind
    help: str
    samples: list[tuple[Labels, float | Buckets]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not METRIC_NAME.fullmatch(self.name):
            raise ValueError(f"metric name {self.name!r} is not [a-zA-Z_:][a-zA-Z0-9_:]*")
        if self.kind == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must be named *_total")

    def add(self, labels: Labels, value: float | Buckets) -> None:
        """One more sample (its labels must differ from every other's)."""
        if isinstance(value, Buckets) != (self.kind == "histogram"):
            raise ValueError(f"{self.kind} {self.name} cannot take the value {value!r}")
        for name in labels:
            if not LABEL_NAME.fullmatch(name) or name.startswith("__") or (name == "le" and self.kind == "histogram"):
                raise ValueError(f"{self.name}: label name {name!r} is not allowed")
        self.samples.append((labels, value))


def escape_label(value: str) -> str:
    r"""A label value inside double quotes.

    >>> escape_label('a\\b "c"\nd')
    'a\\\\b \\"c\\"\\nd'
    """
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """A ``# HELP`` docstring: backslash and newline escaped (quotes stay as they are)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus parses it.

    >>> [format_value(v) for v in (3, 0.25, float("nan"), float("inf"), -float("inf"), 1e-05, True)]
    ['3', '0.25', 'NaN', '+Inf', '-Inf', '1e-05', '1']
    """
    if isinstance(value, bool | int):
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    pairs = [*labels.items(), *([extra] if extra else [])]
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{escape_label(str(value))}"' for name, value in pairs) + "}"


def render(families: Iterable[Family]) -> str:
    """The exposition text of ``families`` (each name once; a family without samples is left out)."""
    lines: list[str] = []
    seen: set[str] = set()
    for family in families:
        if family.name in seen:
            raise ValueError(f"metric {family.name} is given twice")
        seen.add(family.name)
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        label_sets: set[tuple[tuple[str, str], ...]] = set()
        for labels, value in family.samples:
            key = tuple(sorted(labels.items()))
            if key in label_sets:
                raise ValueError(f"{family.name} has two samples labelled {dict(key)}")
            label_sets.add(key)
            if isinstance(value, Buckets):
                lines.extend(_histogram(family.name, labels, value))
            else:
                lines.append(f"{family.name}{_labels(labels)} {format_value(value)}")
    return "".join(line + "\n" for line in lines)


def _histogram(name: str, labels: Labels, value: Buckets) -> list[str]:
    bounds = [format_value(b) for b in value.bounds] + ["+Inf"]
    lines = [f"{name}_bucket{_labels(labels, ('le', bound))} {count}" for bound, count in zip(bounds, value.cumulative)]
    lines.append(f"{name}_sum{_labels(labels)} {format_value(value.sum)}")
    lines.append(f"{name}_count{_labels(labels)} {value.count}")
    return lines
