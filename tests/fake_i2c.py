"""A fake Linux I²C adapter at smbus2's own boundary, so a real ``smbus2.SMBus`` runs against it.

smbus2 talks to the kernel through two names in its module ``smbus2.smbus2``: ``os`` (for
``os.open("/dev/i2c-N")`` and ``os.close``) and ``ioctl`` (``from fcntl import ioctl``) with
I2C_FUNCS, I2C_SLAVE / I2C_SLAVE_FORCE, I2C_SMBUS and I2C_RDWR. :class:`FakeI2c` replaces
those two names and plays the kernel: it decodes the ctypes structures smbus2 passes
(``i2c_smbus_ioctl_data``, ``i2c_rdwr_ioctl_data``) and acts on register maps.

Like hardware: an address with no device answers EREMOTEIO (121, "Remote I/O error"); a
device that is ``busy`` NACKs its next transfers; an unplugged adapter makes ``os.open``
fail with ENOENT and every ioctl on a descriptor opened before with ENODEV, even after it
is plugged back in (only a reopened descriptor works again).

>>> import smbus2
>>> kernel = FakeI2c()
>>> with kernel.installed():
...     _ = kernel.adapter(1).attach(0x48).set(0x00, [0x19, 0x00])
...     with smbus2.SMBus(1) as bus:
...         bus.read_i2c_block_data(0x48, 0x00, 2), bus.read_word_data(0x48, 0x00)
([25, 0], 25)
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import smbus2.smbus2 as wire

FIRST_FD = 1000  # far from real descriptors (and never 0, which smbus2's close() would skip)
FUNCS = int(wire.I2cFunc.I2C | wire.I2cFunc.SMBUS_EMUL)  # what i2c-bcm2835 reports
RDWR_MAX_MSGS = 42


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class FakeDevice:
    """A chip as a map of 256 byte registers with a register pointer that auto-increments."""

    def __init__(
        self, registers: dict[int, int] | None = None, on_write: Callable[[int, int], None] | None = None
    ) -> None:
        self.registers = bytearray(256)
        for register, value in (registers or {}).items():
            self.registers[register] = value
        self.on_write = on_write
        self.pointer = 0
        self.busy = 0  # NACK this many transfers (like an EEPROM in its write cycle)
        self.writes: list[tuple[int, int]] = []

    def set(self, register: int, data: bytes | list[int]) -> FakeDevice:
        """Put bytes in registers from ``register`` on (as the chip's own measurement would)."""
        for i, value in enumerate(data):
            self.registers[(register + i) & 0xFF] = value
        return self

    def read(self, register: int, length: int) -> bytes:
        """``length`` bytes from ``register`` on; the pointer ends after them."""
        data = bytes(self.registers[(register + i) & 0xFF] for i in range(length))
        self.pointer = (register + length) & 0xFF
        return data

    def write(self, register: int, data: bytes | list[int]) -> None:
        """A bus master writing ``data`` from ``register`` on (hooks see each byte)."""
        for i, value in enumerate(data):
            where = (register + i) & 0xFF
            self.registers[where] = value
            self.writes.append((where, value))
            if self.on_write is not None:
                self.on_write(where, value)
        self.pointer = (register + len(data)) & 0xFF


class FakeAdapter:
    """One ``/dev/i2c-N``: devices by 7-bit address."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.devices: dict[int, FakeDevice] = {}
        self.claimed: set[int] = set()  # addresses a kernel driver owns: I2C_SLAVE says EBUSY
        self.present = True
        self.generation = 0
        self.errors: list[int] = []  # errnos for the next transfers (bus glitches), first first
        self.transfers = 0

    def attach(self, address: int, device: FakeDevice | None = None) -> FakeDevice:
        """Connect a device (a new blank one if none is given) and return it."""
        self.devices[address] = device if device is not None else FakeDevice()
        return self.devices[address]

    def detach(self, address: int) -> FakeDevice:
        """Disconnect a device: its address stops answering (it keeps its registers)."""
        return self.devices.pop(address)

    def unplug(self) -> None:
        """The adapter vanishes (a USB adapter pulled, a driver unbound)."""
        self.present = False
        self.generation += 1

    def plug(self) -> None:
        """The adapter is back; descriptors opened before stay dead."""
        self.present = True

    def answer(self, address: int) -> FakeDevice:
        """The device ACKing ``address``, or the errno a real transfer would give."""
        self.transfers += 1
        if self.errors:
            raise _fail(self.errors.pop(0))
        device = self.devices.get(address)
        if device is None:
            raise _fail(errno.EREMOTEIO)
        if device.busy:
            device.busy -= 1
            raise _fail(errno.EREMOTEIO)
        return device


@dataclass
class _Handle:
    adapter: FakeAdapter
    generation: int
    address: int = 0
    pec: bool = False


class _OsForSmbus2:
    """Stands in for the ``os`` module inside smbus2: open and close go to the fake kernel."""

    O_RDWR = os.O_RDWR

    def __init__(self, kernel: FakeI2c) -> None:
        self._kernel = kernel

    def open(self, path: str, flags: int, mode: int = 0o777) -> int:
        return self._kernel.open(path, flags)

    def close(self, fd: int) -> None:
        self._kernel.close(fd)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


class FakeI2c:
    """The kernel side: adapters by bus number, open descriptors and the ioctls on them."""

    def __init__(self) -> None:
        self.adapters: dict[int, FakeAdapter] = {}
        self.fds: dict[int, _Handle] = {}
        self._next_fd = FIRST_FD
        self.opens = 0

    def adapter(self, number: int = 1) -> FakeAdapter:
        """``/dev/i2c-<number>``, created on first use."""
        return self.adapters.setdefault(number, FakeAdapter(number))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeI2c:
        """Route smbus2's ``os`` and ``ioctl`` here for the test."""
        monkeypatch.setattr(wire, "os", _OsForSmbus2(self))
        monkeypatch.setattr(wire, "ioctl", self.ioctl)
        return self

    @contextmanager
    def installed(self) -> Iterator[FakeI2c]:
        """:meth:`install` outside pytest (doctests)."""
        patch = pytest.MonkeyPatch()
        try:
            yield self.install(patch)
        finally:
            patch.undo()

    def open(self, path: str, flags: int) -> int:
        prefix = "/dev/i2c-"
        number = path[len(prefix) :]
        adapter = self.adapters.get(int(number)) if path.startswith(prefix) and number.isdigit() else None
        if adapter is None or not adapter.present:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        fd, self._next_fd = self._next_fd, self._next_fd + 1
        self.fds[fd] = _Handle(adapter, adapter.generation)
        self.opens += 1
        return fd

    def close(self, fd: int) -> None:
        if self.fds.pop(fd, None) is None:
            raise _fail(errno.EBADF)

    def ioctl(self, fd: int, request: int, arg: Any = 0, mutate_flag: bool = True) -> int:
        handle = self.fds.get(fd)
        if handle is None:
            raise _fail(errno.EBADF)
        adapter = handle.adapter
        if not adapter.present or handle.generation != adapter.generation:
            raise _fail(errno.ENODEV)
        if request == wire.I2C_FUNCS:
            arg.value = FUNCS  # a c_ulong the kernel writes through
            return 0
        if request in (wire.I2C_SLAVE, wire.I2C_SLAVE_FORCE):
            if not 0 <= arg <= 0x7F:
                raise _fail(errno.EINVAL)
            if request == wire.I2C_SLAVE and arg in adapter.claimed:
                raise _fail(errno.EBUSY)
            handle.address = arg
            return 0
        if request == wire.I2C_PEC:
            handle.pec = bool(arg)
            return 0
        if request == wire.I2C_SMBUS:
            return self._smbus(adapter, handle.address, arg)
        if request == wire.I2C_RDWR:
            return self._rdwr(adapter, arg)
        raise _fail(errno.ENOTTY)

    @staticmethod
    def _smbus(adapter: FakeAdapter, address: int, arg: Any) -> int:
        """One SMBus transfer, as ``i2c_smbus_ioctl_data`` describes it."""
        reading, command, size = arg.read_write == wire.I2C_SMBUS_READ, arg.command, arg.size
        if size not in (
            wire.I2C_SMBUS_QUICK,
            wire.I2C_SMBUS_BYTE,
            wire.I2C_SMBUS_BYTE_DATA,
            wire.I2C_SMBUS_WORD_DATA,
            wire.I2C_SMBUS_I2C_BLOCK_DATA,
        ):
            raise _fail(errno.EOPNOTSUPP)  # SMBus block and process calls: like i2c-bcm2835, not emulated
        data = arg.data.contents  # union_i2c_smbus_data
        if size == wire.I2C_SMBUS_I2C_BLOCK_DATA and not 1 <= data.block[0] <= wire.I2C_SMBUS_BLOCK_MAX:
            raise _fail(errno.EINVAL)
        device = adapter.answer(address)
        if size == wire.I2C_SMBUS_QUICK:
            return 0
        if size == wire.I2C_SMBUS_BYTE:  # write_byte sets the pointer; read_byte reads at it
            if reading:
                data.byte = device.read(device.pointer, 1)[0]
            else:
                device.pointer = command
        elif size == wire.I2C_SMBUS_BYTE_DATA:
            if reading:
                data.byte = device.read(command, 1)[0]
            else:
                device.write(command, [data.byte])
        elif size == wire.I2C_SMBUS_WORD_DATA:  # SMBus words are low byte first on the wire
            if reading:
                low, high = device.read(command, 2)
                data.word = low | high << 8
            else:
                device.write(command, [data.word & 0xFF, data.word >> 8])
        else:
            length = data.block[0]
            if reading:
                data.block[1 : length + 1] = list(device.read(command, length))
            else:
                device.write(command, list(data.block[1 : length + 1]))
        return 0

    @staticmethod
    def _rdwr(adapter: FakeAdapter, arg: Any) -> int:
        """Combined messages (``i2c_rdwr_ioctl_data``): a write sets the pointer, then writes; a read reads."""
        if not 0 < arg.nmsgs <= RDWR_MAX_MSGS:
            raise _fail(errno.EINVAL)
        for i in range(arg.nmsgs):
            msg = arg.msgs[i]
            device = adapter.answer(msg.addr)
            if msg.flags & wire.I2C_M_RD:
                ctypes.memmove(msg.buf, device.read(device.pointer, msg.len), msg.len)
            elif msg.len:
                payload = ctypes.string_at(msg.buf, msg.len)
                device.pointer = payload[0]
                device.write(payload[0], payload[1:])
        return arg.nmsgs


@pytest.fixture(name="fake_i2c")
def fake_i2c_fixture(monkeypatch: pytest.MonkeyPatch) -> FakeI2c:
    """A fake kernel with ``/dev/i2c-1`` (no devices yet) under a real smbus2."""
    kernel = FakeI2c().install(monkeypatch)
    kernel.adapter(1)
    return kernel
