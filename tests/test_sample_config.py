"""``edge-agent sample-config``: the full sample and the ``--minimal`` first config both parse; the minimal one runs."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL, live_rows, write_history

from edge.cli import main
from edge.config import parse_config


def printed(capsys, *argv: str) -> str:
    assert main(["sample-config", *argv]) == 0
    return capsys.readouterr().out


def first_config(folder: Path, capsys) -> Path:
    """The minimal sample as a person uses it: beside the model edge-export wrote and a CSV of readings."""
    shutil.copy(FIXTURE_MODEL, folder / "model.onnx")
    write_history(folder / "readings.csv", live_rows(60), "timestamp,temperature,vibration")
    path = folder / "agent.toml"
    path.write_text(printed(capsys, "--minimal"))
    return path


def test_the_minimal_sample_is_the_model_one_source_and_the_log_sink(capsys) -> None:
    text = printed(capsys, "--minimal")
    config = parse_config(tomllib.loads(text))
    assert config.model.path == Path.cwd() / "model.onnx"  # relative to the config (here: no file, the cwd)
    assert [s.type for s in config.sources] == ["replay"] and [s.type for s in config.sinks] == ["log"]
    settings = [line for line in text.splitlines() if line.strip() and not line.startswith(("#", "["))]
    assert all("  # " in line for line in settings)  # each setting says what it is
    assert len(settings) <= 6 and "[detector]" not in text and "[agent]" not in text


def test_check_accepts_the_minimal_sample_with_a_model_and_readings(tmp_path: Path, capsys) -> None:
    config = first_config(tmp_path, capsys)
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"model {tmp_path / 'model.onnx'}: verified" in out and out.endswith("no problems found\n")


def test_the_minimal_sample_runs(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no [agent] section, state and status go where systemd's folders say."""
    config = first_config(tmp_path, capsys)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    assert main(["run", "--config", str(config)]) == 0  # a replay source ends the run at the end of its file
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    counters = status["sensors"]["pump-1"]["counters"]
    assert counters["readings"] == 60 and counters["scored"] > 0


def test_the_full_sample_still_parses(capsys) -> None:
    config = parse_config(tomllib.loads(printed(capsys)))
    assert {s.type for s in config.sources} >= {"replay", "serial", "i2c"}
    assert {s.type for s in config.sinks} >= {"log", "mqtt", "gpio"}
