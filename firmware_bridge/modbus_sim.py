"""The simulator as a Modbus RTU slave: pymodbus's serial server behind a pseudo-terminal pair.

    python -m firmware_bridge.sim --modbus --slave 3 --link /tmp/edge-sim/ttyMODBUS --csv live.csv --rate 10

pymodbus's ``ModbusSerialServer`` answers on one pty; a bridge thread copies bytes between it and a second pty
whose slave side ``--link`` points at (what the gateway opens), so the gateway's side can be "unplugged" and
plugged again while the server keeps running. Each channel is one value in the registers (``--register-type``,
from ``--address`` on, in channel order); the values are the simulated (or ``--csv``) samples with the anomaly
flags applied, one sample every 1/``--rate`` s. Faults: ``--silent-every N --silent-ms M`` stops answering for M
ms after every N answers; ``--bad-crc-rate P`` sends an answer with a wrong CRC; ``--unplug-every``/
``--unplug-ms`` close the gateway's pty as the framed simulator does; ``--wire-time`` paces the bytes
at ``--baudrate``. ``--print-config`` prints the matching
``[[sources]]`` table and exits. pymodbus is imported only in this mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import select
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge.sources.modbus.registers import FORMATS, Kind, Order, encode
from firmware_bridge.ptys import close_pty, open_pty


@dataclass(frozen=True)
class ModbusFaults:
    """What the slave does wrong: silences after every ``silent_every`` answers, bad CRCs, unplugs."""

    silent_every: int = 0
    silent_ms: float = 500.0
    bad_crc_rate: float = 0.0
    unplug_every: int = 0
    unplug_ms: float = 200.0


@dataclass(frozen=True)
class RegisterLayout:
    """Where and how the slave holds each channel's value."""

    channels: tuple[str, ...]
    units: tuple[str, ...]
    type: Kind = "float32"
    address: int = 0
    scale: float = 1.0
    word_order: Order = "big"
    byte_order: Order = "big"
    function: str = "holding"

    @property
    def width(self) -> int:
        """Registers per channel."""
        return FORMATS[self.type][1]

    def registers(self, values: Sequence[float]) -> list[int]:
        """Every channel's registers, in address order."""
        words: list[int] = []
        for value in values:
            words += encode(value / self.scale, self.type, self.word_order, self.byte_order)
        return words

    def source_table(self, port: str, slave: int, baudrate: int, sensor: str) -> str:
        """The ``[[sources]]`` TOML that reads this slave."""
        entries = "".join(
            f'    {{ channel = "{channel}", address = {self.address + i * self.width}, type = "{self.type}", '
            f'word_order = "{self.word_order}", byte_order = "{self.byte_order}", scale = {self.scale!r}, '
            f'unit = "{unit}" }},\n'
            for i, (channel, unit) in enumerate(zip(self.channels, self.units))
        )
        return (
            f'[[sources]]\ntype = "modbus"\nsensor = "{sensor}"\nport = "{port}"\nslave = {slave}\n'
            f'baudrate = {baudrate}\nparity = "N"                    # a pseudo-terminal takes no parity bit\n'
            f'stopbits = 1\nfunction = "{self.function}"\nregisters = [\n{entries}]\n'
        )


@dataclass
class ModbusStats:
    """What the slave did."""

    generated: int = 0
    answered: int = 0
    silenced: int = 0
    bad_crc: int = 0
    unplugs: int = 0


class ModbusSim:
    """pymodbus's RTU server for ``slave`` on a pty pair; :meth:`run` serves until :attr:`stop` or ``count``."""

    def __init__(
        self,
        layout: RegisterLayout,
        values: Iterator[list[float]],
        *,
        slave: int,
        rate: float,
        link: Path,
        baudrate: int = 19200,
        faults: ModbusFaults = ModbusFaults(),
        seed: int = 0,
        count: int | None = None,
        linger_s: float = 0.0,
        wire_time: bool = False,
    ) -> None:
        self.layout, self.values, self.slave, self.rate, self.link = layout, values, slave, rate, link
        self.baudrate, self.faults, self.count, self.linger_s = baudrate, faults, count, linger_s
        self.byte_s = 10.0 / baudrate if wire_time else 0.0  # 8N1: start, 8 data and stop bit
        self.rng = random.Random(seed)
        self.stats = ModbusStats()
        self.stop, self.ready = threading.Event(), threading.Event()
        self.current = layout.registers([0.0] * len(layout.channels))
        self._silent_until = 0.0
        self._server_pty = open_pty(None)
        self._client: tuple[int, int, str] | None = None
        self.lock = threading.Lock()  # the bridge thread and unplugs share the gateway's pty

    def plug(self) -> None:
        """Open the gateway's pty behind the link."""
        with self.lock:
            self._client = open_pty(self.link)

    def unplug(self) -> None:
        """Close the gateway's pty: its reader gets EIO, the link points nowhere; the server keeps running."""
        with self.lock:
            client, self._client = self._client, None
            if client is not None:
                close_pty(self.link, client[0], client[1])

    async def _action(self, _fc: int, start: int, _address: int, _count: int, registers: list[int], _set: Any) -> None:
        """pymodbus asks before it answers: the block's registers are the latest sample."""
        first = self.layout.address - start
        registers[first : first + len(self.current)] = self.current

    def _trace(self, sending: bool, data: bytes) -> bytes:
        """Every answer passes here on its way out: be silent, or spoil its CRC."""
        if not sending:
            return data
        now = time.monotonic()
        if now < self._silent_until:
            self.stats.silenced += 1
            return b""
        self.stats.answered += 1
        every = self.faults.silent_every
        if every and self.stats.answered % every == 0:
            self._silent_until = now + self.faults.silent_ms / 1000.0
        if self.faults.bad_crc_rate and self.rng.random() < self.faults.bad_crc_rate:
            self.stats.bad_crc += 1
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    def _bridge(self) -> None:
        """Copy bytes between the server's pty and the gateway's until stopped (dropped while unplugged)."""
        server = self._server_pty[0]
        while not self.stop.is_set():
            client = self._client
            ends = [server] + ([client[0]] if client else [])
            readable, _, _ = select.select(ends, [], [], 0.05)
            with self.lock:
                client = self._client
                for fd in readable:
                    try:
                        data = os.read(fd, 4096)
                        if self.byte_s:  # as long as the bytes take on a wire at the baud rate, half duplex
                            time.sleep(len(data) * self.byte_s)
                        if fd != server:
                            os.write(server, data)
                        elif client is not None:  # else the answer is lost, as on an unplugged line
                            os.write(client[0], data)
                    except OSError:  # the gateway's pty was just closed
                        continue

    async def _serve(self) -> None:
        from pymodbus.framer import FramerType
        from pymodbus.server import ModbusSerialServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        block = SimData(self.layout.address, values=list(self.current), datatype=DataType.REGISTERS)
        device = SimDevice(self.slave, simdata=[block], action=self._action)
        server = ModbusSerialServer(
            device,
            framer=FramerType.RTU,
            port=self._server_pty[2],
            baudrate=self.baudrate,
            trace_packet=self._trace,
        )
        await server.serve_forever(background=True)
        self.ready.set()
        loop, unplugged_until = asyncio.get_running_loop(), 0.0
        due = loop.time()
        while not self.stop.is_set() and (self.count is None or self.stats.generated < self.count):
            self.current = self.layout.registers(next(self.values))
            self.stats.generated += 1
            now = loop.time()
            if unplugged_until and now >= unplugged_until:
                unplugged_until = 0.0
                self.plug()
            every = self.faults.unplug_every
            if every and self.stats.generated % every == 0 and not unplugged_until:
                self.stats.unplugs += 1
                self.unplug()
                unplugged_until = now + self.faults.unplug_ms / 1000.0
            due += 1.0 / self.rate
            await asyncio.sleep(max(0.0, due - loop.time()))
        deadline = loop.time() + self.linger_s
        while not self.stop.is_set() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await server.shutdown()

    def run(self) -> ModbusStats:
        """Serve until :attr:`stop` is set, or ``count`` samples and ``linger_s`` have passed."""
        if self._client is None:
            self.plug()
        bridge = threading.Thread(target=self._bridge, name="modbus-bridge", daemon=True)
        bridge.start()
        try:
            asyncio.run(self._serve())
        finally:
            self.stop.set()
            bridge.join(5)
            self.unplug()
            close_pty(None, self._server_pty[0], self._server_pty[1])
        return self.stats


def add_options(parser: argparse.ArgumentParser) -> None:
    """The ``--modbus`` mode's options."""
    group = parser.add_argument_group("modbus", "with --modbus: a Modbus RTU slave (pymodbus) instead of frames")
    group.add_argument("--modbus", action="store_true", help="serve the samples as Modbus RTU registers")
    group.add_argument("--slave", type=int, default=1, metavar="ID", help="the slave id (default: %(default)s)")
    group.add_argument("--baudrate", type=int, default=19200, help="the server's baud rate (default: %(default)s)")
    group.add_argument(
        "--wire-time",
        action="store_true",
        help="deliver each byte as late as --baudrate would on a wire (8N1; a pty is instant otherwise)",
    )
    group.add_argument(
        "--register-type",
        choices=sorted(FORMATS),
        default="float32",
        help="each channel's register type (default: %(default)s)",
    )
    group.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="a register holds value / SCALE (an integer type rounded), as the source's scale (default: %(default)s)",
    )
    group.add_argument(
        "--address", type=int, default=0, help="the first channel's register; the rest follow (default: %(default)s)"
    )
    for name, what in (
        ("word-order", "which register holds a 32-bit value's high word: big, the first"),
        ("byte-order", "which byte of a register is sent first: big, the high one (Modbus)"),
    ):
        group.add_argument(f"--{name}", choices=["big", "little"], default="big", help=f"{what} (default: %(default)s)")
    group.add_argument(
        "--silent-every",
        type=int,
        default=0,
        metavar="N",
        help="after every N answers, answer nothing for --silent-ms (default: %(default)s, never)",
    )
    group.add_argument(
        "--silent-ms",
        type=float,
        default=500.0,
        metavar="MS",
        help="how long each silence lasts (default: %(default)s)",
    )
    group.add_argument(
        "--bad-crc-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="chance (0-1) that an answer's CRC is wrong (default: %(default)s)",
    )
    group.add_argument(
        "--print-config", action="store_true", help="print the [[sources]] table that reads this slave, and exit"
    )


def layout_of(args: argparse.Namespace, channels: Sequence[str]) -> RegisterLayout:
    """The register layout the command line asks for."""
    units = (args.units.split(",") + ["1"] * len(channels))[: len(channels)]
    return RegisterLayout(
        tuple(channels), tuple(units), args.register_type, args.address, args.scale, args.word_order, args.byte_order
    )


def main(args: argparse.Namespace, values: Iterator[list[float]], channels: Sequence[str]) -> int:
    """``python -m firmware_bridge.sim --modbus``: serve until SIGTERM/SIGINT or ``--count``."""
    layout = layout_of(args, channels)
    link = args.link or Path("/tmp/edge-sim/ttyMODBUS")
    if args.print_config:
        print(layout.source_table(str(link), args.slave, args.baudrate, args.device_id), end="")
        return 0
    faults = ModbusFaults(args.silent_every, args.silent_ms, args.bad_crc_rate, args.unplug_every, args.unplug_ms)
    sim = ModbusSim(
        layout,
        values,
        slave=args.slave,
        rate=args.rate or 1000.0 / args.period_ms,
        link=link,
        baudrate=args.baudrate,
        faults=faults,
        seed=args.seed,
        count=args.count,
        linger_s=args.linger_s,
        wire_time=args.wire_time,
    )
    signal.signal(signal.SIGTERM, lambda *_: sim.stop.set())
    signal.signal(signal.SIGINT, lambda *_: sim.stop.set())
    sim.plug()
    print(
        f"simulator: modbus slave {args.slave}, {len(channels)} channel(s) {', '.join(channels)} on {link}", flush=True
    )
    stats = sim.run()
    print("stats " + json.dumps(asdict(stats)), flush=True)
    return 0
