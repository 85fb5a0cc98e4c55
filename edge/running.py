"""The running wrappers that own the cross-cutting work around every plugin (as Telegraf's running_output).

:class:`RunningSource` reads one source on its own thread into the service's queue (failures reported as
source faults and retried with back-off; readings that come fast gathered into one block).

:class:`RunningSink` is the one wrapper around every sink: a queue and a worker thread, retries with back-off,
a rate limit, a per-sensor filter, counters, and failure isolation.

``send`` only appends to a bounded queue and returns, so a stuck GPIO line or an unreachable broker
never delays scoring or the other sinks. The worker delivers events in order; a failed delivery is
retried with exponential back-off, then counted as ``failed`` and logged. When the queue is full the
oldest event is dropped and counted. ``rate_per_s`` spaces deliveries out (events wait, in order).
Each sink table may set these keys besides its own: ``buffer``, ``retries``, ``retry_initial_s``,
``retry_max_s``, ``rate_per_s``.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.backoff import Backoff
from edge.core.counters import carried
from edge.core.events import Event, SourceFault
from edge.sinks.base import Sink, SinkObserver
from edge.sinks.delivery import DeliverySettings
from edge.sources.base import Source

if TYPE_CHECKING:
    from edge.core.detector import Detector

log = logging.getLogger(__name__)


class RunningSink:
    """Delivers events to ``sink`` from its own thread; ``counts`` has sent, failed, dropped, retried."""

    def __init__(self, sink: Sink, settings: DeliverySettings | None = None) -> None:
        self.sink = sink
        self.settings = settings or DeliverySettings()
        self.counts = {"sent": 0, "failed": 0, "dropped": 0, "retried": 0}
        self._before: dict[str, int] = {}  # what the sinks this one replaced at a reload counted
        self._sink_before: dict[str, int] = {}
        self._queue: deque[Event] = deque()
        self._status: dict[str, Any] | None = None
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_slot = 0.0
        self._failing = False

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"sink-{self.sink.name}", daemon=True)
            self._thread.start()

    def send(self, event: Event) -> None:
        """Queue an event; never blocks. A full queue drops its oldest event.

        A store-and-forward sink is called directly instead: its own outbox is the queue.
        """
        if self.settings.sensors is not None and event.sensor not in self.settings.sensors:
            return  # the sink watches other sensors
        if self.sink.store_and_forward and not self._closing:
            ok = self._attempt(f"store {event.kind} event", self.sink.send, event)
            self.counts["sent" if ok else "failed"] += 1
            return
        with self._cond:
            if self._closing:
                self.counts["dropped"] += 1
                return
            if len(self._queue) >= self.settings.buffer:
                self._queue.popleft()
                self.counts["dropped"] += 1
                if self.counts["dropped"] == 1 or self.counts["dropped"] % 1000 == 0:
                    log.warning(
                        "sink %s is behind: its queue of %d is full, oldest events dropped (%d so far)",
                        self.sink.describe(),
                        self.settings.buffer,
                        self.counts["dropped"],
                    )
            self._queue.append(event)
            self._start()
            self._cond.notify()

    def watch(self, detectors: Mapping[str, Detector]) -> SinkObserver | None:
        """The sink's observer of scores (:meth:`Sink.watch`), for the sensors its ``sensors`` key lets through.

        It is called on the scoring thread directly, not through the queue: a sink that watches promises to
        only note the outcomes there (the mqtt sink keeps a few numbers per sensor and publishes from its own
        thread)."""
        wanted = self.settings.sensors
        return self.sink.watch({s: d for s, d in detectors.items() if wanted is None or s in wanted})

    def totals(self) -> dict[str, int]:
        """sent, failed, dropped and retried, then the sink's own counters named ``<sink>.<key>``
        (``mqtt.pending``), since the agent started: across reloads that kept this sink."""
        own = carried(self._sink_before, self.sink.counters(), self.sink.LEVELS)
        return {**carried(self._before, self.counts), **{f"{self.sink.name}.{k}": v for k, v in own.items()}}

    def carry_over(self, old: RunningSink) -> None:
        """Go on counting from the totals of ``old``, the sink this one replaces at a reload."""
        self._before = carried(old._before, old.counts)
        self._sink_before = carried(old._sink_before, old.sink.counters(), old.sink.LEVELS)

    def status(self, summary: dict[str, Any]) -> None:
        """Pass the agent's state on (only the latest is kept while the sink is busy)."""
        with self._cond:
            self._status = summary
            self._start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and self._status is None and not self._closing:
                    self._cond.wait()
                if self._queue:
                    item: Event | dict[str, Any] = self._queue.popleft()
                elif self._status is not None:
                    item, self._status = self._status, None
                else:
                    return
                self._busy = True
            try:
                if isinstance(item, Event):
                    self._deliver(item)
                else:
                    self._attempt("publish status", self.sink.status, item)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _pace(self) -> None:
        rate = self.settings.rate_per_s
        if rate:
            wait = self._next_slot - time.monotonic()
            if wait > 0:
                self._closed.wait(wait)
            self._next_slot = max(self._next_slot, time.monotonic()) + 1.0 / rate

    def _deliver(self, event: Event) -> None:
        self._pace()
        backoff = Backoff(self.settings.retry_initial_s, self.settings.retry_max_s)
        for attempt in range(self.settings.retries + 1):
            if attempt:
                self.counts["retried"] += 1
                if self._closed.wait(backoff.next()):
                    break
            if self._attempt(f"send {event.kind} event", self.sink.send, event):
                self.counts["sent"] += 1
                return
        self.counts["failed"] += 1

    def _attempt(self, what: str, method: Any, *args: Any) -> bool:
        try:
            method(*args)
        except Exception as exc:  # a sink's failure must never stop scoring or the other sinks
            if not self._failing:
                log.error("sink %s failed to %s: %s (retrying; the other sinks go on)", self.sink.describe(), what, exc)
            self._failing = True
            return False
        if self._failing:
            log.info("sink %s works again", self.sink.describe())
        self._failing = False
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was delivered or given up on; False if ``timeout`` passed first."""
        with self._cond:
            done = self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)
        if done:
            self._attempt("flush", self.sink.flush)
        return done

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (for at most ``timeout``), stop the worker, close the sink."""
        if not self.flush(timeout):
            log.warning("sink %s: %d event(s) not delivered at stop", self.sink.describe(), len(self._queue))
        with self._cond:
            self._closing = True
            self.counts["dropped"] += len(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._attempt("close", self.sink.close)


POLL_S = 0.25  # how long a source read waits at most, so a stop is seen promptly


@dataclass(frozen=True)
class Finished:
    """A source has no more readings."""

    source: Source


class RunningSource(threading.Thread):
    """Reads one source into the queue until stopped or the source is finished."""

    def __init__(self, source: Source, sink: queue.Queue[Any], stop: threading.Event, gather_s: float = 0.0) -> None:
        super().__init__(name=f"source-{source.sensor}", daemon=True)
        self.source, self.queue, self.stop = source, sink, stop
        self.gather_s = gather_s  # after a read that brought something, wait this long and take what is buffered
        self._last_read = -math.inf
        self._gathered = False  # the last wait found readings buffered: they come faster than it
        self.errors = 0

    def run(self) -> None:
        backoff = Backoff(0.5, 30.0)
        while not self.stop.is_set():
            try:
                items = self.source.read(POLL_S)
                backoff.reset()
            except Exception as exc:  # a source that raises is reported as a fault and retried
                self.errors += 1
                delay = backoff.next()
                log.error("source %s failed: %s; retrying in %.1f s", self.source.describe(), exc, delay)
                fault = SourceFault(self.source.sensor, time.time(), f"source failed: {exc}")
                self.queue.put([(fault, time.monotonic())])
                self.stop.wait(delay)
                continue
            received = time.monotonic()
            batch = [(item, received) for item in items]
            # gather only when readings come faster than the wait: a slow sensor's reading goes at once
            frequent = len(items) > 1 or self._gathered or received - self._last_read < self.gather_s
            if items:
                self._last_read = received
            if items and frequent and self.gather_s > 0 and not self.stop.wait(self.gather_s):
                try:
                    more = self.source.read_buffered()
                except Exception:  # noqa: BLE001 - the next read reports it as a source failure
                    more = []
                self._gathered = bool(more)
                received = time.monotonic()
                batch.extend((item, received) for item in more)
            if batch:
                self.queue.put(batch)  # one entry, so the main loop scores them as one block
            if self.source.finished:
                self.queue.put(Finished(self.source))
                return
