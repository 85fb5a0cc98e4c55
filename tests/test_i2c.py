"""The ``i2c`` source on fake adapters, reached both through a real smbus2.SMBus (tests/fake_i2c.py) and FakeHardware."""

from __future__ import annotations

import errno
import math
import tomllib
from pathlib import Path
from typing import get_args

import pytest
import smbus2
from conftest import FIXTURE_MODEL
from fake_i2c import FakeDevice, Smbus2Kernel, fake_i2c_fixture  # noqa: F401 (the fake_i2c fixture)

from edge.assembly import build_pipeline
from edge.config import parse_config
from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError
from edge.hardware import Hardware, RealHardware
from edge.hardware.fake import FakeClock
from edge.hardware.fake.sensors import Tmp102
from edge.plugins import SOURCE_TYPES, PluginContext, load_spec
from edge.sources import i2c
from edge.sources.i2c.presets import PRESETS, Bme280Calibration, PresetName, compensate_humidity


def context(
    channels: tuple[str, ...] = ("temperature", "vibration"), period: float = 1.0, hardware: Hardware | None = None
) -> PluginContext:
    return PluginContext(
        hardware=hardware or RealHardware(),
        channels=channels,
        sample_period_s=period,
        model_sha256="0" * 64,
        state_dir=Path("/nonexistent"),
        base_dir=Path("/nonexistent"),
    )


def build(
    kernel: Smbus2Kernel | None,
    reads: list[dict],
    channels: tuple[str, ...] = ("temperature", "vibration"),
    clock: FakeClock | None = None,
    **keys,
) -> i2c.I2cSource:
    """A source from a TOML-like table, through the same validation as a config file, on ``kernel``'s adapters."""
    table = {"type": "i2c", "sensor": "pump-1", "bus": 1, "reads": reads, **keys}
    spec = load_spec(SOURCE_TYPES, "source", table, "[[sources]] #1")
    clock = clock or FakeClock(start=1000.0)
    hardware = kernel.hardware(clock) if kernel is not None else None
    return i2c.I2cSource(spec.config, context(channels, hardware=hardware))


# Register contents as the chips would hold them (encoded here from the datasheets' register tables).


def tmp102(celsius: float) -> FakeDevice:
    return Tmp102(celsius)


def adxl345(x: int, y: int, z: int) -> FakeDevice:
    device = FakeDevice({0x00: 0xE5})
    return device.set(0x32, b"".join(v.to_bytes(2, "little", signed=True) for v in (x, y, z)))


BMP280_EXAMPLE = (27504, 26435, -1000, (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000))
HUMIDITY_CAL = (75, 362, 0, 313, -50, -30)  # dig_H1..H6; H5 and H6 negative to exercise sign extension


def bosch(
    chip: int = 0x60,
    adc_t: int = 519888,
    adc_p: int = 415148,
    adc_h: int = 30000,
    humidity_cal: tuple[int, ...] = HUMIDITY_CAL,
) -> FakeDevice:
    t1, t2, t3, p = BMP280_EXAMPLE
    h1, h2, h3, h4, h5, h6 = humidity_cal
    calib = t1.to_bytes(2, "little") + t2.to_bytes(2, "little", signed=True) + t3.to_bytes(2, "little", signed=True)
    calib += p[0].to_bytes(2, "little") + b"".join(v.to_bytes(2, "little", signed=True) for v in p[1:])
    calib += bytes([0, h1])
    h4, h5 = h4 & 0xFFF, h5 & 0xFFF
    humidity = h2.to_bytes(2, "little", signed=True) + bytes(
        [h3, h4 >> 4, (h5 & 0x0F) << 4 | h4 & 0x0F, h5 >> 4, h6 & 0xFF]
    )
    data = [
        adc_p >> 12,
        adc_p >> 4 & 0xFF,
        (adc_p & 0x0F) << 4,
        adc_t >> 12,
        adc_t >> 4 & 0xFF,
        (adc_t & 0x0F) << 4,
        adc_h >> 8,
        adc_h & 0xFF,
    ]
    return FakeDevice({0xD0: chip}).set(0x88, calib).set(0xE1, humidity).set(0xF7, data)


def humidity_int32(adc_h: int, t_fine: int, h: tuple[int, ...]) -> float:
    """The BME280 datasheet's 32-bit integer humidity formula, as an independent reference (%RH)."""
    h1, h2, h3, h4, h5, h6 = h
    v = t_fine - 76800
    v = ((((adc_h << 14) - (h4 << 20) - h5 * v) + 16384) >> 15) * (
        ((((((v * h6) >> 10) * (((v * h3) >> 11) + 32768)) >> 10) + 2097152) * h2 + 8192) >> 14
    )
    v -= ((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4
    return (min(max(v, 0), 419430400) >> 12) / 1024.0


def only_reading(items: list) -> Reading:
    assert len(items) == 1 and isinstance(items[0], Reading), items
    return items[0]


PRESET_READS = [
    {"channel": "temperature", "preset": "tmp102"},
    {"channel": "accel_x", "preset": "adxl345", "field": "x"},
    {"channel": "accel_z", "preset": "adxl345", "address": 0x53, "field": "z"},
    {"channel": "air_temp", "preset": "bme280", "field": "temperature"},
    {"channel": "pressure", "preset": "bme280", "field": "pressure"},
    {"channel": "humidity", "preset": "bme280", "field": "humidity", "address": 0x76},
]
PRESET_CHANNELS = ("temperature", "accel_x", "accel_z", "air_temp", "pressure", "humidity")


def test_presets_give_engineering_values_one_block_read_per_device(fake_i2c: Smbus2Kernel) -> None:
    bus = fake_i2c.adapter(1)
    bus.attach(0x48, tmp102(-10.0625))
    accel = bus.attach(0x53, adxl345(256, -3, -512))
    bme = bus.attach(0x76, bosch())
    with build(fake_i2c, PRESET_READS, PRESET_CHANNELS) as source:
        assert accel.writes == [(0x31, 0x0B), (0x2D, 0x08)]  # full resolution, then measure
        assert bme.writes == [(0xF2, 0x01), (0xF4, 0x27)]  # ctrl_hum must come before ctrl_meas
        before = bus.transfers
        reading = only_reading(source.read(1.0))
        assert bus.transfers - before == 3  # tmp102, adxl345 (x and z from one read), bme280
        assert source.units() == ("degC", "g", "g", "degC", "hPa", "%RH")  # what alert lines show
    temperature, accel_x, accel_z, air_temp, pressure, humidity = reading.values
    assert temperature == -10.0625
    assert accel_x == pytest.approx(0.9984) and accel_z == pytest.approx(-1.9968)
    assert air_temp == pytest.approx(25.08, abs=0.005)  # the BMP280 datasheet's worked example
    assert pressure == pytest.approx(1006.5327, abs=0.0005)  # 100653.27 Pa in that example
    assert humidity == pytest.approx(humidity_int32(30000, 128422, HUMIDITY_CAL), abs=0.01)
    assert 50 < humidity < 60
    assert reading.sensor == "pump-1" and fake_i2c.open_buses() == 0


def test_a_rescaled_or_raw_read_has_the_unit_its_entry_gives(fake_i2c: Smbus2Kernel) -> None:
    bus = fake_i2c.adapter(1)
    bus.attach(0x48, tmp102(20.0))
    reads = [
        {"channel": "temperature", "preset": "tmp102", "scale": 1.8, "offset": 32.0},  # °F: not the preset's unit
        {"channel": "vibration", "preset": "tmp102", "address": 0x48, "unit": "degC"},
    ]
    with build(fake_i2c, reads, ("temperature", "vibration")) as source:
        assert source.units() == ("", "degC")
        assert only_reading(source.read(1.0)).values == (68.0, 20.0)


def test_bme280_calibration_decodes_signed_12_bit_humidity_words() -> None:
    for humidity_cal in (HUMIDITY_CAL, (1, -2, 255, -2048, 2047, 127)):
        device = bosch(humidity_cal=humidity_cal)
        cal = Bme280Calibration.from_registers(device.read(0x88, 26), device.read(0xE1, 7))
        assert (cal.t1, cal.t2, cal.t3, cal.p) == BMP280_EXAMPLE
        assert cal.h == humidity_cal
    cal = Bme280Calibration.from_registers(bosch().read(0x88, 26), bosch().read(0xE1, 7))
    for adc_h, t_fine in [(20000, 90000), (35000, 128422), (45000, 150000)]:
        assert compensate_humidity(adc_h, t_fine, cal) == pytest.approx(humidity_int32(adc_h, t_fine, cal.h), abs=0.01)


def test_bmp280_and_wrong_chips(fake_i2c: Smbus2Kernel) -> None:
    bus = fake_i2c.adapter(1)
    bus.attach(0x48, tmp102(20.0))
    bus.attach(0x77, bosch(chip=0x58))
    reads = [
        {"channel": "temperature", "preset": "tmp102"},
        {"channel": "vibration", "preset": "bmp280", "address": 0x77, "field": "pressure"},
    ]
    with build(fake_i2c, reads) as source:
        assert only_reading(source.read(1.0)).values[1] == pytest.approx(1006.53, abs=0.01)
    reads[1] = {**reads[1], "preset": "bme280"}
    with pytest.raises(ConfigError, match=r'0x77: chip id 0x58 is a BMP280, .*no humidity.*preset = "bmp280"'):
        build(fake_i2c, reads).open()
    bus.attach(0x77, FakeDevice({0xD0: 0x55}))
    with pytest.raises(ConfigError, match=r"chip id \(0xD0\) is 0x55, not a BME280 \(0x60\) or BMP280 \(0x58\)"):
        build(fake_i2c, reads).open()
    assert fake_i2c.open_buses() == 0  # a failed open closes the bus


@pytest.mark.parametrize(
    ("data", "keys", "expected"),
    [
        ([0x12], {"length": 1}, 18),
        ([0xFF], {"length": 1, "signed": True}, -1),
        ([0x01, 0x02], {}, 258),
        ([0x01, 0x02], {"byte_order": "little"}, 513),
        ([0xFF, 0xC0], {"signed": True, "shift": 4, "scale": 0.0625}, -0.25),  # a TMP102 by hand
        ([0x80, 0x00, 0x00], {"length": 3, "signed": True}, -8388608),
        ([0x80, 0x00, 0x00], {"length": 3}, 8388608),
        ([0x01, 0x00, 0x00, 0x00], {"length": 4, "byte_order": "little"}, 1),
        ([0x01, 0x00, 0x00, 0x00], {"length": 4}, 16777216),
        ([0xFF, 0xFF, 0xFF, 0xFE], {"length": 4, "signed": True}, -2),
        ([0x03, 0xE8], {"scale": 0.1, "offset": -40.0}, 60.0),
    ],
)
def test_raw_register_reads(fake_i2c: Smbus2Kernel, data: list[int], keys: dict, expected: float) -> None:
    fake_i2c.adapter(1).attach(0x40).set(0x10, data)
    fake_i2c.adapter(1).attach(0x41).set(0x00, [7])
    reads = [
        {"channel": "vibration", "address": 0x40, "register": 0x10, **keys},
        {"channel": "temperature", "address": 0x41, "register": 0, "length": 1},
    ]
    with build(fake_i2c, reads) as source:
        assert only_reading(source.read(1.0)).values == pytest.approx((7, expected))  # the model's channel order


def test_a_nack_is_retried_with_doubling_capped_back_off(fake_i2c: Smbus2Kernel) -> None:
    device = fake_i2c.adapter(1).attach(0x48, tmp102(21.5))
    fake_i2c.adapter(1).attach(0x53, adxl345(0, 0, 256))
    clock = FakeClock(start=1000.0)
    reads = [
        {"channel": "temperature", "preset": "tmp102"},
        {"channel": "vibration", "preset": "adxl345", "field": "z"},
    ]
    with build(fake_i2c, reads, clock=clock, retries=4, backoff_s=0.01, max_backoff_s=0.03) as source:
        device.busy = 4
        clock.sleeps.clear()
        assert only_reading(source.read(1.0)).values == pytest.approx((21.5, 0.9984))
        assert clock.sleeps == pytest.approx([0.01, 0.02, 0.03, 0.03])
        assert source.counters() == {"reads": 1, "failed_reads": 0, "retries": 4, "faults": 0, "reopens": 0}


def test_persistent_nack_is_one_fault_then_cleared(fake_i2c: Smbus2Kernel) -> None:
    bus = fake_i2c.adapter(1)
    bus.attach(0x48, tmp102(20.0))
    bus.attach(0x53, adxl345(0, 0, 256))
    clock = FakeClock(start=1000.0)
    reads = [
        {"channel": "temperature", "preset": "tmp102"},
        {"channel": "vibration", "preset": "adxl345", "field": "z"},
    ]
    with build(fake_i2c, reads, clock=clock) as source:
        only_reading(source.read(5.0))
        accel = bus.detach(0x53)
        fault = source.read(5.0)
        assert len(fault) == 1 and isinstance(fault[0], SourceFault) and not fault[0].cleared
        message = fault[0].message
        assert "/dev/i2c-1 address 0x53 register 0x32" in message and "NACK" in message
        assert "Remote I/O error" in message and "check wiring/address" in message
        assert source.read(5.0) == [] and source.read(5.0) == []  # still failing: no new fault
        bus.attach(0x53, accel)
        accel.writes.clear()
        first, reading = source.read(5.0)
        assert isinstance(first, SourceFault) and first.cleared
        assert reading.values == pytest.approx((20.0, 0.9984))
        assert accel.writes == [(0x31, 0x0B), (0x2D, 0x08)]  # set up again: it may have lost power
        counts = source.counters()
    assert counts == {"reads": 2, "failed_reads": 3, "retries": 6, "faults": 1, "reopens": 0}


def test_a_vanished_bus_is_reopened(fake_i2c: Smbus2Kernel) -> None:
    bus = fake_i2c.adapter(1)
    bus.attach(0x48, tmp102(20.0))
    accel = bus.attach(0x53, adxl345(0, 0, 256))
    reads = [
        {"channel": "temperature", "preset": "tmp102"},
        {"channel": "vibration", "preset": "adxl345", "field": "z"},
    ]
    with build(fake_i2c, reads) as source:
        only_reading(source.read(5.0))
        bus.unplug()
        (fault,) = source.read(5.0)
        assert isinstance(fault, SourceFault) and "bus gone" in fault.message
        bus.plug()
        accel.writes.clear()
        cleared, reading = source.read(5.0)
        assert cleared.cleared and reading.values == pytest.approx((20.0, 0.9984))
        assert source.counters()["reopens"] == 1 and accel.writes == [(0x31, 0x0B), (0x2D, 0x08)]
        bus.errors = [errno.EIO]  # a glitch: reopened and retried within one reading, no fault
        only_reading(source.read(5.0))
        assert source.counters()["reopens"] == 2 and source.counters()["faults"] == 1
        assert fake_i2c.open_buses() == 1  # stale descriptors were closed
    assert fake_i2c.open_buses() == 0


def test_open_problems_are_clear(fake_i2c: Smbus2Kernel) -> None:
    reads = [
        {"channel": "temperature", "preset": "tmp102"},
        {"channel": "vibration", "preset": "adxl345", "field": "z"},
    ]
    with pytest.raises(ConfigError, match=r"/dev/i2c-7 does not exist; enable I2C .* check bus = 7"):
        build(fake_i2c, reads, bus=7).open()
    source = build(fake_i2c, reads)  # chips that do not answer yet are not an error at start: they are a fault
    source.open()
    (fault,) = source.read(1.0)
    assert isinstance(fault, SourceFault) and "address 0x48 register 0x00" in fault.message
    fake_i2c.adapter(1).attach(0x48, tmp102(19.0))
    fake_i2c.adapter(1).attach(0x53, adxl345(0, 0, 256))
    assert [type(item) for item in source.read(1.0)] == [SourceFault, Reading]
    source.close()
    source.close()


def test_readings_follow_a_monotonic_schedule(fake_i2c: Smbus2Kernel) -> None:
    fake_i2c.adapter(1).attach(0x48, tmp102(20.0))
    clock = FakeClock(start=1000.0)
    with build(
        fake_i2c, [{"channel": "temperature", "preset": "tmp102"}], ("temperature",), clock, period_s=2.0
    ) as source:
        only_reading(source.read(0.5))  # the first is due at once
        assert source.read(0.5) == [] and clock.sleeps[-1] == 0.5
        only_reading(source.read(5.0))
        assert clock.sleeps[-1] == pytest.approx(1.5) and clock.now == pytest.approx(1002.0)
        clock.now += 60.0  # a stall: one reading now, the next a period later, no burst
        only_reading(source.read(0.0))
        assert source.read(0.0) == []


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (
            {"channel": "vibration", "preset": "tmp102", "registr": 1},
            "reads[1] ('vibration'): unknown key 'registr'; allowed keys: channel, address, preset, field, register",
        ),
        (
            {"channel": "vibration", "preset": "lm75"},
            "reads[1] ('vibration'): preset is 'lm75'; it must be 'tmp102' or 'adxl345' or 'bme280' or 'bmp280'",
        ),
        ({"channel": "vibration", "preset": "adxl345"}, "reads[1] ('vibration'): adxl345 needs field = one of x, y, z"),
        ({"channel": "vibration", "preset": "adxl345", "field": "w"}, "field 'w' is not one of adxl345's: x, y, z"),
        ({"channel": "vibration", "preset": "tmp102", "register": 0}, "register are for raw reads; preset 'tmp102'"),
        (
            {"channel": "vibration", "address": 0x40},
            "needs preset = one of tmp102, adxl345, bme280, bmp280, or register",
        ),
        ({"channel": "vibration", "register": 0}, "needs address = 0x.."),
        ({"channel": "vibration", "address": 0x90, "register": 0}, "address 0x90 is not a 7-bit device address"),
        ({"channel": "vibration", "address": 0x40, "register": 0, "length": 5}, "length 5 must be 1..4 bytes"),
        (
            {"channel": "vibration", "address": 0x40, "register": 0, "byte_order": "middle"},
            "byte_order is 'middle'; it must be 'big' or 'little'",
        ),
        ({"channel": "temperature", "address": 0x40, "register": 0}, "channel 'temperature' is read twice"),
        (
            {"channel": "vibration", "preset": "adxl345", "address": 0x48, "field": "x"},
            "address 0x48 is given two presets",
        ),
    ],
)
def test_bad_read_entries_are_clear_config_errors(read: dict, message: str) -> None:
    data = {
        "model": {"path": str(FIXTURE_MODEL)},
        "sources": [
            {
                "type": "i2c",
                "sensor": "pump-1",
                "bus": 1,
                "reads": [{"channel": "temperature", "preset": "tmp102"}, read],
            }
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert str(caught.value).startswith("[[sources]] #1 (i2c): ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        (("temperature",), "missing: ['vibration']; not in the model: none"),
        (("temperature", "pressure"), "missing: ['vibration']; not in the model: ['pressure']"),
    ],
)
def test_channels_must_be_the_models(channels: tuple[str, ...], message: str) -> None:
    reads = [{"channel": c, "preset": "tmp102", "address": 0x48 + i} for i, c in enumerate(channels)]
    with pytest.raises(ConfigError) as caught:
        build(None, reads)
    text = str(caught.value)
    assert message in text and "the model has ['temperature', 'vibration']" in text
    with pytest.raises(ConfigError, match="reads is empty"):
        build(None, [])


def test_the_sample_builds_and_reads(fake_i2c: Smbus2Kernel) -> None:
    table = tomllib.loads(i2c.SAMPLE)["sources"][0]
    spec = load_spec(SOURCE_TYPES, "source", table, "sample")
    fake_i2c.adapter(1).attach(0x48, tmp102(23.5))
    fake_i2c.adapter(1).attach(0x53, adxl345(3, 2, 260))
    source = spec.build(context(period=300.0, hardware=fake_i2c.hardware()))
    assert source.describe() == (
        "i2c /dev/i2c-1 for motor-1 every 300 s: temperature@0x48 (tmp102), vibration@0x53 (adxl345 z)"
    )
    with source:
        assert only_reading(source.read(0.0)).values == pytest.approx((23.5, 1.014))
        assert source.probe(3.0) == "temperature=23.5, vibration=1.014"  # what edge-agent check prints
        fake_i2c.adapter(1).detach(0x48)
        with pytest.raises(ConfigError, match="address 0x48 register 0x00: no answer"):
            source.probe(3.0)


def test_end_to_end_readings_reach_the_detector(fake_i2c: Smbus2Kernel, tmp_path: Path) -> None:
    bus = fake_i2c.adapter(1)
    temperature = bus.attach(0x48, tmp102(20.0))
    accel = bus.attach(0x53, adxl345(0, 0, 256))
    data = {
        "agent": {"state_dir": str(tmp_path)},
        "model": {"path": str(FIXTURE_MODEL)},
        "sources": [
            {
                "type": "i2c",
                "sensor": "pump-1",
                "bus": 1,
                "period_s": 0.001,
                "reads": [
                    {"channel": "vibration", "preset": "adxl345", "field": "z"},
                    {"channel": "temperature", "preset": "tmp102", "address": 0x48},
                ],
            }
        ],
    }
    pipeline = build_pipeline(parse_config(data), hardware=fake_i2c.hardware())
    source, detector = pipeline.sources[0], pipeline.detectors["pump-1"]
    states = []
    with source:
        for i in range(40):
            temperature.set(0x00, tmp102(20 + 5 * math.sin(i / 7)).read(0x00, 2))
            accel.set(0x32, adxl345(0, 0, 256 + 20 * (i % 5)).read(0x32, 6))
            for item in source.read(1.0):
                scored = pipeline.handle(item)
                states.append(scored.state if scored else "fault")
        bus.detach(0x48)
        for item in source.read(1.0):
            pipeline.handle(item)
    assert states == ["warmup"] * 16 + ["scored"] * 24
    assert detector.counters.readings == 40 and detector.counters.scored == 24
    assert detector.counters.faults == 1 and "source" in detector.faults.active
    assert pipeline.last_readings["pump-1"].values[1] == pytest.approx(0.9984 + 0.0039 * 20 * 4)


def test_reads_as_an_array_of_tables_and_every_preset_is_configurable(fake_i2c: Smbus2Kernel) -> None:
    text = """
[[sources]]
type = "i2c"
sensor = "pump-1"
bus = 1
[[sources.reads]]
channel = "vibration"
address = 0x40
register = 0x02
length = 2
signed = true
byte_order = "little"
scale = 0.001
[[sources.reads]]
channel = "temperature"
preset = "tmp102"
"""
    spec = load_spec(SOURCE_TYPES, "source", tomllib.loads(text)["sources"][0], "[[sources]] #1")
    fake_i2c.adapter(1).attach(0x40).set(0x02, [0x18, 0xFC])  # -1000
    fake_i2c.adapter(1).attach(0x48, tmp102(30.0))
    with spec.build(context(hardware=fake_i2c.hardware())) as source:
        assert only_reading(source.read(0.0)).values == pytest.approx((30.0, -1.0))
        assert "vibration@0x40 (register 0x02)" in source.describe()
    assert set(get_args(PresetName)) == set(PRESETS)


def test_the_fake_behaves_like_an_adapter(fake_i2c: Smbus2Kernel) -> None:
    device = fake_i2c.adapter(1).attach(0x50)
    with smbus2.SMBus(1) as bus:
        bus.i2c_rdwr(smbus2.i2c_msg.write(0x50, [0x10, 0xAA, 0xBB]))  # pointer 0x10, then two bytes
        read = smbus2.i2c_msg.read(0x50, 3)
        bus.i2c_rdwr(smbus2.i2c_msg.write(0x50, [0x0F]), read)  # repeated start: auto-increment from 0x0F
        assert list(read) == [0, 0xAA, 0xBB] and device.writes == [(0x10, 0xAA), (0x11, 0xBB)]
        bus.write_word_data(0x50, 0x20, 0x1234)
        assert device.read(0x20, 2) == bytes([0x34, 0x12]) and bus.read_word_data(0x50, 0x20) == 0x1234
        with pytest.raises(OSError) as nack:
            bus.read_byte_data(0x51, 0x00)
        assert nack.value.errno == errno.EREMOTEIO == 121
        fake_i2c.adapter(1).unplug()
        with pytest.raises(FileNotFoundError):
            smbus2.SMBus(1)
        fake_i2c.adapter(1).plug()
        with pytest.raises(OSError) as stale:
            bus.read_byte_data(0x50, 0x10)
        assert stale.value.errno == errno.ENODEV  # a descriptor from before stays dead
        with smbus2.SMBus(1) as fresh:
            assert fresh.read_byte_data(0x50, 0x10) == 0xAA
