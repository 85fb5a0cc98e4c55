"""Per-sensor detector overrides and per-channel thresholds from the config."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import live_rows, write_config

from edge.assembly import build_pipeline
from edge.config import DetectorSection, load_config
from edge.core.detector import Detector
from edge.core.events import Reading
from edge.errors import ConfigError

TWO = (
    '[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "a.csv"\n\n'
    '[[sources]]\ntype = "replay"\nsensor = "pump-2"\npath = "b.csv"\n\n'
)


def test_a_sensor_table_overrides_keys_and_the_threshold_for_that_sensor_only(tmp_path: Path, fixture_model) -> None:
    body = TWO + "[detector]\nclear_samples = 4\n\n[detector.sensors.pump-2]\nthreshold = 0.5\nhold_sd = 2.5\n"
    pipeline = build_pipeline(load_config(write_config(tmp_path, body)))
    one, two = (pipeline.detectors[s].settings for s in ("pump-1", "pump-2"))
    assert one.decision.threshold == fixture_model.metadata.threshold and one.condition.hold_sd == 0.0
    assert two.decision.threshold == 0.5 and two.condition.hold_sd == 2.5
    assert one.decision.clear_samples == two.decision.clear_samples == 4  # the rest is inherited


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[detector.sensors.pump-2]\nhold_sd = -1.0\n", "hold_sd = -1.0 must be 0 (off) or more"),
        ("[detector.sensors.pump-2]\nhodl_sd = 1.0\n", "[detector.sensors.pump-2]: unknown key 'hodl_sd'"),
        ("[detector.sensors.pump-9]\nhold_sd = 1.0\n", "no source has sensor = 'pump-9'"),
        ("[detector.sensors.pump-2]\nthreshold = 2\n", "threshold = 2 must be a number in (0, 1]"),
        ("[detector]\nchannel_thresholds = { temperature = 0 }\n", "channel_thresholds.temperature = 0"),
    ],
)
def test_a_bad_override_is_a_config_error_naming_its_table(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    ):
        load_config(write_config(tmp_path, TWO + table))


def test_a_channel_threshold_naming_no_channel_of_the_model_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, TWO + "[detector]\nchannel_thresholds = { pressure = 0.3 }\n")
    with pytest.raises(ConfigError, match="'pressure', which the model does not have"):
        build_pipeline(load_config(path))


def test_a_channel_with_a_lower_threshold_alerts_where_the_sensors_would_not(fixture_model) -> None:
    rows = [list(r) for r in live_rows(300, seed=41)]
    for i in range(200, 260):
        rows[i][2] += 0.6  # vibration steps up by about 1.6 of its sd
    stream = [Reading("pump-1", float(t), (a, b)) for t, a, b in rows]
    meta = fixture_model.metadata

    def alerts(**keys) -> list:
        d = Detector("pump-1", fixture_model, DetectorSection(**keys).resolve(meta, None))
        return [e.subject for r in stream for e in d.score_one(r).events if e.kind == "alert"]

    assert alerts() == []
    found = alerts(channel_thresholds={"vibration": 0.05})
    assert found and all(a.channels == ("vibration",) for a in found)
    assert alerts(channel_thresholds={"temperature": 0.9}) == []  # a higher one of its own: quieter still
