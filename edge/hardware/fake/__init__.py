"""Hardware in memory, as gpiozero's ``MockFactory``: serial devices, I²C chips, GPIO lines and a clock.

Put it on the plugin context (``PluginContext(..., hardware=FakeHardware())``) and every plugin
opens these devices instead of the machine's. Each fake fails the way the kernel does (the same
errnos), so the plugins' error handling runs as it would on a gateway.

>>> hardware = FakeHardware.raspberry_pi()
>>> hardware.gpio.line_names("/dev/gpiochip0")[17]
'GPIO17'
"""

from __future__ import annotations

from edge.hardware.clock import Clock, SystemClock
from edge.hardware.fake.clock import FakeClock
from edge.hardware.fake.gpio import FakeGpio
from edge.hardware.fake.i2c import FakeBus, FakeDevice, FakeI2c
from edge.hardware.fake.serial import FakeSerial, FakeSerialDevice, FakeSerialPort

__all__ = ["FakeClock", "FakeDevice", "FakeGpio", "FakeHardware", "FakeI2c", "FakeSerial", "FakeSerialDevice"]

PI_HEADER = [f"GPIO{n}" for n in range(28)]  # the 40-pin header's lines, as gpiochip0 names them on a Pi


class FakeHardware:
    """Fake serial devices, I²C adapters and GPIO chips; the system clock unless given a :class:`FakeClock`."""

    def __init__(
        self,
        *,
        serial: FakeSerial | None = None,
        i2c: FakeI2c | None = None,
        gpio: FakeGpio | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.serial = serial if serial is not None else FakeSerial()
        self.i2c = i2c if i2c is not None else FakeI2c()
        self.gpio = gpio if gpio is not None else FakeGpio()
        self.clock: Clock = clock if clock is not None else SystemClock()

    @classmethod
    def raspberry_pi(cls, clock: Clock | None = None) -> FakeHardware:
        """A Pi as a laptop can pretend one: gpiochip0 with GPIO0-GPIO27 and an empty ``/dev/i2c-1``."""
        hardware = cls(clock=clock)
        hardware.gpio.add_chip("gpiochip0", PI_HEADER)
        hardware.i2c.adapter(1)
        return hardware

    def open_serial(self, port: str, baudrate: int, *, parity: str = "N", stopbits: int = 1) -> FakeSerialPort:
        """Open a fake serial device."""
        return self.serial.open(port, baudrate, parity=parity, stopbits=stopbits)

    def open_i2c(self, bus: int) -> FakeBus:
        """Open a fake ``/dev/i2c-<bus>``."""
        return self.i2c.open(bus)
