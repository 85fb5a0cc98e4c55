"""Several models in one agent: ``[[models]]``, each source naming its model, per-model reloads."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from pathlib import Path

import pytest
from conftest import (
    COMPRESSOR_HEADER,
    COMPRESSOR_MODEL,
    FIXTURE_MODEL,
    compressor_rows,
    live_rows,
    write_history,
)
from test_service import running, wait_for

from edge.assembly import build_pipeline
from edge.config import parse_config
from edge.errors import ConfigError
from edge.service.agent import Service
from edge.service.notify import Notifier

PUMP_HEADER = "timestamp,temperature,vibration"


def agent_toml(folder: Path, pump_csv: Path, compressor_csv: Path, rate: float = 0.0, extra: str = "") -> str:
    """Two models (a pump's and a compressor's) and a replay source for each; the log sink."""
    return f"""
[agent]
state_dir = "{folder / "state"}"
runtime_dir = "{folder / "run"}"
status_interval_s = 0.2

[[models]]
name = "pump"
path = "pump.onnx"

[[models]]
name = "compressor"
path = "compressor.onnx"
threshold = 0.5

[[sources]]
type = "replay"
sensor = "pump-1"
model = "pump"
path = "{pump_csv}"
rate = {rate}
units = ["degC", "mm/s"]

[[sources]]
type = "replay"
sensor = "comp-1"
model = "compressor"
path = "{compressor_csv}"
rate = {rate}
{extra}
[[sinks]]
type = "log"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder with both models copied in (so a test may damage one) and a CSV for each sensor."""
    (tmp_path / "pump.onnx").write_bytes(FIXTURE_MODEL.read_bytes())
    (tmp_path / "compressor.onnx").write_bytes(COMPRESSOR_MODEL.read_bytes())
    write_history(tmp_path / "pump.csv", live_rows(300), PUMP_HEADER)
    spiked = compressor_rows(300, seed=4, start_row=800)
    t, pressure, flow, current = spiked[200]
    spiked[200] = (t, pressure + 5.0, flow, current)  # a pressure spike the compressor's model must see
    write_history(tmp_path / "comp.csv", spiked, COMPRESSOR_HEADER)
    return tmp_path


def config_file(site: Path, rate: float = 0.0, extra: str = "") -> Path:
    path = site / "agent.toml"
    path.write_text(agent_toml(site, site / "pump.csv", site / "comp.csv", rate, extra))
    return path


def parse(text: str, folder: Path):
    return parse_config(tomllib.loads(text), folder / "agent.toml")


def test_each_sensor_is_scored_by_its_own_model_and_says_so(site: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config_file(site), Notifier())
    assert service.run() == 0
    pipeline = service.pipeline
    pump, comp = pipeline.detectors["pump-1"], pipeline.detectors["comp-1"]
    assert pump.channels == ("temperature", "vibration")
    assert comp.channels == ("pressure_bar", "flow_lpm", "current_a")
    assert (pump.counters.readings, comp.counters.readings) == (300, 300)
    assert comp.settings.decision.threshold == 0.5  # the compressor's own [[models]] threshold
    assert pump.settings.decision.threshold == pipeline.models["pump"].metadata.threshold
    started = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("edge-agent started"))
    assert f"model pump {site / 'pump.onnx'} (int8, weights " in started and "sensors pump-1" in started
    assert f"model compressor {site / 'compressor.onnx'} (int8, weights " in started and "sensors comp-1" in started
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT comp-1/")]
    assert alerts and "pressure_bar" in alerts[0]
    weights = pipeline.models["compressor"].weights_sha256[:12]
    assert alerts[0].endswith(f", model compressor {weights}]")
    status = json.loads((site / "run" / "status.json").read_text())
    assert status["sensors"]["pump-1"]["model"] == "pump" and status["sensors"]["comp-1"]["model"] == "compressor"
    assert status["sensors"]["pump-1"]["units"] == {"temperature": "degC", "vibration": "mm/s"}
    assert status["sensors"]["comp-1"]["units"] is None  # a CSV says no units, and the config gave none
    assert status["models"]["compressor"]["sensors"] == ["comp-1"]
    assert status["models"]["pump"]["weights_sha256"] == pipeline.models["pump"].weights_sha256


def test_sensors_of_one_model_share_its_session(site: Path) -> None:
    extra = f'\n[[sources]]\ntype = "replay"\nsensor = "pump-2"\nmodel = "pump"\npath = "{site / "pump.csv"}"\n'
    pipeline = build_pipeline(parse(agent_toml(site, site / "pump.csv", site / "comp.csv", extra=extra), site))
    sessions = {s: d.forecaster.session for s, d in pipeline.detectors.items()}
    assert sessions["pump-1"] is sessions["pump-2"] is pipeline.models["pump"].session
    assert sessions["comp-1"] is not sessions["pump-1"]


def test_a_lone_model_section_keeps_working_and_is_named_after_its_file(site: Path) -> None:
    text = f'[model]\npath = "pump.onnx"\n[[sources]]\ntype = "replay"\nsensor = "p"\npath = "{site / "pump.csv"}"\n'
    config = parse(text, site)
    assert [m.name for m in config.models] == ["pump"] and config.model.path == site / "pump.onnx"
    assert build_pipeline(config).model_of == {"p": "pump"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('model = "pump"\n', ""),
            'which model scores it? add model = "NAME"; models: pump, compressor',
        ),
        (lambda t: t.replace('model = "pump"', 'model = "pomp"'), "no model named 'pomp'; models: pump, compressor"),
        (lambda t: t.replace('name = "compressor"', 'name = "pump"'), "model name 'pump' is used by more than one"),
        (lambda t: t.replace('name = "compressor"\n', ""), "[[models]] #2: missing 'name'"),
        (lambda t: '[model]\npath = "x.onnx"\n' + t, "both [model] and [[models]]"),
        (lambda t: t.replace('name = "pump"', 'name = "pump/1"'), "name 'pump/1' must be 1 to 64 letters"),
    ],
)
def test_model_mistakes_are_clear_config_errors(site: Path, edit, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(edit(agent_toml(site, site / "pump.csv", site / "comp.csv")), site)
    assert message in str(caught.value)


def test_a_source_whose_channels_are_not_its_models_names_both(site: Path) -> None:
    text = agent_toml(site, site / "pump.csv", site / "comp.csv").replace(
        'model = "compressor"', 'model = "compressor"\nchannels = ["temperature", "vibration"]'
    )
    with pytest.raises(ConfigError) as caught:
        build_pipeline(parse(text, site))
    said = str(caught.value)
    assert "source 'comp-1' has channels ['temperature', 'vibration'] (2)" in said
    assert f"model 'compressor' {site / 'compressor.onnx'} has ['pressure_bar', 'flow_lpm', 'current_a'] (3)" in said


def test_units_must_give_one_per_channel(site: Path) -> None:
    text = agent_toml(site, site / "pump.csv", site / "comp.csv").replace('["degC", "mm/s"]', '["degC"]')
    with pytest.raises(ConfigError, match=r"units \['degC'\] \(1\) for the model's 2 channels"):
        build_pipeline(parse(text, site))


def test_a_reload_with_one_damaged_model_swaps_the_rest_and_keeps_that_one(site: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    config = config_file(site, rate=200.0)
    service = Service(config, Notifier())
    with running(service):
        wait_for(lambda: service.pipeline is not None and service.pipeline.detectors["pump-1"].counters.readings > 5)
        original = service.pipeline
        pump_model = original.models["pump"]
        damaged = bytearray((site / "compressor.onnx").read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        (site / "compressor.onnx").write_bytes(bytes(damaged))
        config.write_text(config.read_text().replace('name = "pump"\n', 'name = "pump"\nthreshold = 0.6\n'))
        service.request_reload()
        wait_for(lambda: service.pipeline is not original)
        swapped = service.pipeline
        assert swapped.detectors["pump-1"].settings.decision.threshold == 0.6  # the pump's change applied
        assert swapped.models["pump"] is pump_model  # the same file: the same session, not a second one
        assert swapped.models["compressor"] is original.models["compressor"]  # the damaged copy was refused
        wait_for(lambda: "reloaded all but compressor" in caplog.text)
        assert (
            "was modified" in caplog.text
            and "model compressor's sensors go on with the model loaded before" in caplog.text
        )
        assert service.last_reload is not None and service.last_reload["ok"] is False
        readings = swapped.detectors["comp-1"].counters.readings
        wait_for(lambda: swapped.detectors["comp-1"].counters.readings > readings + 5)  # still scoring


def test_a_reload_whose_only_change_is_a_damaged_model_keeps_everything(site: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    config = config_file(site, rate=200.0)
    service = Service(config, Notifier())
    with running(service):
        wait_for(lambda: service.pipeline is not None)
        original = service.pipeline
        (site / "pump.onnx").write_bytes((site / "pump.onnx").read_bytes()[:2000])  # a truncated copy
        service.request_reload()
        wait_for(lambda: "reload failed" in caplog.text)
        assert service.pipeline is original and "pump.onnx is truncated" in caplog.text


def test_replay_with_a_two_model_config_takes_the_sensors_model_threshold_and_units(site: Path, capsys) -> None:
    from edge.cli import main

    config = config_file(site)
    argv = ["replay", "--config", str(config), "--output", str(site / "out.csv")]
    assert (
        main([*argv, "--model", str(site / "compressor.onnx"), "--input", str(site / "comp.csv"), "--sensor", "comp-1"])
        == 0
    )
    assert "threshold 0.500" in capsys.readouterr().err  # the compressor's [[models]] threshold
    pump = ["--model", str(site / "pump.onnx"), "--input", str(site / "pump.csv"), "--sensor", "pump-1"]
    spiked = live_rows(300)
    t, temperature, vibration = spiked[200]
    spiked[200] = (t, temperature + 30.0, vibration)
    write_history(site / "pump.csv", spiked, PUMP_HEADER)
    assert main([*argv, *pump]) == 0
    alert = next(line for line in capsys.readouterr().err.splitlines() if "ALERT pump-1/temperature" in line)
    assert " degC expected=" in alert and re.search(r", model pump [0-9a-f]{12}\]$", alert)
