"""The ``lines`` mode: ASCII ``v1,v2,...\\n`` as simple forwarders send, split from bulk reads (pure)."""

from __future__ import annotations

import logging
import math
from collections import Counter

log = logging.getLogger(__name__)

MAX_LINE = 4096


class LineParser:
    """``feed(bytes)`` → one tuple of floats per complete, well-formed line."""

    def __init__(self, channels: int, separator: str = ",") -> None:
        self.channels, self.separator = channels, separator
        self._buffer = bytearray()
        self.counts: Counter[str] = Counter()

    def feed(self, data: bytes) -> list[tuple[float, ...]]:
        """Complete lines in ``data`` (a partial line waits for the rest)."""
        self._buffer += data
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        if len(self._buffer) > MAX_LINE:
            self.counts["bad_lines"] += 1
            self._buffer.clear()
        rows = []
        for line in lines:
            row = self._parse(line.strip())
            if row is not None:
                rows.append(row)
        return rows

    def _parse(self, line: bytes | bytearray) -> tuple[float, ...] | None:
        if not line:
            return None
        try:
            fields = line.decode("ascii").split(self.separator)
            values = tuple(float(f) if f.strip() else math.nan for f in fields)
        except (UnicodeDecodeError, ValueError):
            values = ()
        if len(values) != self.channels:
            self.counts["bad_lines"] += 1
            if self.counts["bad_lines"] <= 3:
                log.warning(
                    "serial line %r dropped: expected %d numbers separated by %r",
                    line[:80],
                    self.channels,
                    self.separator,
                )
            return None
        self.counts["lines"] += 1
        return values
