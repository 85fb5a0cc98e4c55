"""``replay``: readings from a CSV file, as fast as they can be scored or at a set rate.

Every row becomes one reading in file order. A value that is missing or not a number
becomes NaN (a sensor fault downstream, never an anomaly); a row whose timestamp cannot be
read is dropped, counted and logged with its line number.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge.core.events import Reading, SourceFault
from edge.core.timestamps import MISSING, guess_timestamp_column, parse_timestamp
from edge.csv_dialect import delimiter_named, detect_delimiter
from edge.errors import ConfigError, EdgeError
from edge.plugins import PluginContext, read_sample
from edge.sources.base import Source, SourceConfig

log = logging.getLogger(__name__)

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it


@dataclass(frozen=True, kw_only=True)
class Config(SourceConfig):
    """Keys of a ``replay`` source."""

    path: Path
    timestamp_column: str | None = None
    columns: list[str] | None = None
    delimiter: str = "auto"
    rate: float = 0.0

    def __post_init__(self) -> None:
        delimiter_named(self.delimiter)
        if self.rate < 0 or not math.isfinite(self.rate):
            raise ValueError(f"rate {self.rate} must be 0 (as fast as possible) or a positive number per second")


Record = tuple[list[str], Reading | None]


class ReplaySource(Source):
    """Streams a CSV's rows as readings of the model's channels."""

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config = config
        self.path = context.resolve(config.path)
        self.sensor = config.sensor
        self.channels = context.channels
        self.header: list[str] = []
        self.delimiter = ","
        self._handle: IO[str] | None = None
        self._records: Iterator[Record] | None = None
        self._finished = False
        self._next_due = 0.0
        self._counts = {"rows": 0, "readings": 0, "dropped_rows": 0, "bad_values": 0}

    def open(self) -> None:
        """Open the file and match its columns to the model's channels."""
        if self._records is not None:
            return
        path = self.path
        try:
            self._handle = path.open(newline="")
        except OSError as exc:
            raise ConfigError(
                f"replay source {self.sensor!r}: cannot open {path}: {exc.strerror or exc}; check the source's path"
            ) from exc
        first = self._handle.readline()
        delimiter = delimiter_named(self.config.delimiter) or detect_delimiter(first)
        reader = csv.reader(itertools.chain([first], self._handle), delimiter=delimiter)
        self.header = [h.strip() for h in next(reader, [])]
        self.delimiter = delimiter
        stamp, columns = self._match_columns()
        self._records = self._parse(reader, stamp, columns)

    def _match_columns(self) -> tuple[int, list[int]]:
        path, names = self.path, self.header
        wanted = self.config.columns or list(self.channels)
        if len(wanted) != len(self.channels):
            raise ConfigError(
                f"replay source {self.sensor!r}: columns {wanted} are {len(wanted)} but the model "
                f"has {len(self.channels)} channels {list(self.channels)}"
            )
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ConfigError(
                f"replay source {self.sensor!r}: {path} has no column {', '.join(map(repr, missing))} for the "
                f"model's channels {list(self.channels)}; its columns are {names}; set columns = [...] to the "
                "file's names for those channels, in order"
            )
        stamp_name = self.config.timestamp_column
        if stamp_name is None:
            stamp_name = guess_timestamp_column(names)
        if stamp_name not in names:
            raise ConfigError(
                f"replay source {self.sensor!r}: {path} has no timestamp column {stamp_name!r}; its columns are {names}"
            )
        return names.index(stamp_name), [names.index(w) for w in wanted]

    def _parse(self, reader: Iterator[list[str]], stamp: int, columns: list[int]) -> Iterator[Record]:
        path, counts = self.path, self._counts
        for row, fields in enumerate(reader):
            line = row + 2
            counts["rows"] += 1
            try:
                timestamp = parse_timestamp(fields[stamp])
            except (ValueError, IndexError):
                counts["dropped_rows"] += 1
                log.warning(
                    "replay %s line %d: dropped, timestamp %r cannot be read",
                    path,
                    line,
                    fields[stamp] if stamp < len(fields) else "",
                )
                yield fields, None
                continue
            try:  # every field a number (float() takes the surrounding spaces and 'nan' itself)
                numbers = tuple([float(fields[column]) for column in columns])
            except (ValueError, IndexError):
                numbers = self._values(fields, columns, line)
            counts["readings"] += 1
            yield fields, Reading(self.sensor, timestamp, numbers, row=row)

    def _values(self, fields: list[str], columns: list[int], line: int) -> tuple[float, ...]:
        """The row's values, one field at a time: a missing or unreadable one is NaN (logged when unreadable)."""
        values = []
        for column in columns:
            text = fields[column].strip() if column < len(fields) else ""
            try:
                value = math.nan if text in MISSING else float(text)
            except ValueError:
                value = math.nan
                self._counts["bad_values"] += 1
                log.warning(
                    "replay %s line %d: %s=%r is not a number; read as missing",
                    self.path,
                    line,
                    self.header[column],
                    text,
                )
            values.append(value)
        return tuple(values)

    def records(self) -> Iterator[Record]:
        """Every row as (its raw fields, its reading or None when dropped), in file order."""
        self.open()
        if self._records is None:
            raise EdgeError(f"replay source {self.path} has no rows open")
        return self._records

    def read(self, timeout: float) -> list[Reading | SourceFault]:
        """The next readings: a batch when unpaced, else one when it is due."""
        records = self.records()
        if self.config.rate <= 0:
            batch: list[Reading | SourceFault] = []
            for _, reading in records:
                if reading is not None:
                    batch.append(reading)
                if len(batch) >= 256:
                    return batch
            self._finished = True
            return batch
        if not self._next_due:
            self._next_due = time.monotonic()
        wait = self._next_due - time.monotonic()
        if wait > timeout:
            time.sleep(timeout)
            return []
        time.sleep(max(0.0, wait))
        self._next_due = max(self._next_due, time.monotonic() - 1.0) + 1.0 / self.config.rate
        for _, reading in records:
            if reading is not None:
                return [reading]
        self._finished = True
        return []

    @property
    def finished(self) -> bool:
        """The whole file has been read."""
        return self._finished

    def counters(self) -> dict[str, int]:
        """Rows read, readings produced, rows dropped, values that were not numbers."""
        return dict(self._counts)

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        rate = "as fast as possible" if self.config.rate <= 0 else f"{self.config.rate:g}/s"
        return f"replay {self.path} for {self.sensor} ({', '.join(self.channels)}; {rate})"

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


PLUGIN = ReplaySource
