"""A clock that moves only when someone sleeps or advances it: hours of schedule run in no time."""

from __future__ import annotations

import threading


class FakeClock:
    """Monotonic time from ``start``; wall time is ``epoch`` plus it; ``sleep`` advances both and returns at once.

    >>> clock = FakeClock(epoch=1_700_000_000.0)
    >>> clock.sleep(2.5); clock.monotonic(), clock.time(), clock.sleeps
    (2.5, 1700000002.5, [2.5])
    """

    def __init__(self, start: float = 0.0, epoch: float = 1_700_000_000.0) -> None:
        self.now, self.epoch = start, epoch
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Seconds since the start."""
        return self.now

    def time(self) -> float:
        """The wall clock: ``epoch`` + seconds since the start."""
        return self.epoch + self.now

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` (a negative one is an error, as for ``time.sleep``)."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        """Time passes without anyone sleeping (another thread's work, a stall)."""
        with self._lock:
            self.now += seconds
