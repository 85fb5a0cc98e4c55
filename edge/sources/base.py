"""The source interface: timestamped multi-channel readings of one sensor, and its own faults."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

from edge.core.events import Reading, SourceFault


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """Keys every source has: the sensor's name and, optionally, the channels it must deliver and their units."""

    sensor: str
    channels: list[str] | None = None
    #: each channel's unit as alert lines show it ("degC", "mm/s"; "" for none); overrides what the device says
    units: list[str] | None = None
    #: the ``[[models]]`` name this sensor is scored with (needed when the agent has more than one model)
    model: str | None = None


class Source(ABC):
    """A context manager; ``read`` blocks at most ``timeout`` seconds; ``close`` is idempotent.

    A source turns its own trouble (a port gone, a bus error) into :class:`SourceFault`
    items, and keeps counters of what it read and dropped.
    """

    sensor: str
    #: keys of ``counters()`` that are levels (a size now), not counts: a reload does not add them up
    LEVELS: ClassVar[frozenset[str]] = frozenset()

    def open(self) -> None:
        """Acquire the device or file; raise :class:`edge.errors.EdgeError` naming what is wrong."""

    @abstractmethod
    def read(self, timeout: float) -> list[Reading | SourceFault]:
        """Whatever arrived within ``timeout`` seconds (possibly nothing)."""

    def read_buffered(self) -> list[Reading | SourceFault]:
        """What is already buffered, without waiting (a serial port's received bytes); default: nothing."""
        return []

    @property
    def finished(self) -> bool:
        """No more readings will ever come (the end of a replayed file)."""
        return False

    def close(self) -> None:
        """Release the device; safe to call twice."""

    def units(self) -> tuple[str, ...] | None:
        """Each channel's unit as the device or the source's register/topic map states it; None when unknown.

        May change while running (a firmware's HELLO states them); the config's ``units`` key overrides it.
        """
        return None

    def counters(self) -> dict[str, int]:
        """What was read, dropped and retried, for status and logs (counts, but for the keys in ``LEVELS``)."""
        return {}

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check`` on an open source: show that data comes and fits, or raise EdgeError."""
        return "opened"

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        return f"{type(self).__name__} for {self.sensor}"

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
