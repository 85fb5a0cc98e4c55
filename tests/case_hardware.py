"""The fake hardware of an end-to-end case, from its ``hardware.toml``, and how each kind of source is driven.

``hardware.toml`` (every table optional)::

    [gpio]
    board = "raspberry_pi"          # gpiochip0 with GPIO0-GPIO27

    [serial]                        # a bridge firmware on a port: HELLO, then one SAMPLE frame per row
    port = "/dev/ttyUSB0"
    readings = "serial.csv"         # a value per channel; a row "lost" is a frame counted but never received,
    units = ["C", "g"]              # "corrupt" one received with a damaged byte
    period_ms = 300000

    [i2c]                           # chips on a bus, measuring one row of a CSV per sample
    bus = 1
    readings = "i2c.csv"            # a column per device; an empty cell: that chip does not answer this sample
    devices = [{address = 0x48, chip = "tmp102", column = "temperature"}, ...]
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge.core.events import Reading, SourceFault
from edge.hardware.fake import FakeClock, FakeHardware
from edge.hardware.fake.sensors import Adxl345, Tmp102
from edge.protocol.frames import Sample, encode_frame
from edge.sources.base import Source
from firmware_bridge.sim import build_hello

EPOCH = 1_700_240_000.0
Item = Reading | SourceFault


def load(case: Path) -> tuple[FakeHardware, dict[str, Any]]:
    """The case's fake machine (a fake clock from EPOCH, its chips attached) and its description."""
    path = case / "hardware.toml"
    spec = tomllib.loads(path.read_text()) if path.exists() else {}
    clock = FakeClock(epoch=EPOCH)
    hardware = FakeHardware.raspberry_pi(clock) if spec.get("gpio", {}).get("board") else FakeHardware(clock=clock)
    if "serial" in spec:
        hardware.serial.attach(spec["serial"]["port"])
    if "i2c" in spec:
        adapter = hardware.i2c.adapter(spec["i2c"]["bus"])
        for entry in spec["i2c"]["devices"]:
            entry["fake"] = adapter.attach(entry["address"], Tmp102() if entry["chip"] == "tmp102" else Adxl345())
    return hardware, spec


def rows(case: Path, name: str) -> list[dict[str, str]]:
    """A case CSV's rows."""
    with (case / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def serial_items(source: Source, hardware: FakeHardware, spec: dict[str, Any], case: Path) -> Iterator[Item]:
    """Send the firmware's frames, then read the port until it is drained."""
    channels = source.channels  # type: ignore[attr-defined]
    device = hardware.serial.devices[spec["port"]]
    period = spec["period_ms"]
    hello = build_hello(channels, spec.get("units", []), period, "case-bridge")
    stream = bytearray(encode_frame(hello, 0, 0))
    for sequence, row in enumerate(rows(case, spec["readings"]), start=1):
        mark = row[channels[0]]
        if mark == "lost":
            continue
        values = tuple(float(row[c]) if mark != "corrupt" else 0.0 for c in channels)
        frame = bytearray(encode_frame(Sample(values), sequence, sequence * period))
        if mark == "corrupt":
            frame[len(frame) // 2] ^= 0x5A
        stream += frame
    device.send(bytes(stream))
    idle = 0
    while idle < 2:
        items = source.read(0.0)
        idle = 0 if items or device.pending() else idle + 1
        yield from items


def i2c_items(source: Source, hardware: FakeHardware, spec: dict[str, Any], case: Path) -> Iterator[Item]:
    """One sample per row: the chips measure the row (or do not answer), then the source reads when due."""
    adapter = hardware.i2c.adapter(spec["bus"])
    for row in rows(case, spec["readings"]):
        for entry in spec["devices"]:
            value, chip = row[entry["column"]], entry["fake"]
            if value == "":
                adapter.devices.pop(entry["address"], None)
                continue
            adapter.attach(entry["address"], chip)
            if isinstance(chip, Tmp102):
                chip.measure(float(value))
            else:
                chip.measure(0.0, 0.0, float(value))  # the vibration channel is the z axis
        yield from source.read(math.inf)


DRIVERS = {"serial": serial_items, "i2c": i2c_items}
