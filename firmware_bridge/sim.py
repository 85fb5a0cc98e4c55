"""A simulated firmware on a pseudo-terminal: real frames, injectable anomalies and faults.

    python -m firmware_bridge.sim --link /tmp/edge-sim/ttyBRIDGE --rate 100

opens a pty, points ``--link`` at it (as udev's /dev/serial/by-id links do), prints the path
and streams HELLO and SAMPLE frames of a sine + noise signal (or ``--csv``). Faults:
``--corrupt-rate`` flips a random byte of a frame, ``--drop-rate`` loses whole frames,
``--nan-rate`` sends NaN for a channel, ``--unplug-every N --unplug-ms M`` closes the pty every
N samples for M ms and opens a new one behind the same link (the device keeps sampling and
counting meanwhile, as a microcontroller behind an unplugged USB adapter does). Anomalies:
``--spike``, ``--shift``, ``--drift`` (``AT:CHANNEL:SIZE[:LENGTH]``: from sample AT, CHANNEL a name or
an index, SIZE in the channel's units, LENGTH in samples; ``--help`` says more). On exit it prints one
line ``stats {json}`` with what it generated, wrote, dropped and corrupted. ``--modbus`` serves the same samples as
a Modbus RTU slave instead (``firmware_bridge/modbus_sim.py``).
"""

from __future__ import annotations

import errno
import json
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.protocol.frames import Channel, FrameType, Hello, Sample, encode_frame
from edge.protocol.stream import FrameDecoder
from firmware_bridge.ptys import close_pty, open_pty
from firmware_bridge.signals import csv_signal, sine_signal, with_anomalies
from firmware_bridge.sim_options import build_parser, parse_anomalies


@dataclass(frozen=True)
class FaultPlan:
    """Link and sensor faults to inject, each independently per frame."""

    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    nan_rate: float = 0.0
    unplug_every: int = 0
    unplug_ms: float = 200.0


@dataclass
class SimStats:
    """What the simulator did; ``generated`` counts every SAMPLE the firmware made (sequence numbers used)."""

    generated: int = 0
    written: int = 0
    dropped: int = 0
    corrupted: int = 0
    unplugged_frames: int = 0
    overflow: int = 0
    nan: int = 0
    unplugs: int = 0
    hellos: int = 0
    hello_requests: int = 0
    first_sequence: int | None = None
    last_sequence: int = 0
    lost_sequences: list[int] = field(default_factory=list)  # every SAMPLE that did not leave intact


class Simulator:
    """Streams frames into a pty at ``rate`` frames per second until stopped or ``count`` samples are made."""

    def __init__(
        self,
        hello: Hello,
        signal_values: Iterator[list[float]],
        *,
        rate: float,
        link: Path | None = None,
        faults: FaultPlan = FaultPlan(),
        seed: int = 0,
        count: int | None = None,
        start_on_request: bool = False,
    ) -> None:
        self.hello, self.values, self.rate, self.link = hello, signal_values, rate, link
        self.faults, self.count = faults, count
        self.waiting = start_on_request
        self.rng = random.Random(seed)
        self.stats = SimStats()
        self.stop = threading.Event()
        self.plugged = threading.Event()
        self._master: int | None = None
        self._slave: int | None = None
        self._pending = b""
        self._sequence = 0
        self._requests = FrameDecoder()
        self.slave_name = ""

    @property
    def path(self) -> str:
        """What a reader opens: the link when there is one, else the pty's own name."""
        return str(self.link) if self.link else self.slave_name

    def plug(self) -> None:
        """Open a new pty (raw, non-blocking master) and point the link at it."""
        self._master, self._slave, self.slave_name = open_pty(self.link)
        self._pending = b""
        self.plugged.set()
        if not self.waiting:
            self._send_hello()

    def unplug(self) -> None:
        """Close the pty: a reader gets EIO at once, and the link points nowhere."""
        self.plugged.clear()
        close_pty(self.link, self._master, self._slave)
        self._master = self._slave = None

    def _next_sequence(self) -> int:
        sequence = self._sequence
        self._sequence = (self._sequence + 1) & 0xFFFF
        return sequence

    def _timestamp_ms(self) -> int:
        return int(self.stats.generated * self.hello.sample_period_ms) & 0xFFFFFFFF

    def _send_hello(self) -> None:
        self.stats.hellos += 1
        self._write(encode_frame(self.hello, self._next_sequence(), self._timestamp_ms()))

    def _write(self, data: bytes) -> bool:
        """Write a whole frame, or nothing; a partly written frame is finished first."""
        if self._master is None:
            return False
        try:
            if self._pending:
                self._pending = self._pending[os.write(self._master, self._pending) :]
                if self._pending:
                    return False
            self._pending = data[os.write(self._master, data) :]
            return True
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return False
            raise

    def _serve_requests(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        for frame in self._requests.feed(data):
            if frame.type == FrameType.HELLO_REQUEST:
                self.stats.hello_requests += 1
                self.waiting = False
                self._send_hello()

    def _sample_frame(self) -> bytes | None:
        """Make the next SAMPLE (the firmware always samples); None when the link loses it."""
        values = next(self.values)
        faults, stats = self.faults, self.stats
        if faults.nan_rate and self.rng.random() < faults.nan_rate:
            values[self.rng.randrange(len(values))] = math.nan
            stats.nan += 1
        sequence = self._next_sequence()
        frame = encode_frame(Sample(tuple(values)), sequence, self._timestamp_ms())
        stats.generated += 1
        stats.last_sequence = sequence
        if stats.first_sequence is None:
            stats.first_sequence = sequence
        if faults.drop_rate and self.rng.random() < faults.drop_rate:
            stats.dropped += 1
            stats.lost_sequences.append(sequence)
            return None
        if faults.corrupt_rate and self.rng.random() < faults.corrupt_rate:
            damaged = bytearray(frame)
            position = self.rng.randrange(len(damaged))
            damaged[position] ^= self.rng.randrange(1, 256)
            stats.corrupted += 1
            stats.lost_sequences.append(sequence)
            return bytes(damaged)
        return frame

    def run(self) -> SimStats:
        """Stream until :attr:`stop` is set or ``count`` samples were made; returns the stats."""
        if self._master is None and not self.plugged.is_set():
            self.plug()
        interval = 1.0 / self.rate
        due = time.monotonic()
        unplugged_until = 0.0
        while not self.stop.is_set() and (self.count is None or self.stats.generated < self.count):
            now = time.monotonic()
            if now < due:
                time.sleep(min(due - now, 0.05))
                continue
            due += interval
            if self.waiting:
                self._serve_requests()
                continue
            if unplugged_until:
                if now >= unplugged_until:
                    unplugged_until = 0.0
                    self.plug()
            self._serve_requests()
            frame = self._sample_frame()
            every = self.faults.unplug_every
            if every and self.stats.generated % every == 0 and not unplugged_until:
                self.stats.unplugs += 1
                self.unplug()
                unplugged_until = now + self.faults.unplug_ms / 1000.0
            if frame is None:
                continue
            if not self.plugged.is_set():
                self.stats.unplugged_frames += 1
            elif self._write(frame):
                self.stats.written += 1
                continue
            else:
                self.stats.overflow += 1
            self.stats.lost_sequences.append(self.stats.last_sequence)
        return self.stats

    def close(self) -> None:
        """Unplug for good."""
        if self.plugged.is_set():
            self.unplug()


def build_hello(channels: Sequence[str], units: Sequence[str], period_ms: int, device_id: str) -> Hello:
    """The HELLO the simulated firmware announces."""
    units = list(units) + ["1"] * (len(channels) - len(units))
    return Hello((0, 9, 0), device_id, period_ms, tuple(Channel(c, u) for c, u in zip(channels, units)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGTERM/SIGINT or ``--count``."""
    args = build_parser().parse_args(argv)
    channels = args.channels.split(",")
    hello = build_hello(channels, args.units.split(","), args.period_ms, args.device_id)
    values = csv_signal(args.csv, channels) if args.csv else sine_signal(len(channels), args.seed, args.noise)
    try:
        anomalies = parse_anomalies(args, channels)
        if args.csv:
            args.csv.open().close()  # the signal reads it lazily; say now if it cannot
    except (ValueError, OSError) as exc:
        print(f"firmware_bridge.sim: error: {exc}", file=sys.stderr)
        return 2
    if args.modbus:
        from firmware_bridge import modbus_sim

        return modbus_sim.main(args, with_anomalies(values, anomalies), channels)
    faults = FaultPlan(args.corrupt_rate, args.drop_rate, args.nan_rate, args.unplug_every, args.unplug_ms)
    sim = Simulator(
        hello,
        with_anomalies(values, anomalies),
        rate=args.rate or 1000.0 / args.period_ms,
        link=args.link,
        faults=faults,
        seed=args.seed,
        count=args.count,
        start_on_request=args.start_on_request,
    )
    signal.signal(signal.SIGTERM, lambda *_: sim.stop.set())
    signal.signal(signal.SIGINT, lambda *_: sim.stop.set())
    sim.plug()
    print(
        f"simulator: {len(channels)} channel(s) {', '.join(channels)} on {sim.path}"
        + (f" -> {sim.slave_name}" if args.link else ""),
        flush=True,
    )
    try:
        stats = sim.run()
        if not sim.stop.is_set():
            sim.stop.wait(args.linger_s)
    finally:
        sim.close()
    summary = asdict(stats)
    summary.pop("lost_sequences")
    print("stats " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
