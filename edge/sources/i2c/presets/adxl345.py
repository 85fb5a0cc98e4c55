"""Analog Devices ADXL345 accelerometer (0x53): x, y and z in g, full resolution."""

from __future__ import annotations

from edge.errors import ConfigError
from edge.sources.i2c.presets.base import Preset, ReadFn, WriteFn


def adxl345_g(data: bytes) -> dict[str, float]:
    """ADXL345 DATAX0..DATAZ1 (0x32..0x37, little-endian, signed) in full resolution: 3.9 mg/LSB.

    >>> adxl345_g(bytes([0x00, 0x01, 0x00, 0xFF, 0x01, 0x00]))
    {'x': 0.9984, 'y': -0.9984, 'z': 0.0039}
    """
    values = [int.from_bytes(data[i : i + 2], "little", signed=True) * 0.0039 for i in (0, 2, 4)]
    return {axis: round(value, 6) for axis, value in zip(("x", "y", "z"), values)}


def setup(read: ReadFn, write: WriteFn) -> None:
    chip = read(0x00, 1)[0]
    if chip != 0xE5:
        raise ConfigError(f"device id (0x00) is 0x{chip:02x}, not an ADXL345 (0xE5); check the address and the preset")
    write(0x31, 0x0B)  # DATA_FORMAT: full resolution (3.9 mg/LSB), +-16 g
    write(0x2D, 0x08)  # POWER_CTL: measure


PRESET = Preset(
    "adxl345", 0x53, ("x", "y", "z"), 0x32, 6, lambda data, _: adxl345_g(data), setup, 0.02, ("g", "g", "g")
)
