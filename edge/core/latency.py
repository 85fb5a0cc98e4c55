"""How long the LSTM's onnxruntime calls take: a small fixed-bucket histogram, cheap enough for every call.

One :class:`LatencyHistogram` per model session (its sensors share it). The scoring thread is the only
writer; :meth:`LatencyHistogram.observe` is a bisect and three additions, well under a microsecond. A reader
on another thread may see a call counted in its bucket but not yet in ``sum_ns`` or ``rows`` (a torn read of
one call, never a lost one): the agent renders its metrics on the scoring thread, so it never does.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

#: bucket upper bounds in nanoseconds: 10 µs to 100 ms in 1-2-5 steps (above: the +Inf bucket)
BOUNDS_NS: tuple[int, ...] = tuple(m * 10**e for e in range(4, 9) for m in (1, 2, 5))[:-2]


@dataclass(frozen=True)
class LatencySnapshot:
    """A histogram as read at one moment: ``cumulative[i]`` calls took at most ``bounds_s[i]`` seconds."""

    bounds_s: tuple[float, ...]
    cumulative: tuple[int, ...]  # one per bound, then the +Inf bucket (= count)
    sum_s: float
    count: int
    rows: int  # readings stepped in those calls (a block of T readings of B sensors counts T x B)


class LatencyHistogram:
    """Counts of calls per duration bucket, their total time, and the readings they stepped."""

    __slots__ = ("_bounds", "counts", "rows", "sum_ns")

    def __init__(self, bounds_ns: tuple[int, ...] = BOUNDS_NS) -> None:
        if list(bounds_ns) != sorted(set(bounds_ns)) or not bounds_ns or bounds_ns[0] <= 0:
            raise ValueError(f"bucket bounds {bounds_ns} must be positive and increasing")
        self._bounds = bounds_ns
        self.counts = [0] * (len(bounds_ns) + 1)  # per bucket, not cumulative; the last is +Inf
        self.sum_ns = 0
        self.rows = 0

    def observe(self, elapsed_ns: int, rows: int = 1) -> None:
        """Count one call that took ``elapsed_ns`` and stepped ``rows`` readings."""
        self.counts[bisect_left(self._bounds, elapsed_ns)] += 1
        self.sum_ns += elapsed_ns
        self.rows += rows

    def snapshot(self) -> LatencySnapshot:
        """The cumulative buckets Prometheus wants, in seconds.

        >>> h = LatencyHistogram((10_000, 100_000))
        >>> h.observe(10_000); h.observe(50_000, rows=8); h.observe(3_000_000)
        >>> s = h.snapshot()
        >>> s.bounds_s, s.cumulative, s.count, s.rows, round(s.sum_s, 6)
        ((1e-05, 0.0001), (1, 2, 3), 3, 10, 0.00306)
        """
        cumulative, total = [], 0
        for count in list(self.counts):
            total += count
            cumulative.append(total)
        return LatencySnapshot(
            tuple(b / 1e9 for b in self._bounds), tuple(cumulative), self.sum_ns / 1e9, total, self.rows
        )
