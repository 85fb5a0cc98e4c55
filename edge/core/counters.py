"""Counters that outlive the plugin instance that counted them (a reload builds new sources and sinks).

A plugin's ``counters()`` mixes counts (frames, bytes, events sent: they add up) with levels (an outbox's
size now: it does not); a plugin names its levels in ``LEVELS``. :func:`carried` adds what an earlier
instance counted to what this one has counted, and takes levels as they are now.
"""

from __future__ import annotations

from collections.abc import Mapping


def carried(before: Mapping[str, int], now: Mapping[str, int], levels: frozenset[str] = frozenset()) -> dict[str, int]:
    """``now`` plus ``before`` for every count (keys only in ``before`` stay); levels from ``now`` alone.

    >>> carried({"frames": 10, "crc": 1, "size": 4}, {"frames": 3, "size": 0}, frozenset({"size"}))
    {'frames': 13, 'size': 0, 'crc': 1}
    """
    total = dict(now)
    for key, value in before.items():
        if key not in levels:
            total[key] = total.get(key, 0) + value
    return total
