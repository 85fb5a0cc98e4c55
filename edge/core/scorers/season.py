"""A season of readings: one entry per sample period, the oldest dropped as a new one comes, in flat doubles.

A deque of lists would hold a Python list and its float objects per entry, about 150 bytes for three channels;
a week at one reading a minute is 10,080 entries, so 1.5 MiB a sensor. Here an entry is ``channels`` doubles
in one ``array`` (24 bytes for three), and an empty slot (no reading then: a break) is a row of NaN, which a
reading never is (a scorer takes only finite values). A checkpoint keeps the entries the same way, oldest
first, as base64 of little-endian doubles (:meth:`SeasonBuffer.encode`): exact, about half the size of the
same numbers in JSON, and no Python object per entry while it is written.
"""

from __future__ import annotations

import binascii
import math
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence

_EMPTY = math.nan


class SeasonBuffer:
    """The last ``maxlen`` entries, each ``channels`` floats or ``None`` (an empty slot); ``[0]`` the oldest."""

    def __init__(self, maxlen: int, channels: int) -> None:
        self.maxlen, self.channels = maxlen, channels
        self._data = array("d", bytes(8 * maxlen * channels))
        self._start = 0  # the slot of entry [0]
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> list[float] | None:
        if not 0 <= index < self._count:
            raise IndexError(f"season entry {index} of {self._count}")
        at = (self._start + index) % self.maxlen * self.channels
        row = self._data[at : at + self.channels].tolist()
        return None if row[0] != row[0] else row  # NaN: an empty slot

    def append(self, entry: Sequence[float] | None) -> None:
        """Add the newest entry; when full, the oldest goes."""
        if self._count == self.maxlen:
            slot = self._start
            self._start = (self._start + 1) % self.maxlen
        else:
            slot = (self._start + self._count) % self.maxlen
            self._count += 1
        at = slot * self.channels
        self._data[at : at + self.channels] = array("d", [_EMPTY] * self.channels if entry is None else entry)

    def repeat_oldest(self) -> None:
        """Add the oldest entry again as the newest (the season repeats itself); the buffer must be full."""
        self._start = (self._start + 1) % self.maxlen  # the oldest slot becomes the newest, its value kept

    def extend(self, entries: Iterable[Sequence[float] | None]) -> None:
        for entry in entries:
            self.append(entry)

    def __iter__(self) -> Iterator[list[float] | None]:
        return (self[i] for i in range(self._count))

    def ordered(self) -> array:
        """The entries, oldest first, as one run of doubles (NaN rows: empty slots)."""
        first, width = self._start * self.channels, self._count * self.channels
        return (self._data[first:] + self._data[:first])[:width]

    def load_ordered(self, values: bytes) -> None:
        """Replace the entries with ``values``, :meth:`ordered`'s doubles as native bytes (at most ``maxlen``)."""
        taken = array("d", values)
        count = len(taken) // self.channels
        if len(taken) % self.channels or count > self.maxlen:
            raise ValueError(f"{len(taken)} doubles are not up to {self.maxlen} entries of {self.channels}")
        self._data = taken + array("d", bytes(8 * (self.maxlen - count) * self.channels))
        self._start, self._count = 0, count

    def encode(self) -> str:
        """The entries, oldest first, as base64 of little-endian doubles (NaN rows: empty slots)."""
        ordered = self.ordered()
        if sys.byteorder == "big":
            ordered.byteswap()
        return binascii.b2a_base64(ordered.tobytes(), newline=False).decode("ascii")

    def decode(self, text: str) -> list[list[float] | None]:
        """What :meth:`encode` wrote, as entries; raises ``ValueError`` on anything it could not have written."""
        try:
            raw = binascii.a2b_base64(text.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError(f"saved season is not base64 ({exc})") from exc
        if len(raw) % (8 * self.channels):
            raise ValueError(f"saved season is not whole rows of {self.channels} doubles")
        values = array("d", raw)
        if sys.byteorder == "big":
            values.byteswap()
        entries: list[list[float] | None] = []
        for at in range(0, len(values), self.channels):
            row = values[at : at + self.channels].tolist()
            if all(v != v for v in row):
                entries.append(None)
            elif all(math.isfinite(v) for v in row):
                entries.append(row)
            else:
                raise ValueError("saved season has a row that is neither readings nor an empty slot")
        return entries
