"""What the gateway makes of a device's frames: readings, faults and exact accounting (pure).

A :class:`BridgeSession` refuses SAMPLEs until a HELLO announced the model's channels, maps
the device's millisecond clock to Unix time (anchored when the stream starts or the device
reboots), counts frames lost from sequence numbers, and turns FAULT frames into source faults.
"""

from __future__ import annotations

from collections import Counter

from edge.core.events import Reading, SourceFault
from edge.protocol.frames import Fault, Frame, FrameType, Hello, Sample
from edge.protocol.stream import SequenceCounter

FAULT_CODES = {1: "sensor not responding", 2: "value out of range", 3: "bus error", 4: "power or reset problem"}


class HelloMismatch(ValueError):
    """The device announces other channels than the model's."""


class BridgeSession:
    """Turns decoded frames of one device into readings of one sensor."""

    def __init__(self, sensor: str, channels: tuple[str, ...], port: str) -> None:
        self.sensor, self.channels, self.port = sensor, channels, port
        self.hello: Hello | None = None
        self.mismatch: str | None = None
        self.sequence = SequenceCounter()
        self.counts: Counter[str] = Counter(dict.fromkeys(("samples", "lost", "hellos", "device_faults"), 0))
        self._anchor: tuple[float, int] | None = None
        self._device_ms = 0
        self._faulted = False
        self._samples = 0
        self._lost_since_sample = 0

    def check_hello(self, hello: Hello) -> None:
        """Raise :class:`HelloMismatch` naming both channel lists if they differ."""
        announced = tuple(c.name for c in hello.channels)
        if announced != self.channels:
            raise HelloMismatch(
                f"device {hello.device_id!r} on {self.port} announces channels {list(announced)} but the model "
                f"has {list(self.channels)}; flash firmware for these channels or export a model for the device's"
            )

    def _timestamp(self, frame: Frame, arrival: float) -> float:
        """Device time as Unix seconds: arrival time at the anchor plus the device's elapsed milliseconds."""
        if self._anchor is None:
            self._anchor, self._device_ms = (arrival, frame.timestamp_ms), frame.timestamp_ms
        elapsed = (frame.timestamp_ms - self._device_ms) & 0xFFFFFFFF
        if elapsed >= 1 << 31:  # the clock went back: the device rebooted
            self._anchor, elapsed = (arrival, frame.timestamp_ms), 0
            self._device_ms = frame.timestamp_ms
        self._device_ms = (self._device_ms + elapsed) & 0xFFFFFFFF
        anchor_time, anchor_ms = self._anchor
        return anchor_time + ((self._device_ms - anchor_ms) & 0xFFFFFFFF) / 1000.0

    def take(self, frames: list[Frame], arrival: float) -> list[Reading | SourceFault]:
        """Readings and source faults from frames that arrived at ``arrival`` (Unix time)."""
        out: list[Reading | SourceFault] = []
        for frame in frames:
            if frame.type != FrameType.HELLO_REQUEST:
                lost = self.sequence.observe(frame.sequence, frame.timestamp_ms)
                self.counts["lost"] += lost
                self._lost_since_sample += lost
            body = frame.body
            if isinstance(body, Hello):
                out.extend(self._take_hello(body, arrival))
            elif isinstance(body, Sample):
                out.extend(self._take_sample(frame, body, arrival))
            elif isinstance(body, Fault):
                self.counts["device_faults"] += 1
                where = (
                    "the device"
                    if body.channel == 0xFF or body.channel >= len(self.channels)
                    else self.channels[body.channel]
                )
                what = FAULT_CODES.get(body.code, f"code {body.code}")
                self._faulted = True
                out.append(
                    SourceFault(
                        self.sensor,
                        arrival,
                        f"firmware reports {what} on {where}" + (f": {body.message}" if body.message else ""),
                    )
                )
        return out

    def _take_hello(self, hello: Hello, arrival: float) -> list[SourceFault]:
        self.counts["hellos"] += 1
        self.sequence.period_ms = hello.sample_period_ms or None
        try:
            self.check_hello(hello)
        except HelloMismatch as exc:  # said once, by the FAULT line of this source fault
            self.mismatch, self.hello = str(exc), None
            return [SourceFault(self.sensor, arrival, str(exc))]
        cleared = self.mismatch is not None
        self.mismatch, self.hello = None, hello
        return [SourceFault(self.sensor, arrival, "device channels match the model", cleared=True)] if cleared else []

    def _take_sample(self, frame: Frame, sample: Sample, arrival: float) -> list[Reading | SourceFault]:
        if self.hello is None:
            self.counts["samples_before_hello" if self.mismatch is None else "samples_refused"] += 1
            return []
        if len(sample.values) != len(self.channels):
            self.counts["malformed"] += 1
            return []
        self.counts["samples"] += 1
        out: list[Reading | SourceFault] = []
        if self._faulted:
            self._faulted = False
            out.append(SourceFault(self.sensor, arrival, "firmware sends samples again", cleared=True))
        # Readings are numbered by samples, not frames, so a HELLO between two samples is no gap;
        # a lost frame of any type counts as a lost reading. The first reading of a session has no
        # number: nothing before it in this count, so a detector carried over a reload or restored
        # from a checkpoint does not compare it with the old session's numbers (time gaps still count).
        first = self._samples == 0
        self._samples += 1 + self._lost_since_sample
        self._lost_since_sample = 0
        timestamp = self._timestamp(frame, arrival)
        out.append(Reading(self.sensor, timestamp, sample.values, sequence=None if first else self._samples & 0xFFFF))
        return out
