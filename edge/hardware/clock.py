"""Time as plugins see it: a monotonic clock for schedules, a wall clock for stamps, and sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """The three clocks a source needs; a fake one lets tests run hours of schedule in no time."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The process's clocks (``time.monotonic``, ``time.time``, ``time.sleep``)."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep(seconds)``."""
        time.sleep(seconds)
