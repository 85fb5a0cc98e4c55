"""The sink interface: alert, clear and sensor-fault events go out through it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, ClassVar

from edge.core.events import Event


class Sink(ABC):
    """A context manager that delivers events; ``close`` flushes and is idempotent."""

    name: str = "sink"
    #: A sink whose ``send`` only stores the event durably and returns at once (a disk outbox) is
    #: called directly from the scoring thread, so no event waits in memory in front of it.
    store_and_forward: bool = False
    #: keys of ``counters()`` that are levels (a size now), not counts: a reload does not add them up
    LEVELS: ClassVar[frozenset[str]] = frozenset()

    def open(self) -> None:
        """Acquire what the sink needs (a line, a connection); raise EdgeError naming what is wrong."""

    @abstractmethod
    def send(self, event: Event) -> None:
        """Deliver one event; raise on failure (the guard around the sink counts and isolates it)."""

    def status(self, summary: dict[str, Any]) -> None:
        """The agent's periodic state, for sinks that publish health; ignored by default."""

    def flush(self) -> None:
        """Deliver anything buffered."""

    def close(self) -> None:
        """Flush and release; safe to call twice."""

    def counters(self) -> dict[str, int]:
        """The sink's own counters beyond the wrapper's sent/failed/dropped/retried (none by default)."""
        return {}

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check`` on an open sink: show that it works, or raise EdgeError."""
        return "opened"

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        return self.name

    def __enter__(self) -> Sink:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
