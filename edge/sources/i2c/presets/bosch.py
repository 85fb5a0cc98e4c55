"""Bosch BME280 (temperature, pressure, humidity) and BMP280 (temperature, pressure) at 0x76.

The chips keep trimming values at 0x88..0xA1 (and 0xE1..0xE7 for humidity); readings are compensated
with the datasheet's double-precision formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edge.errors import ConfigError
from edge.sources.i2c.presets.base import Preset, ReadFn, WriteFn


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


BME280 = Preset(
    "bme280",
    0x76,
    ("temperature", "pressure", "humidity"),
    0xF7,
    8,
    bme280_values,
    _bosch_setup(True),
    0.02,
    ("degC", "hPa", "%RH"),
)
BMP280 = Preset(
    "bmp280", 0x76, ("temperature", "pressure"), 0xF7, 6, bme280_values, _bosch_setup(False), 0.02, ("degC", "hPa")
)
