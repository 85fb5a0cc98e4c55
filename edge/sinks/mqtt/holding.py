"""Events the outbox cannot store for now (a full disk): held in memory, in order, bounded, counted, retried.

While anything is held, new events queue behind it, so the broker still gets them in order. Each turn of the
publisher moves what it can into the outbox again. What is held is at risk (lost if the agent stops); beyond
``limit`` the oldest held event is lost. Both counts are in the sink's counters and in one line per streak.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from edge.errors import EdgeError
from edge.sinks.mqtt.outbox import Outbox

log = logging.getLogger(__name__)

HOLD_LIMIT = 10_000


class MemoryHold:
    """A bounded, ordered in-memory queue in front of an :class:`Outbox` that cannot store."""

    def __init__(self, name: str, limit: int = HOLD_LIMIT) -> None:
        self.name = name
        self.limit = limit
        self._held: deque[tuple[str, bytes]] = deque()
        self._lock = threading.Lock()
        self.lost = 0
        self._streak = False

    @property
    def held(self) -> int:
        """Events in memory now: at risk until the outbox takes them."""
        return len(self._held)

    def put(self, outbox: Outbox, topic: str, payload: bytes) -> None:
        """Store in ``outbox``; when it cannot (or held events cannot go first), hold the event in memory."""
        with self._lock:
            if self._held:
                self._drain_locked(outbox)  # the disk may have room again: what waits goes first
            if not self._held:
                try:
                    outbox.put(topic, payload)
                    return
                except EdgeError as exc:
                    self._start_streak(exc)
            if len(self._held) >= self.limit:
                self._held.popleft()
                self.lost += 1
            self._held.append((topic, payload))

    def drain(self, outbox: Outbox) -> int:
        """Move held events into ``outbox`` in order until one cannot be stored; returns how many moved."""
        with self._lock:
            return self._drain_locked(outbox)

    def _drain_locked(self, outbox: Outbox) -> int:
        moved = 0
        while self._held:
            topic, payload = self._held[0]
            try:
                outbox.put(topic, payload)
            except EdgeError:
                return moved
            self._held.popleft()
            moved += 1
        if self._streak:
            self._streak = False
            log.warning(
                "%s: the outbox stores events again; %d held in memory moved into it, %d lost since start",
                self.name,
                moved,
                self.lost,
            )
        return moved

    def abandon(self) -> int:
        """At close: what is still held cannot be kept; count it lost, say so, and return how many."""
        with self._lock:
            count = len(self._held)
            self._held.clear()
        if count:
            self.lost += count
            log.error(
                "%s: %d event(s) held in memory are lost at stop: the outbox could not store them (free space "
                "on the state disk)",
                self.name,
                count,
            )
        return count

    def _start_streak(self, error: Exception) -> None:
        if not self._streak:
            self._streak = True
            log.error(
                "%s: %s; events are held in memory (up to %d, lost if the agent stops) and stored once it "
                "can; %d lost so far",
                self.name,
                error,
                self.limit,
                self.lost,
            )
