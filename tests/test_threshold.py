"""One threshold, stated as false alarms per day, shown and used the same by export, inspect and replay."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FAST, FIXTURE_MODEL, live_rows, synthetic_rows, write_history

from edge.cli import main as agent_main
from edge.model.loader import load_model

FAST_ARGS = [f"--{k}={v}" for k, v in FAST.items()]


def inspected_threshold(model: Path, capsys) -> float:
    assert agent_main(["inspect", str(model)]) == 0
    return float(re.search(r"threshold\s+([0-9.]+)", capsys.readouterr().out).group(1))


def replayed_threshold(model: Path, data: Path, out: Path, capsys, *extra: str) -> float:
    assert agent_main(["replay", "--model", str(model), "--input", str(data), "--output", str(out), *extra]) == 0
    return float(re.search(r"at threshold ([0-9.]+)", capsys.readouterr().err).group(1))


@pytest.mark.workstation
def test_false_alarms_per_day_sets_the_threshold_every_command_shows_and_uses(tmp_path: Path, capsys) -> None:
    from export.cli import main as export_main

    history = write_history(tmp_path / "history.csv", synthetic_rows(500))
    live = write_history(tmp_path / "live.csv", live_rows(300, start_row=500))
    seen = {}
    for rate in ("0.01", "1"):
        model = tmp_path / f"m{rate}.onnx"
        assert (
            export_main(["--data", str(history), "--out", str(model), "--false-alarms-per-day", rate, *FAST_ARGS]) == 0
        )
        printed = re.search(r"threshold ([0-9.]+) for", capsys.readouterr().out).group(1)
        meta = load_model(model).metadata
        for scoring in ("likelihood", "calibrated"):
            used = replayed_threshold(model, live, tmp_path / "out.csv", capsys, "--scoring", scoring)
            assert f"{used:.3f}" == printed == f"{meta.threshold:.3f}"
        assert inspected_threshold(model, capsys) == pytest.approx(meta.threshold, abs=5e-4)
        seen[rate] = meta.threshold
    assert seen["0.01"] > seen["1"]  # fewer false alarms asked for: a rarer level needed


def test_replay_takes_a_config_without_sources_and_its_own_threshold_and_scoring(tmp_path: Path, capsys) -> None:
    data = write_history(tmp_path / "live.csv", live_rows(200))
    config = tmp_path / "agent.toml"
    config.write_text("[detector]\nclear_samples = 5\n")
    model_threshold = load_model(FIXTURE_MODEL).metadata.threshold
    out = tmp_path / "out.csv"
    assert replayed_threshold(FIXTURE_MODEL, data, out, capsys, "--config", str(config)) == pytest.approx(
        model_threshold, abs=5e-4
    )
    assert replayed_threshold(FIXTURE_MODEL, data, out, capsys, "--config", str(config), "--threshold", "0.9") == 0.9
    assert replayed_threshold(FIXTURE_MODEL, data, out, capsys, "--threshold", "0.7", "--scoring", "calibrated") == 0.7
    with pytest.raises(SystemExit):
        agent_main(
            ["replay", "--model", str(FIXTURE_MODEL), "--input", str(data), "--output", str(out), "--threshold", "1.5"]
        )
    assert "1.5 is not in (0, 1]" in capsys.readouterr().err
