"""Shared fixtures: small synthetic histories and one model exported from them per session."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The gateway's own test run (tools/aarch64/run-tests.sh sets this) has no torch or onnx: the test files
# that import them are not collected, and tests marked ``workstation`` are deselected with -m.
HOST_ONLY_FILES = [
    "test_export.py",
    "test_export_cli.py",
    "test_recorder_export.py",
    "test_feedback_export.py",
    "test_model_file.py",
    "fixtures/make_model.py",
    "test_systemd_unit.py",
]  # the unit and install.sh are checked once, on the host
collect_ignore = HOST_ONLY_FILES if os.environ.get("EDGE_GATEWAY_TESTS_ONLY") == "1" else []

# Under an emulator (qemu-user: tools/aarch64/run-tests.sh sets EDGE_TEST_EMULATOR) every instruction is tens of
# times slower, so hypothesis's timing checks (input generation too slow, a deadline per example) measure the
# emulator, not the code; the properties and the number of examples stay the same.
settings.register_profile("emulated", deadline=None, suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("EDGE_TEST_EMULATOR"):
    settings.load_profile("emulated")

START = 1_700_000_000.0
PERIOD = 300.0
FAST = {"window": 16, "hidden": 16, "layers": 2, "epochs": 12, "patience": 4}


def synthetic_rows(n: int, seed: int = 0) -> list[tuple[str, float, float]]:
    """Two channels with a daily cycle and noise, one row every five minutes."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        phase = 2 * math.pi * i / 288
        rows.append(
            (
                f"{START + i * PERIOD:.0f}",
                20 + 5 * math.sin(phase) + rng.normal(0, 0.3),
                1 + 0.5 * math.sin(phase + 1) + rng.normal(0, 0.05),
            )
        )
    return rows


COMPRESSOR_HEADER = "timestamp,pressure_bar,flow_lpm,current_a"
COMPRESSOR_PERIOD = 60.0


def compressor_rows(n: int, seed: int = 0, start_row: int = 0) -> list[tuple[str, float, float, float]]:
    """Three channels of a compressor, one row a minute: the second fixture model's kind of data."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(start_row + n):
        phase = 2 * math.pi * i / 240
        row = (
            f"{START + i * COMPRESSOR_PERIOD:.0f}",
            6 + 0.8 * math.sin(phase) + rng.normal(0, 0.05),
            120 + 15 * math.sin(phase + 0.5) + rng.normal(0, 1.0),
            14 + 2 * math.sin(phase + 0.5) + rng.normal(0, 0.15),
        )
        if i >= start_row:
            rows.append(row)
    return rows


def write_history(path: Path, rows: list[tuple], header: str = "timestamp,temperature,vibration") -> Path:
    """Write rows as CSV (values written as given, so tests can plant bad ones)."""
    with path.open("w") as handle:
        handle.write(header + "\n")
        for row in rows:
            handle.write(",".join(str(v) for v in row) + "\n")
    return path


@pytest.fixture
def history_csv(tmp_path: Path) -> Path:
    """A fresh 600-row two-channel history file."""
    return write_history(tmp_path / "history.csv", synthetic_rows(600))


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One int8 export of an 800-row history, with its result, shared by many tests."""
    from export.pipeline import ExportOptions, run_export
    from export.train import TrainConfig

    folder = tmp_path_factory.mktemp("export")
    data = write_history(folder / "history.csv", synthetic_rows(800))
    options = ExportOptions(data=data, out=folder / "model.onnx", quiet=True, train=TrainConfig(**FAST))
    yield run_export(options, say=lambda _text: None)


FIXTURE_MODEL = Path(__file__).parent / "fixtures" / "model.onnx"
#: a second committed model, for agents with several: three compressor channels at one row a minute
COMPRESSOR_MODEL = Path(__file__).parent / "fixtures" / "compressor.onnx"


@pytest.fixture(scope="session")
def fixture_model():
    """The committed int8 model (2 channels, temperature and vibration; see fixtures/make_model.py)."""
    from edge.model.loader import load_model

    return load_model(FIXTURE_MODEL)


def live_rows(n: int, seed: int = 11, start_row: int = 800) -> list[tuple[str, float, float]]:
    """Rows that continue the training history's pattern (new noise), for streaming tests."""
    rows = synthetic_rows(start_row + n, seed=seed)[start_row:]
    return rows


def write_config(folder: Path, body: str, name: str = "agent.toml") -> Path:
    """A config file whose [agent] dirs are inside ``folder`` and whose model is the fixture."""
    text = (
        f'[agent]\nstate_dir = "{folder / "state"}"\nruntime_dir = "{folder / "run"}"\n'
        f'status_interval_s = 0.2\n\n[model]\npath = "{FIXTURE_MODEL}"\n\n{body}'
    )
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    """Undo a CLI test's logging set-up so caplog sees the ``edge`` loggers again."""
    import logging

    yield
    logger = logging.getLogger("edge")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
