"""The hardware seam: the real one opens real devices and imports their libraries only then; the fakes fail as they do."""

from __future__ import annotations

import errno
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL

from edge.cli import main
from edge.hardware import RealHardware
from edge.hardware.fake import FakeClock, FakeHardware
from edge.hardware.fake.serial import FakeSerial


def test_real_hardware_imports_no_hardware_library_until_a_device_is_opened() -> None:
    code = """
        import sys
        from edge.hardware import RealHardware
        hardware = RealHardware()
        hardware.clock.monotonic()
        print(sorted(m for m in ("serial", "smbus2", "gpiod") if m in sys.modules))
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_real_serial_is_pyserial_on_a_pty_pair() -> None:
    controller, device = pty.openpty()
    try:
        port = RealHardware().open_serial(os.ttyname(device), 115200)
        try:
            os.write(controller, b"21.5,0.3\n")
            assert port.read(64) == b"21.5,0.3\n"
            port.write(b"ping")
            assert os.read(controller, 4) == b"ping"
            with pytest.raises(OSError):  # exclusive: a second open is refused
                RealHardware().open_serial(os.ttyname(device), 115200)
        finally:
            port.close()
    finally:
        os.close(controller)
        os.close(device)


def test_a_real_bus_that_does_not_exist_is_enoent() -> None:
    pytest.importorskip("smbus2")
    with pytest.raises(OSError) as caught:
        RealHardware().open_i2c(987)
    assert caught.value.errno == errno.ENOENT


def test_fake_serial_fails_as_a_usb_adapter_does() -> None:
    serial = FakeSerial()
    with pytest.raises(OSError) as absent:
        serial.open("/dev/ttyUSB0", 115200)
    assert absent.value.errno == errno.ENOENT
    device = serial.attach("/dev/ttyUSB0")
    port = serial.open("/dev/ttyUSB0", 9600)
    with pytest.raises(OSError) as held:
        serial.open("/dev/ttyUSB0", 9600)
    assert held.value.errno == errno.EBUSY and device.baudrates == [9600]
    assert port.read(8) == b""  # nothing sent: the read times out empty
    device.respond = lambda written: written.upper()  # a device that answers
    port.write(b"hello")
    assert device.received == b"hello" and port.read(3) == b"HEL" and port.in_waiting == 2
    device.unplug()
    for action in (lambda: port.read(1), lambda: port.write(b"x"), lambda: port.in_waiting):
        with pytest.raises(OSError) as gone:
            action()
        assert gone.value.errno == errno.EIO
    with pytest.raises(OSError):
        serial.open("/dev/ttyUSB0", 9600)
    device.plug()
    with pytest.raises(OSError):
        port.read(1)  # a port opened before the unplug stays dead
    port.close()
    fresh = serial.open("/dev/ttyUSB0", 9600)
    device.send(b"ok")
    assert fresh.read(8) == b"ok"
    fresh.close()
    fresh.close()
    with pytest.raises(ValueError):
        fresh.read(1)  # as pyserial: a closed port is a ValueError


def test_the_fake_pi_and_its_clock() -> None:
    clock = FakeClock(start=5.0, epoch=100.0)
    hardware = FakeHardware.raspberry_pi(clock)
    assert hardware.gpio.chips() == ["/dev/gpiochip0"] and "GPIO27" in hardware.gpio.line_names("/dev/gpiochip0")
    bus = hardware.open_i2c(1)
    with pytest.raises(OSError) as nack:
        bus.read_i2c_block_data(0x48, 0, 2)
    assert nack.value.errno == errno.EREMOTEIO
    with pytest.raises(OSError) as long_block:
        bus.read_i2c_block_data(0x48, 0, 33)
    assert long_block.value.errno == errno.EINVAL
    bus.close()
    with pytest.raises(OSError) as twice:
        bus.close()
    assert twice.value.errno == errno.EBADF
    with pytest.raises(FileNotFoundError):
        hardware.open_i2c(2)
    hardware.clock.sleep(1.5)
    assert (hardware.clock.monotonic(), hardware.clock.time()) == (6.5, 106.5)
    with pytest.raises(ValueError):
        hardware.clock.sleep(-1)


def test_run_with_fake_hardware_drives_a_fake_pi_s_lines(tmp_path: Path, capsys) -> None:
    """``edge-agent run --fake-hardware`` on a laptop: a config with a gpio sink runs, and its lamp's changes are logged."""
    case = Path(__file__).parent / "cases" / "gpio_alert_and_fault_lines"
    text = (case / "config.toml").read_text()
    text = text.replace('"../../fixtures/model.onnx"', repr(str(FIXTURE_MODEL))).replace(
        '"input.csv"', repr(str(case / "input.csv"))
    )
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nstate_dir = "{tmp_path}/state"\nruntime_dir = "{tmp_path}/run"\n\n' + text)
    assert main(["run", "--config", str(config), "--fake-hardware"]) == 0
    err = capsys.readouterr().err
    assert "fake GPIO GPIO17 (line 17 of /dev/gpiochip0): active" in err
    assert "fake GPIO GPIO27 (line 27 of /dev/gpiochip0): active" in err
    assert main(["run", "--config", str(config)]) == 78  # without the flag: the machine's chips, none here
    err = capsys.readouterr().err  # no chip here (or, on a sysroot without gpiod, no gpiod to open one)
    assert "no GPIO line named 'GPIO17'" in err or "the gpio sink needs libgpiod" in err
