"""The one seam between plugins and hardware: serial ports, I²C buses, GPIO chips and the clock.

As gpiozero's pin factories: a plugin opens its device through ``context.hardware`` and never
imports a hardware library itself. :class:`RealHardware` (the default) imports pyserial, smbus2
or gpiod only when a device of that kind is opened, so the package imports on a laptop;
:class:`edge.hardware.fake.FakeHardware` plays the same devices in memory, failing with the
errnos the kernel gives, for tests, demos and a laptop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from edge.hardware.buses import I2cBus, open_smbus
from edge.hardware.chips import GpioChips, LibgpiodChips, OutputLine
from edge.hardware.clock import Clock, SystemClock
from edge.hardware.ports import SerialPort, open_pyserial

__all__ = ["Clock", "GpioChips", "Hardware", "I2cBus", "OutputLine", "RealHardware", "SerialPort"]


class Hardware(Protocol):
    """What plugins open devices through."""

    @property
    def clock(self) -> Clock: ...

    @property
    def gpio(self) -> GpioChips: ...

    def open_serial(self, port: str, baudrate: int, *, parity: str = "N", stopbits: int = 1) -> SerialPort: ...

    def open_i2c(self, bus: int) -> I2cBus: ...


class RealHardware:
    """The machine's own devices: pyserial, smbus2 and libgpiod v2, each imported on first use."""

    def __init__(self, dev: Path = Path("/dev")) -> None:
        self.clock: Clock = SystemClock()
        self.gpio: GpioChips = LibgpiodChips(dev)

    def open_serial(self, port: str, baudrate: int, *, parity: str = "N", stopbits: int = 1) -> SerialPort:
        """``serial.Serial`` on ``port`` (8 data bits, exclusive, 0.1 s read timeout)."""
        return open_pyserial(port, baudrate, parity=parity, stopbits=stopbits)

    def open_i2c(self, bus: int) -> I2cBus:
        """``smbus2.SMBus(bus)``: ``/dev/i2c-<bus>``."""
        return open_smbus(bus)
