"""The sink interface: alert, clear and sensor-fault events go out through it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from edge.core.events import Event

if TYPE_CHECKING:
    from edge.core.detector import Detector
    from edge.core.outcome import Scored

#: what :meth:`Sink.watch` returns: told a sensor's outcomes on the scoring thread (``edge.pipeline.Observer``)
SinkObserver = Callable[[str, "Sequence[Scored]"], None]


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

    def watch(self, detectors: Mapping[str, Detector]) -> SinkObserver | None:
        """For sinks that publish scores (the mqtt sink's telemetry): called once the pipeline is open, with
        the detectors of the sensors this sink serves; return a callable the pipeline then tells every such
        sensor's outcomes, on the scoring thread after their events (it must only note them, never wait).
        None (the default): the sink sees events only."""
        return None

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
