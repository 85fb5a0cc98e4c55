"""What the simulated firmware measures: a signal per channel plus injected anomalies (pure)."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Anomaly:
    """``kind`` (spike, shift, drift) on ``channel`` from sample ``at``: ``size`` units, over ``length`` samples."""

    kind: str
    at: int
    channel: int
    size: float
    length: int = 1

    @classmethod
    def parse(cls, kind: str, text: str, channels: Sequence[str]) -> Anomaly:
        """``AT:CHANNEL:SIZE[:LENGTH]``, CHANNEL a name or an index: ``500:temp:8.0``, ``500:1:3.0:200``.

        >>> Anomaly.parse("drift", "500:vib:3.0:200", ["temp", "vib"])
        Anomaly(kind='drift', at=500, channel=1, size=3.0, length=200)
        """
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"--{kind} {text!r}: expected AT:CHANNEL:SIZE[:LENGTH]")
        at, name, size = parts[:3]
        if name in channels:
            channel = list(channels).index(name)
        elif name.isdigit() and int(name) < len(channels):
            channel = int(name)
        else:
            raise ValueError(
                f"--{kind} {text!r}: no channel {name!r}; use one of {', '.join(channels)} "
                f"or an index 0-{len(channels) - 1}"
            )
        try:
            length = int(parts[3]) if len(parts) == 4 else (1 if kind == "spike" else 10**12)
            return cls(kind, int(at), channel, float(size), length)
        except ValueError:
            raise ValueError(f"--{kind} {text!r}: AT and LENGTH are whole samples, SIZE a number") from None

    def offset(self, index: int) -> float:
        """How far this anomaly pushes its channel at sample ``index``."""
        step = index - self.at
        if step < 0 or step >= self.length:
            return 0.0
        if self.kind == "drift":
            return self.size * (step + 1) / self.length
        return self.size


def sine_signal(channels: int, seed: int, noise: float, cycle: int = 600) -> Iterator[list[float]]:
    """Per channel: a sine of its own phase and level, plus Gaussian noise; endless."""
    rng = random.Random(seed)
    index = 0
    while True:
        phase = 2 * math.pi * index / cycle
        yield [10.0 * (c + 1) + 5.0 * math.sin(phase + c) + rng.gauss(0.0, noise) for c in range(channels)]
        index += 1


def csv_signal(path: Path, columns: Sequence[str], loop: bool = True) -> Iterator[list[float]]:
    """The named columns of a CSV, row by row (again from the top when ``loop``)."""
    while True:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path} has no column {missing}; its columns are {reader.fieldnames}")
            for row in reader:
                yield [float(row[c]) if row[c].strip() else math.nan for c in columns]
        if not loop:
            return


def with_anomalies(signal: Iterator[list[float]], anomalies: Sequence[Anomaly]) -> Iterator[list[float]]:
    """The signal with every anomaly added."""
    for index, values in enumerate(signal):
        for anomaly in anomalies:
            values[anomaly.channel] += anomaly.offset(index)
        yield values
