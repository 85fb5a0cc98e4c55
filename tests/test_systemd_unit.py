"""The systemd unit and its install path, checked with systemd's own tools.

``systemd/install.sh --root`` installs into a staging folder for real (a venv with the package from
this checkout, users from sysusers.d, files from tmpfiles.d, the unit enabled); ``systemd-analyze
verify`` and ``systemd-analyze security --offline=yes`` judge the unit. Booting it under systemd is
the on-demand system test (tools/nspawn/system-test.sh).
"""

from __future__ import annotations

import grp
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL

from edge.cli import EXIT_CONFIG
from edge.config import load_config

PROJECT = Path(__file__).resolve().parents[1]
UNIT = PROJECT / "systemd" / "edge-anomaly.service"
INSTALL = PROJECT / "systemd" / "install.sh"
MAX_EXPOSURE = 2.0


def unit_settings(path: Path = UNIT) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, in order, keyed by name (systemd allows repeats)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def empty_root(folder: Path) -> Path:
    """A staging root with a Debian-like /etc/passwd and /etc/group (root, dialout) to install into."""
    (folder / "etc").mkdir(parents=True)
    (folder / "usr" / "local" / "bin").mkdir(parents=True)
    (folder / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (folder / "etc" / "group").write_text("root:x:0:\ndialout:x:20:\n")
    return folder


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real install (venv and all) into a staging root."""
    root = empty_root(tmp_path_factory.mktemp("stage"))
    result = run(INSTALL, "--root", root, "--model", FIXTURE_MODEL, "--extras", "mqtt")
    assert "enabled edge-anomaly.service" in result.stdout
    yield root


def test_unit_verifies_cleanly_as_installed(staged: Path, tmp_path: Path) -> None:
    # systemd-analyze verify needs the ExecStart binary and the system's targets: check the installed
    # unit on this host with its prefix pointed at the staged venv (what install.sh --prefix does)
    installed = (staged / "etc/systemd/system/edge-anomaly.service").read_text()
    unit = tmp_path / "edge-anomaly.service"
    unit.write_text(installed.replace("/opt/edge-anomaly", f"{staged}/opt/edge-anomaly"))
    result = run("systemd-analyze", "verify", unit, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "edge-anomaly.service"
    broken.write_text(
        UNIT.read_text().replace("WatchdogSec=", "WatchdogSecs=").replace("/opt/edge-anomaly", "/nowhere")
    )
    result = run("systemd-analyze", "verify", broken, check=False)
    assert "Unknown key 'WatchdogSecs'" in result.stderr and "/nowhere/venv/bin/edge-agent" in result.stderr


def test_exposure_is_at_most_2_and_ok() -> None:
    result = run("systemd-analyze", "security", "--offline=yes", "--threshold=20", UNIT, check=False)
    found = re.search(r"Overall exposure level for edge-anomaly.service: (\d+\.\d) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert result.returncode == 0 and float(found[1]) <= MAX_EXPOSURE and found[2] == "OK"


def test_unit_has_what_the_runtime_needs_and_avoids_what_breaks_it() -> None:
    unit = unit_settings()
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"] and unit["WatchdogSec"]
    assert unit["Restart"] == ["on-failure"] and unit["RestartPreventExitStatus"] == [str(EXIT_CONFIG)]
    assert unit["ExecReload"] == ["/opt/edge-anomaly/venv/bin/edge-agent reload --pid $MAINPID"]  # waits for verdict
    assert unit["User"] == ["edge-anomaly"] and unit["SupplementaryGroups"] == ["dialout i2c gpio"]
    assert {"StateDirectory", "RuntimeDirectory", "ConfigurationDirectory"} <= set(unit)
    assert unit["ProtectSystem"] == ["strict"]
    assert "AF_UNIX" in unit["RestrictAddressFamilies"][0]  # sd_notify and journald
    # devices by class: a path is resolved once at start, and a replugged adapter then gets EPERM
    assert unit["DeviceAllow"] and all(rule.startswith("char-") for rule in unit["DeviceAllow"])
    assert {"char-ttyUSB rw", "char-ttyACM rw", "char-i2c rw", "char-gpiochip rw"} <= set(unit["DeviceAllow"])
    assert unit.get("PrivateDevices", ["no"]) == ["no"]  # it would hide the serial ports
    assert unit.get("ProcSubset", ["all"]) == ["all"]  # pid hides /proc/cpuinfo from onnxruntime
    assert unit.get("PrivateUsers", ["no"]) == ["no"]  # the device groups would map to nobody
    # loopback only; the drop-in edge-agent network-policy writes adds the configured broker
    assert (unit["IPAddressDeny"], unit["IPAddressAllow"]) == (["any"], ["localhost"])


def test_install_places_everything_with_the_right_owners(staged: Path) -> None:
    etc = staged / "etc" / "edge-anomaly"
    group = {line.split(":")[0]: int(line.split(":")[2]) for line in (staged / "etc/group").read_text().splitlines()}
    assert {"edge-anomaly", "i2c", "gpio", "dialout"} <= set(group)
    assert re.search(
        r"^edge-anomaly:x:\d+:\d+:.*:/var/lib/edge-anomaly:/usr/sbin/nologin$",
        (staged / "etc/passwd").read_text(),
        re.M,
    )
    for path, mode in ((etc, 0o750), (etc / "config.toml", 0o640), (etc / "model.onnx", 0o640)):
        info = path.stat()
        assert (info.st_mode & 0o777, info.st_uid, info.st_gid) == (mode, 0, group["edge-anomaly"]), path
    assert (etc / "model.onnx").read_bytes() == FIXTURE_MODEL.read_bytes()
    assert (staged / "etc/systemd/system/multi-user.target.wants/edge-anomaly.service").is_symlink()
    for name in ("sysusers.d/edge-anomaly.conf", "tmpfiles.d/edge-anomaly.conf", "udev/rules.d/60-edge-anomaly.rules"):
        assert (staged / "etc" / name).is_file(), name
    assert (staged / "usr/local/bin/edge-agent").readlink() == Path("/opt/edge-anomaly/venv/bin/edge-agent")
    policy = (staged / "etc/systemd/system/edge-anomaly.service.d/network.conf").read_text()
    assert "[Service]\n" in policy and not [line for line in policy.splitlines() if line.startswith("IPAddress")]


def test_the_installed_agent_runs_without_torch_and_the_example_config_loads(staged: Path, tmp_path: Path) -> None:
    venv = staged / "opt" / "edge-anomaly" / "venv"
    installed = run(venv / "bin" / "python", "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert "onnxruntime==" in installed and "paho-mqtt==" in installed and "torch" not in installed
    assert "verified" in run(venv / "bin" / "edge-agent", "inspect", staged / "etc/edge-anomaly/model.onnx").stdout
    config = (staged / "etc/edge-anomaly/config.toml").read_text()
    local = tmp_path / "config.toml"
    local.write_text(config.replace("/etc/edge-anomaly/model.onnx", str(staged / "etc/edge-anomaly/model.onnx")))
    loaded = load_config(local)
    assert [s.type for s in loaded.sources] == ["serial"] and [s.type for s in loaded.sinks] == ["log"]


def test_a_tampered_model_is_refused_before_it_is_installed(tmp_path: Path, staged: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(staged, root, symlinks=True)
    bad = tmp_path / "model.onnx"
    data = bytearray(FIXTURE_MODEL.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    result = run(INSTALL, "--root", root, "--model", bad, check=False)
    assert result.returncode == 2 and f"--model {bad} was refused" in result.stderr
    assert (root / "etc/edge-anomaly/model.onnx").read_bytes() == FIXTURE_MODEL.read_bytes()


def test_uninstall_keeps_config_and_state_and_purge_removes_them(tmp_path: Path, staged: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(staged, root, symlinks=True)
    (root / "var/lib/edge-anomaly").mkdir(parents=True)
    run(INSTALL, "--root", root, "--uninstall")
    assert not (root / "opt/edge-anomaly").exists() and not (root / "etc/systemd/system/edge-anomaly.service").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/edge-anomaly.service").exists()
    assert not (root / "etc/systemd/system/edge-anomaly.service.d").exists()  # its network policy went with it
    assert (root / "etc/edge-anomaly/config.toml").exists() and (root / "var/lib/edge-anomaly").exists()
    run(INSTALL, "--root", root, "--uninstall", "--purge")
    assert not (root / "etc/edge-anomaly").exists() and not (root / "var/lib/edge-anomaly").exists()
    assert "edge-anomaly:" not in (root / "etc/passwd").read_text()


def test_install_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    result = run(INSTALL, "--root", tmp_path, "--model", tmp_path / "absent.onnx", check=False)
    assert result.returncode == 2 and "no such file" in result.stderr.splitlines()[-1]
    assert "unknown option --frobnicate" in run(INSTALL, "--frobnicate", check=False).stderr


def test_the_group_names_the_unit_wants_exist_on_this_kind_of_system() -> None:
    assert grp.getgrnam("dialout")  # Debian's base-passwd has it; i2c and gpio come from sysusers.d
