"""What an ``i2c`` source reads: presets for common sensors, raw registers, and the ``reads`` entries.

Conversions are pure functions of register bytes (tested against datasheet values). A
preset's ``setup`` talks to the chip only through the ``read(register, length)`` and
``write(register, value)`` callables it is given, so the source keeps retries and bus
handling in one place. :func:`parse_reads` checks a config's ``reads`` entry by entry.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from edge.config_types import build_section
from edge.errors import ConfigError

ReadFn = Callable[[int, int], bytes]
WriteFn = Callable[[int, int], None]


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


def adxl345_g(data: bytes) -> dict[str, float]:
    """ADXL345 DATAX0..DATAZ1 (0x32..0x37, little-endian, signed) in full resolution: 3.9 mg/LSB.

    >>> adxl345_g(bytes([0x00, 0x01, 0x00, 0xFF, 0x01, 0x00]))
    {'x': 0.9984, 'y': -0.9984, 'z': 0.0039}
    """
    values = [int.from_bytes(data[i : i + 2], "little", signed=True) * 0.0039 for i in (0, 2, 4)]
    return {axis: round(value, 6) for axis, value in zip(("x", "y", "z"), values)}


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


@dataclass(frozen=True)
class Bme280Calibration:
    """The trimming values a BME280/BMP280 keeps at 0x88..0xA1 (and 0xE1..0xE7 for humidity)."""

    t1: int
    t2: int
    t3: int
    p: tuple[int, ...]
    h: tuple[int, ...] = (0, 0, 0, 0, 0, 0)

    @classmethod
    def from_registers(cls, block88: bytes, block_e1: bytes | None = None) -> Bme280Calibration:
        """Decode 26 bytes read from 0x88 and, for a BME280, 7 bytes read from 0xE1."""
        words = [int.from_bytes(block88[i : i + 2], "little", signed=i not in (0, 6)) for i in range(0, 24, 2)]
        humidity = (0, 0, 0, 0, 0, 0)
        if block_e1 is not None:
            e = block_e1
            humidity = (
                block88[25],
                int.from_bytes(e[0:2], "little", signed=True),
                e[2],
                _signed(e[3] << 4 | e[4] & 0x0F, 12),
                _signed(e[5] << 4 | e[4] >> 4, 12),
                _signed(e[6], 8),
            )
        return cls(words[0], words[1], words[2], tuple(words[3:12]), humidity)


def compensate_temperature(adc_t: int, cal: Bme280Calibration) -> tuple[float, int]:
    """°C and ``t_fine`` from a raw 20-bit temperature (the datasheet's double-precision formula).

    The BMP280 datasheet's worked example (section 3.12) gives 25.08 °C:

    >>> cal = Bme280Calibration(27504, 26435, -1000, (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000))
    >>> celsius, t_fine = compensate_temperature(519888, cal)
    >>> round(celsius, 2), t_fine
    (25.08, 128422)
    """
    var1 = (adc_t / 16384.0 - cal.t1 / 1024.0) * cal.t2
    var2 = (adc_t / 131072.0 - cal.t1 / 8192.0) ** 2 * cal.t3
    return (var1 + var2) / 5120.0, int(var1 + var2)


def compensate_pressure(adc_p: int, t_fine: int, cal: Bme280Calibration) -> float:
    """Pa from a raw 20-bit pressure and ``t_fine`` (double precision; the datasheet's example is 100653.27 Pa).

    >>> cal = Bme280Calibration(27504, 26435, -1000, (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000))
    >>> f"{compensate_pressure(415148, 128422, cal):.1f}"
    '100653.3'
    """
    p1, p2, p3, p4, p5, p6, p7, p8, p9 = cal.p
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * p6 / 32768.0 + var1 * p5 * 2.0
    var2 = var2 / 4.0 + p4 * 65536.0
    var1 = (p3 * var1 * var1 / 524288.0 + p2 * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * p1
    if var1 == 0.0:
        return math.nan
    pressure = (1048576.0 - adc_p - var2 / 4096.0) * 6250.0 / var1
    return pressure + (p9 * pressure * pressure / 2147483648.0 + pressure * p8 / 32768.0 + p7) / 16.0


def compensate_humidity(adc_h: int, t_fine: int, cal: Bme280Calibration) -> float:
    """%RH (0..100) from a raw 16-bit humidity and ``t_fine`` (BME280 only; double precision).

    The datasheet has no worked example for humidity; its 32-bit integer formula gives 54.80 here too.

    >>> cal = Bme280Calibration(0, 0, 0, (0,) * 9, (75, 362, 0, 313, 50, 30))
    >>> round(compensate_humidity(30000, 100000, cal), 2)
    54.8
    """
    h1, h2, h3, h4, h5, h6 = cal.h
    var = t_fine - 76800.0
    var = (adc_h - (h4 * 64.0 + h5 / 16384.0 * var)) * (
        h2 / 65536.0 * (1.0 + h6 / 67108864.0 * var * (1.0 + h3 / 67108864.0 * var))
    )
    var *= 1.0 - h1 * var / 524288.0
    return min(100.0, max(0.0, var))


def bme280_values(data: bytes, cal: Bme280Calibration) -> dict[str, float]:
    """°C, hPa and (with 8 bytes) %RH from the burst read at 0xF7; a value still at its reset level is NaN."""
    adc_p = data[0] << 12 | data[1] << 4 | data[2] >> 4
    adc_t = data[3] << 12 | data[4] << 4 | data[5] >> 4
    if adc_t == 0x80000:  # no measurement yet (or temperature skipped)
        return {"temperature": math.nan, "pressure": math.nan, "humidity": math.nan}
    celsius, t_fine = compensate_temperature(adc_t, cal)
    values = {
        "temperature": celsius,
        "pressure": math.nan if adc_p == 0x80000 else compensate_pressure(adc_p, t_fine, cal) / 100.0,
    }
    if len(data) >= 8:
        adc_h = data[6] << 8 | data[7]
        values["humidity"] = math.nan if adc_h == 0x8000 else compensate_humidity(adc_h, t_fine, cal)
    return values


BME280_IDS = {0x60: "BME280", 0x58: "BMP280", 0x57: "BMP280", 0x56: "BMP280"}


def _bosch_setup(humidity: bool) -> Callable[[ReadFn, WriteFn], Bme280Calibration]:
    def setup(read: ReadFn, write: WriteFn) -> Bme280Calibration:
        chip = read(0xD0, 1)[0]
        name = BME280_IDS.get(chip)
        if name is None:
            raise ConfigError(
                f"chip id (0xD0) is 0x{chip:02x}, not a BME280 (0x60) or BMP280 (0x58); "
                "check the address and the preset"
            )
        if humidity and name != "BME280":
            raise ConfigError(f'chip id 0x{chip:02x} is a {name}, which has no humidity sensor; use preset = "bmp280"')
        cal = Bme280Calibration.from_registers(read(0x88, 26), read(0xE1, 7) if humidity else None)
        if humidity:
            write(0xF2, 0x01)  # ctrl_hum: humidity oversampling x1 (applies at the next ctrl_meas write)
        write(0xF4, 0x27)  # ctrl_meas: temperature x1, pressure x1, normal mode
        return cal

    return setup


def _adxl345_setup(read: ReadFn, write: WriteFn) -> None:
    chip = read(0x00, 1)[0]
    if chip != 0xE5:
        raise ConfigError(f"device id (0x00) is 0x{chip:02x}, not an ADXL345 (0xE5); check the address and the preset")
    write(0x31, 0x0B)  # DATA_FORMAT: full resolution (3.9 mg/LSB), +-16 g
    write(0x2D, 0x08)  # POWER_CTL: measure


@dataclass(frozen=True)
class Preset:
    """One sensor type: its usual address, its fields and the block read each sample."""

    name: str
    address: int
    fields: tuple[str, ...]
    register: int
    length: int
    decode: Callable[[bytes, Any], dict[str, float]]
    setup: Callable[[ReadFn, WriteFn], Any] | None = None
    settle_s: float = 0.0  # after setup, before the first sample is ready


PRESETS = {
    p.name: p
    for p in (
        Preset("tmp102", 0x48, ("temperature",), 0x00, 2, lambda data, _: {"temperature": tmp102_celsius(data)}),
        Preset("adxl345", 0x53, ("x", "y", "z"), 0x32, 6, lambda data, _: adxl345_g(data), _adxl345_setup, 0.02),
        Preset(
            "bme280", 0x76, ("temperature", "pressure", "humidity"), 0xF7, 8, bme280_values, _bosch_setup(True), 0.02
        ),
        Preset("bmp280", 0x76, ("temperature", "pressure"), 0xF7, 6, bme280_values, _bosch_setup(False), 0.02),
    )
}


def raw_value(data: bytes, *, signed: bool, byte_order: Literal["big", "little"], shift: int) -> int:
    """A register's bytes as an integer, then shifted right (arithmetically when signed).

    >>> raw_value(bytes([0xFF, 0xC0]), signed=True, byte_order="big", shift=4)  # TMP102 -0.25 degC / 0.0625
    -4
    >>> raw_value(bytes([0x34, 0x12]), signed=False, byte_order="little", shift=0)
    4660
    """
    return int.from_bytes(data, byte_order, signed=signed) >> shift


PresetName = Literal["tmp102", "adxl345", "bme280", "bmp280"]
RAW_KEYS = ("register", "length", "signed", "byte_order", "shift")


@dataclass(frozen=True)
class ReadSpec:
    """One entry of ``reads``: where a channel's value comes from."""

    channel: str
    address: int | None = None
    preset: PresetName | None = None
    field: str | None = None
    register: int | None = None
    length: int = 2
    signed: bool = False
    byte_order: Literal["big", "little"] = "big"
    shift: int = 0
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        preset = PRESETS[self.preset] if self.preset else None
        if preset is None and self.register is None:
            raise ValueError(f"needs preset = one of {', '.join(PRESETS)}, or register = 0x.. for a raw read")
        if preset is None and self.address is None:
            raise ValueError("needs address = 0x.. (the 7-bit address i2cdetect shows)")
        if self.address is not None and not 0x03 <= self.address <= 0x77:
            raise ValueError(f"address 0x{self.address:x} is not a 7-bit device address (0x03..0x77)")
        if preset is not None and self.field is not None and self.field not in preset.fields:
            raise ValueError(f"field {self.field!r} is not one of {self.preset}'s: {', '.join(preset.fields)}")
        if preset is not None and self.field is None and len(preset.fields) > 1:
            raise ValueError(f"{self.preset} needs field = one of {', '.join(preset.fields)}")
        if preset is None and self.field is not None:
            raise ValueError("field is for presets; a raw read has one value")
        if self.register is not None and not 0 <= self.register <= 0xFF:
            raise ValueError(f"register {self.register} must be 0x00..0xff")
        if not 1 <= self.length <= 4 or not 0 <= self.shift < 8 * self.length:
            raise ValueError(f"length {self.length} must be 1..4 bytes and shift {self.shift} under its bits")

    @property
    def key(self) -> tuple[Any, ...]:
        """Reads sharing a key share one transaction (a preset device) each sample."""
        return ("preset", self.address, self.preset) if self.preset else ("raw", self.address, self.channel)

    @property
    def block(self) -> tuple[int, int]:
        """The first register and the byte count read each sample."""
        if self.preset:
            return PRESETS[self.preset].register, PRESETS[self.preset].length
        return self.register or 0, self.length

    @property
    def setup(self) -> Callable[[ReadFn, WriteFn], Any] | None:
        """The chip's set-up, if it needs one."""
        return PRESETS[self.preset].setup if self.preset else None

    @property
    def settle_s(self) -> float:
        """How long after its set-up the chip has a first measurement."""
        return PRESETS[self.preset].settle_s if self.preset else 0.0

    def values(self, data: bytes, state: Any) -> dict[str, float]:
        """The block's fields (a raw read's one is ``value``), before scale and offset."""
        if self.preset:
            return PRESETS[self.preset].decode(data, state)
        return {"value": float(raw_value(data, signed=self.signed, byte_order=self.byte_order, shift=self.shift))}

    def describe(self) -> str:
        """``temperature@0x48 (tmp102)``, ``vibration@0x53 (adxl345 z)``, ``flow@0x40 (register 0x00)``."""
        what = f"register 0x{self.register or 0:02x}" if self.preset is None else self.preset
        if self.preset and len(PRESETS[self.preset].fields) > 1:
            what += f" {self.field}"
        return f"{self.channel}@0x{self.address or 0:02x} ({what})"


def parse_reads(entries: list[dict[str, Any]]) -> list[ReadSpec]:
    """Check ``reads`` entry by entry; errors name the entry and the keys it may have."""
    if not entries:
        raise ValueError(
            "reads is empty; give one entry per model channel, e.g. "
            '{ channel = "temperature", preset = "tmp102", address = 0x48 }'
        )
    specs: list[ReadSpec] = []
    for i, entry in enumerate(entries):
        where = f"reads[{i}]" + (f" ({entry['channel']!r})" if isinstance(entry.get("channel"), str) else "")
        if "preset" in entry and any(k in entry for k in RAW_KEYS):
            raise ValueError(
                f"{where}: {', '.join(k for k in RAW_KEYS if k in entry)} are for raw reads; "
                f"preset {entry['preset']!r} knows its registers (keep scale and offset)"
            )
        spec = build_section(ReadSpec, entry, where)
        if spec.preset:
            preset = PRESETS[spec.preset]
            spec = dataclasses.replace(
                spec,
                address=preset.address if spec.address is None else spec.address,
                field=spec.field or preset.fields[0],
            )
        if any(s.channel == spec.channel for s in specs):
            raise ValueError(f"{where}: channel {spec.channel!r} is read twice")
        if any(s.address == spec.address and s.preset and spec.preset and s.preset != spec.preset for s in specs):
            raise ValueError(f"{where}: address 0x{spec.address:02x} is given two presets")
        specs.append(spec)
    return specs
