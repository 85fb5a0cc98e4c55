"""Installation: the gateway install stays light and set-up never pulls CUDA."""

from __future__ import annotations

import tomllib
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


def test_every_package_folder_is_listed_so_a_wheel_carries_it() -> None:
    root = Path(__file__).parents[1]
    found = {
        str(p.parent.relative_to(root)).replace("/", ".")
        for p in root.glob("*/**/__init__.py")
        if p.parts[len(root.parts)] in ("edge", "export", "firmware_bridge")
    }
    assert found == set(PYPROJECT["tool"]["setuptools"]["packages"])
