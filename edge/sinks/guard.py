"""Failure isolation around any sink: a broken sink is counted and logged, never fatal.

This is the one place that handles sink failures (as Telegraf's RunningOutput does); the
retry and rate-limit policy of networked sinks will live here too.
"""

from __future__ import annotations

import logging
from typing import Any

from edge.events import Event
from edge.sinks.base import Sink

log = logging.getLogger(__name__)


class GuardedSink:
    """Wraps a sink: counts sent and failed events and logs the first failure of each streak."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.counts = {"sent": 0, "failed": 0}
        self._failing = False

    def _call(self, what: str, method: Any, *args: Any) -> bool:
        try:
            method(*args)
        except Exception as exc:  # a sink's failure must never stop scoring or the other sinks
            if not self._failing:
                log.error("sink %s failed to %s: %s (counted; the other sinks go on)", self.sink.describe(), what, exc)
            self._failing = True
            return False
        if self._failing:
            log.info("sink %s works again", self.sink.describe())
        self._failing = False
        return True

    def send(self, event: Event) -> None:
        """Deliver, counting the outcome."""
        ok = self._call(f"send {event.kind} event", self.sink.send, event)
        self.counts["sent" if ok else "failed"] += 1

    def status(self, summary: dict[str, Any]) -> None:
        """Pass the agent's state on."""
        self._call("publish status", self.sink.status, summary)

    def flush(self) -> None:
        """Flush the sink."""
        self._call("flush", self.sink.flush)

    def close(self) -> None:
        """Close the sink."""
        self._call("close", self.sink.close)
