"""Config: typed sections, plugins by type, and errors that say what is allowed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL, write_config

from edge.assembly import build_pipeline
from edge.config import load_config, parse_config, sample_config
from edge.errors import ConfigError
from edge.plugins import SINK_TYPES, SOURCE_TYPES, PluginContext, load_spec, plugin_module
from edge.sinks.base import Sink
from edge.sources.base import Source

REPLAY = '[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "live.csv"\n'


def test_sample_config_parses_and_every_plugin_in_it_builds(tmp_path: Path) -> None:
    data = tomllib.loads(sample_config())
    data["model"]["path"] = str(FIXTURE_MODEL)
    config = parse_config(data)
    assert {s.type for s in config.sources} == set(SOURCE_TYPES)
    assert {s.type for s in config.sinks} == set(SINK_TYPES)
    pipeline = build_pipeline(config)
    assert set(pipeline.detectors) == {s.config.sensor for s in config.sources}


@pytest.mark.parametrize(("registry", "kind", "base"), [(SOURCE_TYPES, "source", Source), (SINK_TYPES, "sink", Sink)])
def test_contract_every_registered_plugin_builds_from_its_own_sample(registry, kind, base, tmp_path: Path) -> None:
    context = PluginContext(
        channels=("temperature", "vibration"),
        sample_period_s=300.0,
        model_sha256="0" * 64,
        state_dir=tmp_path,
        base_dir=tmp_path,
    )
    for type_name in registry:
        module = plugin_module(registry, kind, type_name)
        table = tomllib.loads(module.SAMPLE)[f"{kind}s"][0]
        assert table["type"] == type_name
        plugin = load_spec(registry, kind, table, f"{type_name} sample").build(context)
        assert isinstance(plugin, base)
        assert plugin.describe()
        plugin.close()
        plugin.close()  # idempotent


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, REPLAY)
    config = load_config(path)
    pipeline = build_pipeline(config)
    assert pipeline.sources[0].path == tmp_path / "live.csv"
    relative = tmp_path / "relative.toml"
    relative.write_text(
        path.read_text().replace(f'"{tmp_path / "state"}"', '"state"').replace(f'"{tmp_path / "run"}"', '"run"')
    )
    agent = load_config(relative).agent
    assert (agent.state_path(), agent.runtime_path()) == (tmp_path / "state", tmp_path / "run")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[detector]\ndebounce_kk = 2\n" + REPLAY,
            "[detector]: unknown key 'debounce_kk'; allowed keys: warmup, debounce_k",
        ),
        ('[detector]\ndebounce_k = "three"\n' + REPLAY, "[detector]: debounce_k is 'three'; it must be an integer"),
        ("[detector]\ndebounce_k = 3\ndebounce_n = 2\n" + REPLAY, "debounce needs 1 <= k <= n"),
        (
            '[[sources]]\ntype = "canbus"\nsensor = "x"\n',
            "unknown source type 'canbus'; allowed types: i2c, modbus, mqtt, replay, serial",
        ),
        ('[[sources]]\nsensor = "x"\n', "[[sources]] #1 needs a type"),
        (
            REPLAY + 'colour = "red"\n',
            "[[sources]] #1 (replay): unknown key 'colour'; allowed keys: sensor, channels, units, model, path",
        ),
        (REPLAY + '[[sinks]]\ntype = "pager"\n', "unknown sink type 'pager'; allowed types: gpio, log, mqtt"),
        (
            "[alerts]\nx = 1\n" + REPLAY,
            "unknown section 'alerts'; allowed sections: agent, model, models, detector, sources, sinks",
        ),
        (REPLAY + REPLAY, "sensor name 'pump-1' is used by more than one source"),
        ("", "no [[sources]]"),
        (REPLAY + "rate = -1.0\n", "rate -1.0 must be 0"),
        ("[detector]\nforecast_adapt_step = 1.5\n" + REPLAY, "forecast_adapt_step = 1.5 must be in [0, 1) (0: off)"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"config {path}:")


def test_config_that_contradicts_the_model_names_both(tmp_path: Path) -> None:
    path = write_config(tmp_path, REPLAY + 'channels = ["temperature", "pressure", "flow"]\n')
    with pytest.raises(ConfigError) as caught:
        build_pipeline(load_config(path))
    text = str(caught.value)
    assert "['temperature', 'pressure', 'flow'] (3)" in text
    assert "['temperature', 'vibration'] (2)" in text and str(FIXTURE_MODEL) in text


def test_threshold_override_and_defaults_come_from_the_model(tmp_path: Path, fixture_model) -> None:
    default = build_pipeline(load_config(write_config(tmp_path, REPLAY)))
    decision = default.detectors["pump-1"].settings.decision
    meta = fixture_model.metadata
    assert decision.threshold == meta.threshold  # one rarity scale: the model's threshold for every scorer
    assert decision.clear_at == pytest.approx(0.8 * meta.threshold)
    calibrated = write_config(tmp_path, REPLAY + '\n[detector]\nscoring = "calibrated"\n', "c.toml")
    decision = build_pipeline(load_config(calibrated)).detectors["pump-1"].settings.decision
    assert decision.threshold == fixture_model.metadata.threshold  # the calibrated scorer takes the model's
    assert decision.clear_at == pytest.approx(0.8 * fixture_model.metadata.threshold)
    assert default.detectors["pump-1"].settings.warmup == fixture_model.metadata.warmup
    text = write_config(tmp_path, REPLAY, "a.toml").read_text().replace("[model]\n", "[model]\nthreshold = 0.5\n")
    (tmp_path / "b.toml").write_text(text)
    overridden = build_pipeline(load_config(tmp_path / "b.toml"))
    assert overridden.detectors["pump-1"].settings.decision.threshold == 0.5


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[agent\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[detector]\nclear_level = nan\n", "[detector]: clear_level is nan"),
        ("[detector]\ncooldown_s = inf\n", "[detector]: cooldown_s is inf"),
        ("[detector]\nhold_sd = -inf\n", "[detector]: hold_sd is -inf"),
        ("[agent]\nmax_block_delay_ms = nan\n", "[agent]: max_block_delay_ms is nan"),
        ("[model]\nthreshold = nan\n", "[model]: threshold is nan"),
        ("[detector.channel_thresholds]\ntemperature = nan\n", "channel_thresholds"),
        ("[detector.sensors.pump-1]\nhold_sd = inf\n", "[detector.sensors.pump-1]: hold_sd is inf"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_file_and_the_key(tmp_path: Path, body: str, key: str) -> None:
    path = write_config(tmp_path, REPLAY)
    text = path.read_text()
    for section in ("[agent]", "[model]"):
        if body.startswith(section):  # add the key to the section already there
            text = text.replace(f"{section}\n", body, 1)
            break
    else:
        text += "\n" + body
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        build_pipeline(load_config(path))
    message = str(caught.value)
    assert message.startswith(f"config {path}:") and key in message
    assert "finite" in message or "must be a number in (0, 1]" in message
