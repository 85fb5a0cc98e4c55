"""The i2c source's presets, one sensor type per module: registers, set-up and units known."""

from __future__ import annotations

from typing import Literal

from edge.sources.i2c.presets import adxl345, bosch, tmp102
from edge.sources.i2c.presets.base import Preset, ReadFn, WriteFn
from edge.sources.i2c.presets.bosch import Bme280Calibration, compensate_humidity

__all__ = ["PRESETS", "Bme280Calibration", "Preset", "PresetName", "ReadFn", "WriteFn", "compensate_humidity"]

PRESETS = {p.name: p for p in (tmp102.PRESET, adxl345.PRESET, bosch.BME280, bosch.BMP280)}
PresetName = Literal["tmp102", "adxl345", "bme280", "bmp280"]
