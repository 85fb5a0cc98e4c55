"""Fake I²C sensor chips that hold a measurement in their registers as the real chip would.

Encoded from the datasheets' register tables, for demos and cases (the i2c tests also check the
decoding against the datasheets' own worked examples).

>>> Tmp102(25.0).read(0x00, 2), Adxl345(z=1.0).read(0x36, 2)
(b'\\x19\\x00', b'\\x00\\x01')
"""

from __future__ import annotations

from edge.hardware.fake.i2c import FakeDevice

TMP102_LSB_C = 0.0625  # 12-bit mode
ADXL345_LSB_G = 0.0039  # full resolution
ADXL345_DEVID = 0xE5


class Tmp102(FakeDevice):
    """TI TMP102: the temperature register 0x00, 12 bits MSB first, 0.0625 °C per bit."""

    def __init__(self, celsius: float = 20.0) -> None:
        super().__init__()
        self.measure(celsius)

    def measure(self, celsius: float) -> Tmp102:
        """The chip now reads ``celsius`` (to its 0.0625 °C resolution)."""
        raw = round(celsius / TMP102_LSB_C) & 0xFFF
        self.set(0x00, [raw >> 4, (raw & 0x0F) << 4])
        return self


class Adxl345(FakeDevice):
    """Analog Devices ADXL345: device id 0xE5 at 0x00, DATAX0..DATAZ1 at 0x32, little-endian, 3.9 mg per bit."""

    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 1.0) -> None:
        super().__init__({0x00: ADXL345_DEVID})
        self.measure(x, y, z)

    def measure(self, x: float, y: float, z: float) -> Adxl345:
        """The chip now reads (x, y, z) in g."""
        counts = (round(axis / ADXL345_LSB_G) for axis in (x, y, z))
        self.set(0x32, b"".join(value.to_bytes(2, "little", signed=True) for value in counts))
        return self
