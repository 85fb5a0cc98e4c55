"""TI TMP102 digital thermometer (0x48): one temperature in °C."""

from __future__ import annotations

from edge.sources.i2c.presets.base import Preset


def tmp102_celsius(data: bytes) -> float:
    """TI TMP102 temperature register (0x00, MSB first): 12 bits of 0.0625 °C, 13 in extended mode.

    Datasheet table 6-2 values: 0x190 is 25 °C, 0xE70 is -25 °C; in extended mode (bit 0 of
    the second byte set) 0x800 is 128 °C.

    >>> tmp102_celsius(bytes([0x19, 0x00])), tmp102_celsius(bytes([0xE7, 0x00])), tmp102_celsius(bytes([0x00, 0x10]))
    (25.0, -25.0, 0.0625)
    >>> tmp102_celsius(bytes([0x40, 0x01]))
    128.0
    """
    raw = int.from_bytes(data[:2], "big", signed=True)
    return (raw >> (3 if data[1] & 0x01 else 4)) * 0.0625


PRESET = Preset(
    "tmp102", 0x48, ("temperature",), 0x00, 2, lambda data, _: {"temperature": tmp102_celsius(data)}, units=("degC",)
)
