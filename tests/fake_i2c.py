"""The package's fake I²C adapters under a real ``smbus2.SMBus``: smbus2's own code runs against them.

smbus2 talks to the kernel through two names in its module ``smbus2.smbus2``: ``os`` (for
``os.open("/dev/i2c-N")`` and ``os.close``) and ``ioctl`` (``from fcntl import ioctl``) with
I2C_FUNCS, I2C_SLAVE / I2C_SLAVE_FORCE, I2C_SMBUS and I2C_RDWR. :class:`Smbus2Kernel` replaces
those two names and plays the kernel: it decodes the ctypes structures smbus2 passes
(``i2c_smbus_ioctl_data``, ``i2c_rdwr_ioctl_data``) and acts on the register maps of
:mod:`edge.hardware.fake.i2c`, so the real hardware path (:func:`edge.hardware.buses.open_smbus`)
and :class:`~edge.hardware.fake.FakeHardware` see the same chips.

>>> import smbus2
>>> kernel = Smbus2Kernel()
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import smbus2.smbus2 as wire

from edge.hardware import Clock, Hardware, RealHardware
from edge.hardware.fake import FakeHardware
from edge.hardware.fake.i2c import FakeAdapter, FakeDevice, FakeI2c

__all__ = ["FakeDevice", "Smbus2Kernel", "fake_i2c_fixture"]

FIRST_FD = 1000  # far from real descriptors (and never 0, which smbus2's close() would skip)
FUNCS = int(wire.I2cFunc.I2C | wire.I2cFunc.SMBUS_EMUL)  # what i2c-bcm2835 reports
RDWR_MAX_MSGS = 42


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


@dataclass
class _Handle:
    adapter: FakeAdapter
    generation: int
    address: int = 0
    pec: bool = False


class _OsForSmbus2:
    """Stands in for the ``os`` module inside smbus2: open and close go to the fake kernel."""

    O_RDWR = os.O_RDWR

    def __init__(self, kernel: Smbus2Kernel) -> None:
        self._kernel = kernel

    def open(self, path: str, flags: int, mode: int = 0o777) -> int:
        return self._kernel.open_path(path)

    def close(self, fd: int) -> None:
        self._kernel.close(fd)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


class Smbus2Kernel(FakeI2c):
    """The kernel side for smbus2: the adapters, open descriptors and the ioctls on them."""

    def __init__(self) -> None:
        super().__init__()
        self.fds: dict[int, _Handle] = {}
        self._next_fd = FIRST_FD
        self.route = "smbus2"  # how sources reach the adapters: the real smbus2 path, or FakeHardware's buses

    def hardware(self, clock: Clock | None = None) -> Hardware:
        """What a plugin context opens these adapters through, on ``clock``."""
        if self.route == "fake-bus":
            return FakeHardware(i2c=self, clock=clock)
        real = RealHardware()
        if clock is not None:
            real.clock = clock
        return real

    def open_buses(self) -> int:
        """Buses open now, by either route."""
        return len(self.fds) + super().open_buses()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Smbus2Kernel:
        """Route smbus2's ``os`` and ``ioctl`` here for the test."""
        monkeypatch.setattr(wire, "os", _OsForSmbus2(self))
        monkeypatch.setattr(wire, "ioctl", self.ioctl)
        return self

    @contextmanager
    def installed(self) -> Iterator[Smbus2Kernel]:
        """:meth:`install` outside pytest (doctests)."""
        patch = pytest.MonkeyPatch()
        try:
            yield self.install(patch)
        finally:
            patch.undo()

    def open_path(self, path: str) -> int:
        """``os.open`` of ``/dev/i2c-N``: a new descriptor, or ENOENT."""
        prefix, number = "/dev/i2c-", path.rpartition("-")[2]
        if not (path.startswith(prefix) and number.isdigit()):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        adapter = self.present(int(number))
        fd, self._next_fd = self._next_fd, self._next_fd + 1
        self.fds[fd] = _Handle(adapter, adapter.generation)
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


@pytest.fixture(name="fake_i2c", params=["smbus2", "fake-bus"])
def fake_i2c_fixture(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Smbus2Kernel:
    """Fake adapters with ``/dev/i2c-1`` (no devices yet), reached through a real smbus2 and through FakeHardware."""
    kernel = Smbus2Kernel().install(monkeypatch)
    kernel.route = request.param
    kernel.adapter(1)
    return kernel
