"""Turn a byte stream into frames, accounting for every byte and frame that is lost.

:class:`FrameDecoder` splits on 0x00, decodes, and counts what fails. When a corrupted
delimiter merges two frames, the tail of the merged bytes is tried as a frame of its own,
so a corrupt byte costs at most the frame it is in. :class:`SequenceCounter` turns the
16-bit sequence numbers of the frames that arrive into an exact count of frames lost,
using the device's timestamps to count whole wraps across long outages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from edge.protocol.frames import HEADER, MAX_WIRE, Frame, FrameError, decode_frame

SEQUENCE_MODULUS = 1 << 16
COUNTED = ("frames", "crc", "cobs", "short", "oversize", "version", "unknown_type", "malformed", "resyncs", "recovered")
_MIN_WIRE = HEADER.size + 2 + 1  # header, CRC and at least one COBS code byte


class FrameDecoder:
    """``feed(bytes)`` → the frames completed by those bytes; ``counts`` says what was dropped."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False
        self.counts: Counter[str] = Counter(dict.fromkeys(COUNTED, 0))

    def reset(self) -> None:
        """Drop a partial frame (the port was reopened); it counts as one resync."""
        if self._buffer:
            self.counts["resyncs"] += 1
        self._buffer.clear()
        self._discarding = False

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame they complete, in order."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        start = 0
        while True:
            end = buffer.find(0, start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            elif end > start:
                self._take(bytes(buffer[start:end]), frames)
            start = end + 1
        del buffer[:start]
        if len(buffer) > MAX_WIRE:
            self.counts["oversize"] += 1
            self.counts["resyncs"] += 1
            self._discarding = True
            buffer.clear()
        return frames

    def _take(self, chunk: bytes, frames: list[Frame]) -> None:
        try:
            frames.append(decode_frame(chunk))
            self.counts["frames"] += 1
            return
        except FrameError as failure:
            reason = failure.reason
        recovered = self._recover(chunk)
        self.counts[reason] += 1
        self.counts["resyncs"] += 1
        if recovered is not None:
            frames.append(recovered)
            self.counts["frames"] += 1
            self.counts["recovered"] += 1

    @staticmethod
    def _recover(chunk: bytes) -> Frame | None:
        """A whole frame at the end of ``chunk`` (two frames merged by a corrupted delimiter)."""
        for offset in range(1, len(chunk) - _MIN_WIRE + 1):
            try:
                return decode_frame(chunk[offset:])
            except FrameError:
                continue
        return None


@dataclass
class SequenceCounter:
    """Counts frames lost between the ones that arrive, from their 16-bit sequence numbers.

    ``period_ms`` (from HELLO) lets a long silence count whole wraps of the counter: the
    device's timestamp says about how many frames it sent meanwhile.
    """

    period_ms: int | None = None
    lost: int = 0
    gaps: int = 0
    last_sequence: int | None = None
    last_timestamp_ms: int | None = None

    restarts: int = 0
    first_position: int | None = None
    position: int = 0  # the last frame's index in an unwrapped count from the first frame seen

    def restart(self) -> None:
        """Forget the position (another device, or a reconnect): the next frame starts a new count."""
        self.last_sequence = None
        self.last_timestamp_ms = None

    def observe(self, sequence: int, timestamp_ms: int) -> int:
        """Frames lost just before this one (0 when none, and when the device's clock went back: a reboot)."""
        previous, self.last_sequence = self.last_sequence, sequence
        previous_time, self.last_timestamp_ms = self.last_timestamp_ms, timestamp_ms
        if previous is None or previous_time is None:
            if self.first_position is None:
                self.first_position = self.position = sequence
            else:
                self.position += 1
            return 0
        if 0 < previous_time - timestamp_ms < 1 << 31:
            self.restarts += 1
            self.position += 1
            return 0
        missing = (sequence - previous - 1) % SEQUENCE_MODULUS
        if self.period_ms:
            elapsed = (timestamp_ms - previous_time) % (1 << 32)
            expected = round(elapsed / self.period_ms) - 1
            wraps = max(0, round((expected - missing) / SEQUENCE_MODULUS))
            missing += wraps * SEQUENCE_MODULUS
        if missing:
            self.lost += missing
            self.gaps += 1
        self.position += 1 + missing
        return missing

    @property
    def span(self) -> int:
        """Frames from the first seen to the last seen, both included (received + lost, if nothing restarted)."""
        return 0 if self.first_position is None else self.position - self.first_position + 1
