"""The gpio sink: modes, active_low, faults, line lookup and errors on fake chips; real gpiod against no chip."""

from __future__ import annotations

import sys
import time
import types
from dataclasses import replace
from pathlib import Path

import pytest

from edge.core.events import Alert, Event, Fault
from edge.errors import ConfigError, EdgeError
from edge.hardware import RealHardware
from edge.hardware.fake import FakeGpio, FakeHardware
from edge.plugins import SINK_TYPES, PluginContext, load_spec
from edge.running import RunningSink
from edge.sinks.delivery import DeliverySettings
from edge.sinks.gpio import Config, GpioSink


@pytest.fixture
def context(tmp_path: Path) -> PluginContext:
    return PluginContext(
        channels=("temperature", "vibration"),
        sample_period_s=300.0,
        model_sha256="0" * 64,
        state_dir=tmp_path,
        base_dir=tmp_path,
    )


@pytest.fixture
def gpio() -> FakeGpio:
    """Two chips named as on a Pi 5 with an older kernel: the header pins are on the second."""
    fake = FakeGpio()
    fake.add_chip("gpiochip0", ["ID_SDA", "ID_SCL", "SDA1"] + [""] * 10)
    fake.add_chip("gpiochip4", [f"GPIO{i}" for i in range(28)] + ["PCIE_RP1_WAKE"])
    return fake


def on(context: PluginContext, chips: FakeGpio | RealHardware) -> PluginContext:
    """The context on these fake chips, or on the machine's."""
    return replace(context, hardware=chips if isinstance(chips, RealHardware) else FakeHardware(gpio=chips))


def sink(gpio: FakeGpio, context: PluginContext, **keys: object) -> GpioSink:
    config = Config(**{"line": "GPIO17", **keys})  # type: ignore[arg-type]
    return GpioSink(config, on(context, gpio))


def alert(alert_id: str = "a1", sensor: str = "pump-1", kind: str = "alert") -> Event:
    subject = Alert(
        id=alert_id,
        sensor=sensor,
        channels=("temperature",),
        start=1.0,
        score=0.99,
        threshold=0.9,
        observed=(80.0,),
        expected=(70.0,),
        end=None if kind == "alert" else 2.0,
    )
    return Event(kind, subject, 1.0)  # type: ignore[arg-type]


def fault(kind: str = "nan", sensor: str = "pump-1", event: str = "fault", end: float | None = None) -> Event:
    return Event(event, Fault(sensor, kind, 1.0, "detail", end=end), 1.0)  # type: ignore[arg-type]


def test_level_is_on_while_any_alert_is_open(gpio, context) -> None:
    with sink(gpio, context) as out:
        out.send(alert("a1"))
        out.send(alert("a2", sensor="pump-2"))
        out.send(alert("a1", kind="clear"))
        gpio.line("GPIO17").assert_states([False, True])
        out.send(alert("a2", sensor="pump-2", kind="clear"))
        out.send(alert("unknown", kind="clear"))  # a clear for an alert raised before a reload
    gpio.line("GPIO17").assert_states([False, True, False])


def test_active_low_is_requested_and_inverts_the_physical_level(gpio, context) -> None:
    with sink(gpio, context, active_low=True, consumer="pump-room") as out:
        out.send(alert())
        out.send(alert(kind="clear"))
    assert gpio.requests == [("/dev/gpiochip4", 17, True, "pump-room")]
    line = gpio.line("GPIO17")
    line.assert_states([False, True, False])
    assert line.levels() == [True, False, True]


def test_pulse_is_on_for_pulse_ms_and_send_does_not_block(gpio, context) -> None:
    line = gpio.line("GPIO17")
    with sink(gpio, context, mode="pulse", pulse_ms=300) as out:
        out.send(alert())
        out.send(alert(kind="clear"))  # the pulse runs its course anyway
        line.assert_states([False, True])  # send returned while the pulse goes on
        assert line.wait_for(3)
    line.assert_states([False, True, False])
    assert line.durations()[1][0] is True and line.durations()[1][1] >= 0.3


def test_overlapping_pulses_make_one_longer_pulse(gpio, context) -> None:
    line = gpio.line("GPIO17")
    with sink(gpio, context, mode="pulse", pulse_ms=80) as out:
        out.send(alert("a1"))
        time.sleep(0.03)
        second = time.monotonic()
        out.send(alert("a2"))
        assert line.wait_for(3)
    line.assert_states([False, True, False])
    assert line.history[2][0] >= second + 0.08


def test_close_ends_a_running_pulse(gpio, context) -> None:
    out = sink(gpio, context, mode="pulse", pulse_ms=10_000)
    out.open()
    out.send(alert())
    out.close()
    gpio.line("GPIO17").assert_states([False, True, False])
    assert gpio.line("GPIO17").released


def test_latch_holds_until_reset_and_a_new_sink_starts_off(gpio, context) -> None:
    line = gpio.line("GPIO17")
    with sink(gpio, context, mode="latch") as out:
        out.send(alert("a1"))
        out.send(alert("a1", kind="clear"))
        line.assert_states([False, True])
        out.reset()
        out.send(alert("a2"))
        line.assert_states([False, True, False, True])
    with sink(gpio, context, mode="latch"):  # a restart or a SIGHUP reload builds a new sink
        line.assert_states([False, True, False, True, False])


def test_only_the_listed_sensors_drive_the_lines(gpio, context) -> None:
    """``sensors`` is a key of the running wrapper, so the gpio sink (as every sink) gets it."""
    with sink(gpio, context, fault_line="GPIO27") as lamp:
        out = RunningSink(lamp, DeliverySettings(sensors=["pump-1"]))
        out.send(alert("b1", sensor="pump-2"))
        out.send(fault(sensor="pump-2"))
        out.flush()
        gpio.line("GPIO17").assert_states([False])
        gpio.line("GPIO27").assert_states([False])
        out.send(alert("a1", sensor="pump-1"))
        out.flush()
        gpio.line("GPIO17").assert_states([False, True])


def test_fault_line_is_on_while_a_fault_is_active_and_blinks_for_a_gap(gpio, context) -> None:
    alarm, faults = gpio.line("GPIO17"), gpio.line("GPIO27")
    with sink(gpio, context, fault_line="GPIO27", pulse_ms=30) as out:
        out.send(fault("nan"))
        out.send(fault("stale"))
        out.send(fault("nan", event="fault_cleared", end=2.0))
        faults.assert_states([False, True])
        out.send(fault("stale", event="fault_cleared", end=3.0))
        faults.assert_states([False, True, False])
        out.send(fault("time_gap", end=5.0))  # over when reported: a blink
        assert faults.wait_for(5)
        alarm.assert_states([False])
    faults.assert_states([False, True, False, True, False])
    assert faults.durations()[3][1] >= 0.03


def test_faults_without_a_fault_line_are_ignored(gpio, context) -> None:
    with sink(gpio, context) as out:
        out.send(fault("nan"))
        out.send(fault("nan", event="fault_cleared", end=2.0))
    gpio.line("GPIO17").assert_states([False])


def test_close_turns_off_and_releases_both_lines_twice_safely(gpio, context) -> None:
    out = sink(gpio, context, fault_line="GPIO27")
    out.open()
    out.send(alert())
    out.send(fault())
    out.close()
    out.close()
    for name in ("GPIO17", "GPIO27"):
        gpio.line(name).assert_states([False, True, False])
        assert gpio.line(name).released
    with pytest.raises(EdgeError, match="not opened"):
        out.send(alert())


def test_a_failed_open_releases_the_line_it_already_had(gpio, context) -> None:
    gpio.line("GPIO27").busy_with = "another-daemon"
    out = sink(gpio, context, fault_line="GPIO27")
    with pytest.raises(EdgeError, match=r"GPIO line 27 of /dev/gpiochip4 is in use by another program"):
        out.open()
    assert gpio.line("GPIO17").released
    gpio.line("GPIO17").assert_states([False])
    out.close()


def test_a_name_is_found_on_whichever_chip_has_it(gpio, context) -> None:
    out = sink(gpio, context, line="GPIO4", fault_chip="gpiochip0", fault_offset=12)
    with out:
        pass
    assert [r[:2] for r in gpio.requests] == [("/dev/gpiochip4", 4), ("/dev/gpiochip0", 12)]
    assert out.describe() == "gpio GPIO4 (level), faults on gpiochip0:12"


@pytest.mark.parametrize("chip", ["gpiochip4", "/dev/gpiochip4"])
def test_chip_by_name_or_path_and_offset(gpio, context, chip: str) -> None:
    with sink(gpio, context, line=None, chip=chip, offset=3, mode="pulse", active_low=True) as out:
        assert out.describe() == f"gpio {chip}:3 (pulse 500 ms, active-low)"
    assert gpio.requests == [("/dev/gpiochip4", 3, True, "edge-agent")]


@pytest.mark.parametrize(
    ("keys", "setup", "message"),
    [
        (
            {"line": "GPIO99"},
            None,
            "no GPIO line named 'GPIO99' on any of /dev/gpiochip0, /dev/gpiochip4; list them with gpioinfo",
        ),
        (
            {"line": None, "chip": "gpiochip9", "offset": 17},
            None,
            "GPIO chip /dev/gpiochip9 does not exist (chips here: /dev/gpiochip0, /dev/gpiochip4); chip numbers differ",
        ),
        (
            {"line": None, "chip": "gpiochip0", "offset": 40},
            None,
            "GPIO chip /dev/gpiochip0 has no line 40 (it has lines 0 to 12)",
        ),
        (
            {"fault_chip": "gpiochip4", "fault_offset": 17},
            None,
            "fault line and alert line are both line 17 of /dev/gpiochip4",
        ),
        ({}, "permission", "no permission to use GPIO /dev/gpiochip0: add the user running edge-agent to group gpio"),
        ({}, "busy", "GPIO line 17 of /dev/gpiochip4 is in use by another program (gpioinfo shows its consumer)"),
    ],
)
def test_hardware_errors_name_the_chip_the_line_and_the_fix(gpio, context, keys, setup, message) -> None:
    if setup == "permission":
        gpio.chip_map["/dev/gpiochip0"].permission_denied = True
    elif setup == "busy":
        gpio.line("GPIO17").busy_with = "another-daemon"
    out = sink(gpio, context, **keys)
    with pytest.raises(EdgeError) as caught:
        out.open()
    assert message in str(caught.value)
    # a ConfigError makes `edge-agent run` exit 78 (no restart loop); a busy line may be released, so it is not one
    assert isinstance(caught.value, ConfigError) == (setup != "busy")
    assert all(line.released or not line.requested for chip in gpio.chip_map.values() for line in chip.lines)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, 'needs line = "GPIO17" (a line name, found on any chip) or chip = "gpiochip0" + offset'),
        ({"line": "GPIO17", "chip": "gpiochip0"}, "give line (a line name) or chip + offset, not both"),
        ({"chip": "gpiochip0"}, "chip and offset go together"),
        ({"offset": 4}, "chip and offset go together"),
        ({"chip": "gpiochip0", "offset": -1}, "offset -1 must be 0 or more"),
        ({"line": ""}, "line is empty"),
        (
            {"line": "GPIO17", "fault_line": "GPIO27", "fault_offset": 3},
            "give fault_line (a line name) or fault_chip + ",
        ),
        ({"line": "GPIO17", "fault_chip": "gpiochip0"}, "fault_chip and fault_offset go together"),
        ({"line": "GPIO17", "fault_line": "GPIO17"}, "fault_line 'GPIO17' is also line"),
        ({"line": "GPIO17", "pulse_ms": 0}, "pulse_ms 0 must be at least 1"),
        ({"line": "GPIO17", "sensors": []}, "sensors = [] watches no sensor"),
        ({"line": "GPIO17", "mode": "blink"}, "mode is 'blink'; it must be 'level' or 'pulse' or 'latch'"),
    ],
)
def test_bad_keys_are_config_errors(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_spec(SINK_TYPES, "sink", {"type": "gpio", **table}, "[[sinks]] #1")
    assert message in str(caught.value)
    assert str(caught.value).startswith("[[sinks]] #1 (gpio): ")


def test_the_sample_opens_on_a_pi(gpio, context) -> None:
    import tomllib

    from edge.sinks.gpio import SAMPLE

    spec = load_spec(SINK_TYPES, "sink", tomllib.loads(SAMPLE)["sinks"][0], "sample")
    with GpioSink(spec.config, on(context, gpio)) as out:
        out.send(alert())
    gpio.line("GPIO17").assert_states([False, True, False])


def test_without_gpiod_the_sink_builds_and_opening_says_what_to_install(context, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gpiod", None)
    out = GpioSink(Config(line="GPIO17"), context)
    assert out.describe() == "gpio GPIO17 (level)"
    with pytest.raises(EdgeError, match=r"pip install 'edge-anomaly\[gpio\]'"):
        out.open()
    out.close()
    old = types.ModuleType("gpiod")
    old.__version__ = "1.6.3"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gpiod", old)
    with pytest.raises(EdgeError, match=r"gpiod 1.6.3 is libgpiod v1's binding .* pip install 'gpiod>=2'"):
        out.open()


def test_real_gpiod_names_a_missing_chip(context, tmp_path: Path) -> None:
    pytest.importorskip("gpiod")
    missing = tmp_path / "gpiochip-missing"
    backend = RealHardware(dev=tmp_path)
    with pytest.raises(FileNotFoundError):
        backend.gpio.request_output(str(missing), 3, active_low=False, consumer="test")
    out = GpioSink(Config(chip=str(missing), offset=3), on(context, backend))
    with pytest.raises(ConfigError) as caught:
        out.open()
    assert f"GPIO chip {missing} does not exist (chips here: none)" in str(caught.value)
    out.close()
    (tmp_path / "not-a-chip").write_text("")
    with pytest.raises(ConfigError, match=r"not-a-chip is not a GPIO chip"):
        GpioSink(Config(chip=str(tmp_path / "not-a-chip"), offset=0), on(context, backend)).open()


def test_real_gpiod_without_chips_finds_no_line(context, tmp_path: Path) -> None:
    pytest.importorskip("gpiod")
    assert isinstance(RealHardware().gpio.chips(), list)  # whatever this machine has, listing does not crash
    backend = RealHardware(dev=tmp_path)
    (tmp_path / "gpiochip0").write_text("")  # a file named like a chip is not one
    assert backend.gpio.chips() == []
    with pytest.raises(ConfigError, match=r"no GPIO line named 'GPIO17': no GPIO chips found"):
        GpioSink(Config(line="GPIO17"), on(context, backend)).open()
