"""A fake Linux I²C adapter at the register level: chips as register maps, failures as the kernel's errnos.

Like hardware: an address with no device answers EREMOTEIO (121, "Remote I/O error"); a
device that is ``busy`` NACKs its next transfers; an unplugged adapter makes opening
``/dev/i2c-N`` fail with ENOENT and every transfer on a bus opened before with ENODEV, even
after it is plugged back in (only a reopened bus works again).

>>> i2c = FakeI2c()
>>> _ = i2c.adapter(1).attach(0x48).set(0x00, [0x19, 0x00])
>>> bus = i2c.open(1)
>>> bus.read_i2c_block_data(0x48, 0x00, 2)
[25, 0]
>>> i2c.adapter(1).unplug(); bus.read_i2c_block_data(0x48, 0x00, 2)
Traceback (most recent call last):
OSError: [Errno 19] No such device
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

BLOCK_MAX = 32  # I2C_SMBUS_BLOCK_MAX: the kernel refuses longer block transfers with EINVAL


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


class FakeBus:
    """An open ``/dev/i2c-N`` with ``smbus2.SMBus``'s methods; it dies when its adapter is unplugged."""

    def __init__(self, adapter: FakeAdapter) -> None:
        self.adapter, self.generation, self.closed = adapter, adapter.generation, False

    def _device(self, address: int) -> FakeDevice:
        if self.closed:
            raise _fail(errno.EBADF)
        if not self.adapter.present or self.generation != self.adapter.generation:
            raise _fail(errno.ENODEV)
        if not 0 <= address <= 0x7F:
            raise _fail(errno.EINVAL)
        return self.adapter.answer(address)

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        """``length`` (1-32) bytes from ``register`` on."""
        if not 1 <= length <= BLOCK_MAX:
            raise _fail(errno.EINVAL)
        return list(self._device(i2c_addr).read(register, length))

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        """One register."""
        return self._device(i2c_addr).read(register, 1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        """Write one register."""
        self._device(i2c_addr).write(register, [value & 0xFF])

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        """Write up to 32 bytes from ``register`` on."""
        if not 1 <= len(data) <= BLOCK_MAX:
            raise _fail(errno.EINVAL)
        self._device(i2c_addr).write(register, data)

    def close(self) -> None:
        """Close the descriptor; a second close is EBADF, as ``os.close`` says."""
        if self.closed:
            raise _fail(errno.EBADF)
        self.closed = True


class FakeI2c:
    """The machine's I²C adapters by bus number."""

    def __init__(self) -> None:
        self.adapters: dict[int, FakeAdapter] = {}
        self.opens = 0
        self.buses: list[FakeBus] = []

    def adapter(self, number: int = 1) -> FakeAdapter:
        """``/dev/i2c-<number>``, created on first use."""
        return self.adapters.setdefault(number, FakeAdapter(number))

    def present(self, number: int) -> FakeAdapter:
        """The adapter if it is there now, else the ENOENT opening ``/dev/i2c-<number>`` gives."""
        adapter = self.adapters.get(number)
        if adapter is None or not adapter.present:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), f"/dev/i2c-{number}")
        self.opens += 1
        return adapter

    def open(self, number: int) -> FakeBus:
        """Open ``/dev/i2c-<number>``."""
        self.buses.append(FakeBus(self.present(number)))
        return self.buses[-1]

    def open_buses(self) -> int:
        """Buses opened and not closed yet."""
        return sum(not bus.closed for bus in self.buses)
