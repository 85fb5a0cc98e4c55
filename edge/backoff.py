"""Exponential back-off, the one helper every retry loop uses (sources, sinks, the service's start).

>>> wait = Backoff(0.5, 2.0)
>>> [wait.next() for _ in range(4)], wait.current
([0.5, 1.0, 2.0, 2.0], 2.0)
>>> wait.reset(); wait.next()
0.5
"""

from __future__ import annotations


class Backoff:
    """Delays that double from ``initial`` up to ``maximum``; ``reset`` after a success."""

    def __init__(self, initial: float, maximum: float, factor: float = 2.0) -> None:
        if not 0 <= initial <= maximum or factor < 1:
            raise ValueError(f"back-off needs 0 <= initial ({initial}) <= maximum ({maximum}) and factor >= 1")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.current = initial

    def next(self) -> float:
        """The delay to wait now; the following one is longer (up to ``maximum``)."""
        delay = self.current
        self.current = min(self.current * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        """Start again from ``initial`` (the thing worked)."""
        self.current = self.initial
