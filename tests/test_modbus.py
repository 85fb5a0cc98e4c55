"""The modbus source: register decoding and request planning (properties), config errors, and end to end
against pymodbus's RTU serial server on a pseudo-terminal pair (``firmware_bridge.modbus_sim``)."""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config import parse_config
from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError
from edge.hardware.fake import FakeHardware
from edge.plugins import SOURCE_TYPES, PluginContext, load_spec
from edge.sources.modbus import Config, ModbusSource
from edge.sources.modbus.plan import MAX_REGISTERS, plan_requests
from edge.sources.modbus.registers import FORMATS, RegisterSpec, decode, encode

pytest.importorskip("pymodbus", reason="the modbus extra (pip install 'edge-anomaly[modbus]')")

from firmware_bridge.modbus_sim import ModbusFaults, ModbusSim, RegisterLayout  # noqa: E402
from firmware_bridge.sim import main as sim_main  # noqa: E402

CHANNELS = ("temperature", "vibration")
VALUES = [21.37, 1.25]
ORDERS = st.sampled_from(["big", "little"])
Items = list[Reading | SourceFault]


# -- register decoding and request planning ---------------------------------------------------------------


def _raw(kind: str) -> st.SearchStrategy[float]:
    if kind == "float32":
        return st.floats(width=32, allow_nan=False)
    bits = 16 * FORMATS[kind][1]
    signed = kind.startswith("int")
    return st.integers(-(1 << (bits - 1)) if signed else 0, (1 << (bits - signed)) - 1).map(float)


@given(st.sampled_from(sorted(FORMATS)).flatmap(lambda k: st.tuples(st.just(k), _raw(k))), ORDERS, ORDERS)
def test_every_type_and_order_round_trips(kind_value, word_order, byte_order) -> None:
    kind, value = kind_value
    words = encode(value, kind, word_order, byte_order)
    assert len(words) == FORMATS[kind][1] and all(0 <= w <= 0xFFFF for w in words)
    assert decode(words, kind, word_order, byte_order) == value


@settings(deadline=None)  # the first example imports pymodbus: slow under qemu-aarch64
@given(st.sampled_from(sorted(FORMATS)), st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2), ORDERS)
def test_decoding_agrees_with_pymodbus(kind, words, word_order) -> None:
    from pymodbus.client import ModbusSerialClient as Client

    words = words[: FORMATS[kind][1]]
    theirs = Client.convert_from_registers(words, getattr(Client.DATATYPE, kind.upper()), word_order)
    mine = decode(words, kind, word_order, "big")
    assert mine == theirs or (math.isnan(mine) and math.isnan(theirs))


def _spans(draw_gaps: list[tuple[int, str]]) -> list[RegisterSpec]:
    specs, address = [], 0
    for i, (gap, kind) in enumerate(draw_gaps):
        address += gap
        specs.append(RegisterSpec(f"c{i}", address, kind, function="input" if gap == 3 else "holding"))
        address += FORMATS[kind][1]
    return specs


@given(st.lists(st.tuples(st.sampled_from([0, 0, 0, 1, 3, 7]), st.sampled_from(sorted(FORMATS))), max_size=300))
def test_the_plan_reads_every_mapped_register_exactly_once_and_nothing_else(gaps) -> None:
    specs = _spans(gaps)
    blocks = plan_requests(specs)
    for function in ("holding", "input"):
        wanted = [r for s in specs if s.function == function for r in range(s.address, s.address + s.width)]
        read = [r for b in blocks if b.function == function for r in range(b.start, b.end)]
        assert sorted(read) == sorted(wanted)  # no register twice, none missing, no gap read
    assert all(1 <= b.count <= MAX_REGISTERS for b in blocks)
    for spec in specs:  # each value in one request, whole
        (block,) = [b for b in blocks if spec in b.specs]
        assert (
            block.function == spec.function and block.start <= spec.address and spec.address + spec.width <= block.end
        )


@given(st.integers(1, 600))
def test_a_contiguous_run_takes_as_few_requests_as_the_limit_allows(count) -> None:
    specs = [RegisterSpec(f"c{i}", i, "uint16", function="holding") for i in range(count)]
    assert len(plan_requests(specs)) == math.ceil(count / MAX_REGISTERS)


# -- config -----------------------------------------------------------------------------------------------


def context(hardware: FakeHardware | None = None, channels=CHANNELS) -> PluginContext:
    return PluginContext(
        channels, 1.0, "0" * 64, Path("/tmp"), Path("/tmp"), **({"hardware": hardware} if hardware else {})
    )


def registers(kind: str = "float32", second: int = 2, **keys) -> list[dict]:
    return [
        {"channel": "vibration", "address": second, "type": kind, "unit": "mm/s", **keys},
        {"channel": "temperature", "address": 0, "type": kind, "unit": "degC", **keys},
    ]


def build(table: dict, channels=CHANNELS) -> ModbusSource:
    full = {"type": "modbus", "sensor": "pump-3", "port": "/dev/ttyUSB0", "slave": 3, "registers": registers(), **table}
    source = load_spec(SOURCE_TYPES, "source", full, "[[sources]] 1").build(context(channels=channels))
    assert isinstance(source, ModbusSource)
    return source


def test_the_map_must_name_the_models_channels() -> None:
    with pytest.raises(ConfigError) as error:
        build({}, channels=("temperature", "flow"))
    message = str(error.value)
    assert "['vibration', 'temperature']" in message and "['temperature', 'flow']" in message
    assert "missing: ['flow']" in message and "not in the model: ['vibration']" in message


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({"registers": registers("int8")}, "registers[0] ('vibration'): type is 'int8'; it must be 'int16' or"),
        ({"slave": 0}, "slave = 0 must be a slave id 1-247"),
        ({"slave": 248}, "slave = 248 must be a slave id 1-247"),
        ({"registers": registers(second=65535)}, "address 65535 must be 0-65534 for float32"),
        ({"registers": registers(second=0)[:1] * 2}, "channel 'vibration' is mapped twice"),
        ({"parity": "X"}, "parity is 'X'; it must be 'N' or 'E' or 'O'"),
        ({"registers": []}, "registers is empty"),
    ],
)
def test_config_errors_say_what_is_wrong(table: dict, says: str) -> None:
    with pytest.raises(ConfigError, match="^" + r"\[\[sources\]\] 1 \(modbus\): " + ".*" + re.escape(says)):
        build(table)


def test_describe_units_and_the_plan() -> None:
    source = build({"parity": "E"})
    assert source.describe() == "modbus /dev/ttyUSB0 slave 3 (19200 8E1) for pump-3"
    assert source.units() == ("degC", "mm/s")  # the model's order
    assert [b.describe() for b in source.blocks] == ["holding registers 0-3 (temperature, vibration)"]


# -- over the fake serial seam ----------------------------------------------------------------------------


def test_over_the_fake_seam_the_port_gets_the_framing_and_a_silent_slave_is_a_timeout() -> None:
    from pymodbus.framer import FramerRTU
    from pymodbus.pdu import DecodePDU
    from pymodbus.pdu.register_message import ReadHoldingRegistersResponse

    hardware = FakeHardware()
    device = hardware.serial.attach("/dev/ttyUSB0")
    words = [w for value in VALUES for w in encode(value, "float32")]
    framer = FramerRTU(DecodePDU(is_server=False))
    device.respond = lambda _request: framer.buildFrame(ReadHoldingRegistersResponse(registers=words, dev_id=3))
    config = Config(sensor="pump-3", port="/dev/ttyUSB0", slave=3, registers=registers(), poll_s=0.01, timeout_s=0.1)
    source = ModbusSource(config, context(hardware))
    (reading,) = read_until(source, lambda items: any(isinstance(i, Reading) for i in items))
    assert reading.values == pytest.approx(VALUES) and device.framings == ["8E1"]
    device.respond = None
    faults = read_until(source, lambda items: any(isinstance(i, SourceFault) for i in items))
    assert "no answer to holding registers 0-3 (temperature, vibration) within 0.1 s" in faults[0].message
    assert source.counters()["timeouts"] == 1
    source.close()
    source.close()


# -- end to end: pymodbus's serial server on a pty pair ---------------------------------------------------


def constant(values=VALUES) -> Iterator[list[float]]:
    return (list(values) for _ in itertools.repeat(None))


@contextmanager
def slave(
    tmp_path: Path, layout: RegisterLayout | None = None, faults: ModbusFaults | None = None, values=None
) -> Iterator[ModbusSim]:
    layout = layout or RegisterLayout(CHANNELS, ("degC", "mm/s"))
    sim = ModbusSim(
        layout,
        values or constant(),
        slave=3,
        rate=100.0,
        link=tmp_path / "tty" / "modbus",
        faults=faults or ModbusFaults(),
        seed=5,
    )
    thread = threading.Thread(target=sim.run, daemon=True)
    thread.start()
    assert sim.ready.wait(5), "the pymodbus server did not start"
    try:
        yield sim
    finally:
        sim.stop.set()
        thread.join(5)


def sim_source(sim: ModbusSim, **keys) -> ModbusSource:
    """The source the simulator's --print-config table describes, polling fast."""
    table = tomllib.loads(sim.layout.source_table(str(sim.link), sim.slave, 19200, "pump-3"))["sources"][0]
    table.update({"poll_s": 0.02, "timeout_s": 0.1, "reconnect_initial_s": 0.02, "reconnect_max_s": 0.1, **keys})
    source = load_spec(SOURCE_TYPES, "source", table, "sim").build(context())
    assert isinstance(source, ModbusSource)
    return source


def read_until(source: ModbusSource, done: Callable[[Items], bool], limit_s: float = 1.5) -> Items:
    """Everything read, in order, until ``done(items)`` holds (each read waits at most 0.05 s)."""
    items: Items = []
    deadline = time.monotonic() + limit_s
    while not done(items):
        assert time.monotonic() < deadline, f"gave up after {limit_s} s: {items[-5:]}, {source.counters()}"
        items += source.read(0.05)
    return items


def readings(items: Items) -> list[Reading]:
    return [i for i in items if isinstance(i, Reading)]


def faults_of(items: Items) -> list[SourceFault]:
    return [i for i in items if isinstance(i, SourceFault)]


def reading_after_clear(items: Items) -> bool:
    """A cleared fault came, and a reading after it."""
    cleared = [n for n, i in enumerate(items) if isinstance(i, SourceFault) and i.cleared]
    return bool(cleared) and any(isinstance(i, Reading) for i in items[cleared[0] :])


@pytest.mark.parametrize(
    ("kind", "scale", "word_order", "byte_order"),
    [
        ("float32", 1.0, "little", "big"),
        ("int16", 0.01, "big", "little"),
        ("uint32", 0.001, "big", "big"),
        ("int32", 0.5, "little", "little"),
    ],
)
def test_readings_arrive_with_the_right_values(tmp_path: Path, kind, scale, word_order, byte_order) -> None:
    layout = RegisterLayout(CHANNELS, ("degC", "mm/s"), kind, 10, scale, word_order, byte_order)
    with slave(tmp_path, layout) as sim:
        source = sim_source(sim, registers=[{**e, "offset": 0.0} for e in sim_source(sim).config.registers])
        source.open()
        assert source.probe(1.0).startswith("temperature=")
        readings = read_until(source, lambda items: sum(isinstance(i, Reading) for i in items) >= 3)
        source.close()
    tolerance = scale / 2 + 1e-4
    assert all(r.values == pytest.approx(VALUES, abs=tolerance) for r in readings if isinstance(r, Reading))
    counters = source.counters()
    assert counters["readings"] >= 3 and counters["timeouts"] == counters["crc_errors"] == counters["exceptions"] == 0


def test_a_slave_that_stops_answering_is_one_fault_then_cleared(tmp_path: Path) -> None:
    with slave(tmp_path, faults=ModbusFaults(silent_every=3, silent_ms=300)) as sim:
        source = sim_source(sim)
        items = read_until(source, reading_after_clear)
        source.close()
    first, cleared = faults_of(items)[:2]
    assert first.message == (
        f"modbus {sim.link} slave 3: no answer to holding registers 0-3 (temperature, vibration) within 0.1 s; "
        "check wiring (A/B swapped?), termination, 19200 8N1 and the slave id"
    )
    assert cleared.cleared and cleared.message == f"modbus {sim.link} slave 3 answers again"
    assert len(readings(items)) >= 4  # three before the silence, one after
    counters = source.counters()
    assert counters["timeouts"] >= 1 and counters["faults"] == 1 and counters["crc_errors"] == 0  # one line a streak


def test_wrong_crcs_are_crc_errors_not_timeouts(tmp_path: Path) -> None:
    with slave(tmp_path, faults=ModbusFaults(bad_crc_rate=0.5)) as sim:
        source = sim_source(sim)
        items = read_until(source, lambda got: source.counters()["crc_errors"] >= 3 and reading_after_clear(got))
        source.close()
    message = faults_of(items)[0].message
    assert message.startswith(f"modbus {sim.link} slave 3: bad CRC in the answer to holding registers 0-3")
    assert "check termination" in message
    counters = source.counters()
    assert counters["timeouts"] == 0 and counters["crc_errors"] == sim.stats.bad_crc  # every spoiled answer
    assert counters["readings"] + counters["crc_errors"] == counters["polls"]


def test_a_register_the_slave_lacks_is_an_exception_and_its_channel_nan(tmp_path: Path) -> None:
    with slave(tmp_path) as sim:
        entries = sim_source(sim).config.registers
        source = sim_source(sim, registers=[entries[0], {**entries[1], "address": 100}])
        items = read_until(source, lambda got: len(readings(got)) >= 2)
        with pytest.raises(ConfigError, match="illegal data address"):
            source.probe(1.0)
        source.close()
    (fault,) = faults_of(items)
    assert fault.message == (
        f"modbus {sim.link} slave 3: exception 2 (illegal data address) for holding registers 100-101 (vibration); "
        "check the register map's addresses against the device's manual"
    )
    temperature, vibration = readings(items)[0].values
    assert temperature == pytest.approx(VALUES[0]) and math.isnan(vibration)
    assert source.counters()["exceptions"] >= 2 and source.counters()["timeouts"] == 0


def test_a_vanished_port_is_reopened_with_back_off(tmp_path: Path) -> None:
    with slave(tmp_path) as sim:
        source = sim_source(sim)
        read_until(source, lambda got: len(readings(got)) >= 1)
        sim.unplug()
        lost = read_until(source, lambda got: bool(faults_of(got)))
        time.sleep(0.15)  # a few reopen attempts fail (no link) meanwhile
        read_until(source, lambda got: source.counters()["open_failures"] >= 1)
        sim.plug()
        back = read_until(source, reading_after_clear)
        source.close()
    message = faults_of(lost)[0].message  # EIO, or pyserial's "readable but no data", as the pty closed
    assert message.startswith(f"modbus port {sim.link} lost (") and message.endswith("); reopening")
    assert faults_of(back)[-1].message == f"modbus {sim.link} slave 3 answers again"
    counters = source.counters()
    assert counters["disconnects"] == counters["reconnects"] == 1 and counters["open_failures"] >= 1


def test_a_port_that_does_not_open_is_a_fault_and_check_says_why(tmp_path: Path) -> None:
    source = build({"port": str(tmp_path / "nothing")})
    source.open()
    (fault,) = source.read(0.01)
    assert (
        isinstance(fault, SourceFault)
        and "cannot be opened: No such file or directory; check the cable" in fault.message
    )
    with pytest.raises(ConfigError, match="cannot be opened"):
        source.probe(0.1)


def test_the_simulators_printed_config_runs_in_the_agents_config(tmp_path: Path, capsys) -> None:
    argv = ["--modbus", "--slave", "3", "--link", str(tmp_path / "tty"), "--register-type", "int16", "--scale", "0.01"]
    assert sim_main([*argv, "--print-config"]) == 0
    text = capsys.readouterr().out
    config = parse_config({"model": {"path": str(FIXTURE_MODEL)}, **tomllib.loads(text)})
    (spec,) = config.sources
    assert spec.type == "modbus" and spec.config.slave == 3 and spec.config.registers[1]["scale"] == 0.01
