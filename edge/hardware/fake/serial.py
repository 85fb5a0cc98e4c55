"""Fake serial devices: what a device sends reaches the port's reader, what the host writes is kept.

Like a USB serial adapter: a path with nothing attached fails to open with ENOENT; a port
another program holds fails with EBUSY; an unplugged device makes reads and writes on the
open port fail with EIO, and the path fails to open until it is plugged back in. ``respond``
lets a device answer what the host writes (a firmware simulator answering a HELLO request).

>>> serial = FakeSerial()
>>> device = serial.attach("/dev/ttyUSB0")
>>> port = serial.open("/dev/ttyUSB0", 115200)
>>> device.send(b"21.5,0.3\\n"); port.in_waiting, port.read(64)
(9, b'21.5,0.3\\n')
>>> device.unplug(); port.read(64)
Traceback (most recent call last):
OSError: [Errno 5] Input/output error
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable

READ_TIMEOUT_S = 0.1  # what the real port is opened with


def _fail(code: int, path: str | None = None) -> OSError:
    return OSError(code, os.strerror(code), path) if path else OSError(code, os.strerror(code))


class FakeSerialDevice:
    """The far end of one port: bytes it sends, bytes it received, whether it is plugged in."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.present = True
        self.generation = 0
        self.received = bytearray()
        self.baudrates: list[int] = []  # the rate of every open, first first
        self.framings: list[str] = []  # data bits, parity and stop bits of every open ("8N1", "8E1"), first first
        self.respond: Callable[[bytes], bytes] | None = None
        self.held_by: FakeSerialPort | None = None
        self.open_errors: list[int] = []  # errnos for the next opens (EACCES, EBUSY, ...), first first
        self._buffer = bytearray()
        self._arrived = threading.Condition()

    def send(self, data: bytes) -> None:
        """The device transmits ``data``."""
        with self._arrived:
            self._buffer += data
            self._arrived.notify_all()

    def unplug(self) -> None:
        """The cable is pulled: the open port fails with EIO, the path is gone."""
        with self._arrived:
            self.present = False
            self.generation += 1
            self._buffer.clear()
            self.held_by = None
            self._arrived.notify_all()

    def plug(self) -> None:
        """The cable is back: the path opens again (a port opened before stays dead)."""
        self.present = True

    def pending(self) -> int:
        """Bytes sent and not yet read."""
        return len(self._buffer)

    def take(self, size: int, generation: int, timeout: float) -> bytes:
        """Up to ``size`` bytes for a port opened at ``generation``, waiting at most ``timeout``."""
        with self._arrived:
            self._arrived.wait_for(lambda: self._buffer or generation != self.generation, timeout)
            if generation != self.generation:
                raise _fail(errno.EIO)
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
            return data

    def write(self, data: bytes, generation: int) -> None:
        """What the host writes; the device answers if it has a ``respond``."""
        if generation != self.generation:
            raise _fail(errno.EIO)
        self.received += data
        if self.respond is not None:
            answer = self.respond(bytes(data))
            if answer:
                self.send(answer)


class FakeSerialPort:
    """An open port, as ``serial.Serial`` opened with a 0.1 s read timeout."""

    def __init__(self, device: FakeSerialDevice, baudrate: int) -> None:
        self.device, self.baudrate = device, baudrate
        self.generation = device.generation
        self.closed = False

    def _alive(self) -> FakeSerialDevice:
        if self.closed:
            raise ValueError("Attempting to use a port that is not open")  # what pyserial raises
        if self.generation != self.device.generation:
            raise _fail(errno.EIO)
        return self.device

    @property
    def in_waiting(self) -> int:
        """Bytes that can be read now."""
        return self._alive().pending()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; waits at most 0.1 s for the first."""
        return self._alive().take(size, self.generation, READ_TIMEOUT_S)

    def write(self, data: bytes) -> int:
        """Send ``data`` to the device."""
        self._alive().write(data, self.generation)
        return len(data)

    def close(self) -> None:
        """Close; safe to call twice."""
        if not self.closed:
            self.closed = True
            if self.device.held_by is self:
                self.device.held_by = None


class FakeSerial:
    """The machine's serial devices by path."""

    def __init__(self) -> None:
        self.devices: dict[str, FakeSerialDevice] = {}
        self.opens = 0

    def attach(self, path: str) -> FakeSerialDevice:
        """A device at ``path`` (plugged in), created on first use."""
        return self.devices.setdefault(path, FakeSerialDevice(path))

    def open(self, path: str, baudrate: int, *, parity: str = "N", stopbits: int = 1) -> FakeSerialPort:
        """Open ``path`` exclusively: ENOENT without a device, EBUSY if another port holds it."""
        device = self.devices.get(path)
        if device is None or not device.present:
            raise _fail(errno.ENOENT, path)
        if device.open_errors:
            raise _fail(device.open_errors.pop(0), path)
        if device.held_by is not None and not device.held_by.closed:
            raise _fail(errno.EBUSY, path)
        self.opens += 1
        device.baudrates.append(baudrate)
        device.framings.append(f"8{parity}{stopbits}")
        device.held_by = FakeSerialPort(device, baudrate)
        return device.held_by
