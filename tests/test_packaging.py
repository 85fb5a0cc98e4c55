"""Installation: the gateway install stays light and set-up never pulls CUDA."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())


def test_base_install_is_what_a_gateway_needs() -> None:
    names = [d.split(">")[0].split("=")[0].split("<")[0].strip() for d in PYPROJECT["project"]["dependencies"]]
    assert sorted(names) == ["numpy", "onnxruntime", "pyserial", "smbus2"]


@pytest.mark.workstation
def test_torch_is_pinned_to_the_cpu_wheel_and_no_cuda_came_along() -> None:
    assert "torch==2.13.0" in PYPROJECT["project"]["optional-dependencies"]["export"]
    assert metadata.version("torch").startswith("2.13.0")
    cuda = [d.metadata["Name"] for d in metadata.distributions() if "nvidia" in d.metadata["Name"].lower()]
    assert cuda == []


def test_console_scripts_exist() -> None:
    assert set(PYPROJECT["project"]["scripts"]) == {"edge-export", "edge-agent"}


def test_the_wheel_carries_every_package_and_every_plugins_sample(tmp_path: Path) -> None:
    """What install.sh puts on a gateway: every package folder and each plugin's sample.toml."""
    pytest.importorskip("setuptools")
    root = Path(__file__).parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("edge_anomaly-*.whl")
    carried = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        str(p.relative_to(root))
        for p in root.glob("*/**/__init__.py")
        if p.parts[len(root.parts)] in ("edge", "export", "firmware_bridge")
    }
    samples = {str(p.relative_to(root)) for p in root.glob("edge/*/*/sample.toml")}
    assert len(samples) == 8 and wanted | samples <= carried, sorted((wanted | samples) - carried)
    assert not [name for name in carried if name.startswith(("tests/", "bench/"))]
