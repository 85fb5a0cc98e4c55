"""A damaged or mistyped state file costs a warm-up, never a crash: it is set aside, logged once, written anew."""

from __future__ import annotations

import base64
import json
import logging
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import live_rows, write_config, write_history

from edge.service.agent import Service
from edge.service.notify import Notifier

HEADER = "timestamp,temperature,vibration"
ROWS = live_rows(400)
WARMUP = 16  # the fixture model's


def replay_body(csv: Path) -> str:
    return f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\nrate = 0.0\n\n[[sinks]]\ntype = "log"\n'


def first_run(tmp_path: Path) -> Path:
    """Run once over the first 200 rows so that a sound checkpoint exists; return it."""
    config = write_config(tmp_path, replay_body(write_history(tmp_path / "a.csv", ROWS[:200], HEADER)), "a.toml")
    assert Service(config, Notifier()).run() == 0
    return tmp_path / "state" / "checkpoint.json"


def sensor(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda data: edit(data["sensors"]["pump-1"])


def infinite_first(season: str) -> str:
    """The saved season with its first value replaced by +inf."""
    raw = base64.b64decode(season)
    return base64.b64encode(struct.pack("<d", math.inf) + raw[8:]).decode()


DAMAGE: dict[str, Callable[[dict[str, Any]], None]] = {
    "last_timestamp is text": sensor(lambda s: s.update(last_timestamp="yesterday")),
    "last_timestamp is infinite": sensor(lambda s: s.update(last_timestamp=1e999)),
    "last_sequence is text": sensor(lambda s: s.update(last_sequence="7")),
    "scorer_clock is text": sensor(lambda s: s.update(scorer_clock="noon")),
    "realign is a number": sensor(lambda s: s.update(realign=1)),
    "a season slot holds text": sensor(lambda s: s["scorer"].update(past=[None, ["x", "y"]])),
    "a season is not base64": sensor(lambda s: s["scorer"].update(past="%% not base64 %%")),
    "a season is not whole rows": sensor(lambda s: s["scorer"].update(past=s["scorer"]["past"][:-4])),
    "a season holds an infinite reading": sensor(
        lambda s: s["scorer"].update(past=infinite_first(s["scorer"]["past"]))
    ),
    "sensor state is a string": lambda data: data["sensors"].update({"pump-1": "hello"}),
    "h has the wrong shape": sensor(lambda s: s.update(h=[[0.0]])),
    "h holds text": sensor(lambda s: s.update(h="zeros")),
    "seen is text": sensor(lambda s: s.update(seen="many")),
    "forecast holds text": sensor(lambda s: s.update(forecast=["a", "b"])),
    "recent inputs are numbers, not rows": sensor(lambda s: s.update(recent_inputs=[1.0, 2.0])),
    "scorer is missing": sensor(lambda s: s.pop("scorer")),
    "scorer is a list": sensor(lambda s: s.update(scorer=[1, 2])),
    "condition is garbage": sensor(lambda s: s.update(condition={"mean": "x"})),
    "the forecast correction holds text": sensor(lambda s: s.update(correction=[["x"], ["y"]])),
    "the model forecast is one channel short": sensor(lambda s: s.update(model_forecast=s["forecast"][:-1])),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_mistyped_checkpoint_is_set_aside_and_the_agent_runs_on(tmp_path: Path, caplog, damage: str) -> None:
    checkpoint = first_run(tmp_path)
    data = json.loads(checkpoint.read_text())
    DAMAGE[damage](data)
    checkpoint.write_text(json.dumps(data))
    config = write_config(tmp_path, replay_body(write_history(tmp_path / "b.csv", ROWS[200:300], HEADER)), "b.toml")
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    assert service.run() == 0
    counters = service.pipeline.detectors["pump-1"].counters
    assert (counters.readings, counters.warmup, counters.scored) == (100, WARMUP, 100 - WARMUP)
    lines = [r.getMessage() for r in caplog.records if "does not validate" in r.getMessage()]
    assert len(lines) == 1 and str(checkpoint) in lines[0] and "starting with a warm-up" in lines[0]
    aside = list(checkpoint.parent.glob("checkpoint.json.damaged-*"))
    assert len(aside) == 1 and json.loads(aside[0].read_text()) == data  # kept as it was, for a look
    more = write_config(tmp_path, replay_body(write_history(tmp_path / "c.csv", ROWS[300:], HEADER)), "c.toml")
    again = Service(more, Notifier())  # the checkpoint written at stop is sound: the next start restores it
    assert again.run() == 0 and again.pipeline.detectors["pump-1"].counters.warmup == 0


@pytest.mark.parametrize(
    "text", ['{"format": 1, "sensors": {"pump-1": {"h": [[', "", "[1, 2, 3]", '{"format": 9, "sensors": {}}']
)
def test_an_unreadable_checkpoint_is_set_aside(tmp_path: Path, caplog, text: str) -> None:
    (tmp_path / "state").mkdir()
    checkpoint = tmp_path / "state" / "checkpoint.json"
    checkpoint.write_text(text)
    config = write_config(tmp_path, replay_body(write_history(tmp_path / "b.csv", ROWS[:100], HEADER)))
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    assert service.run() == 0
    assert service.pipeline.detectors["pump-1"].counters.warmup == WARMUP
    assert [p.read_text() for p in checkpoint.parent.glob("checkpoint.json.damaged-*")] == [text]
    assert sum("starting with a warm-up" in r.getMessage() for r in caplog.records) == 1
    assert json.loads(checkpoint.read_text())["format"] == 1  # written anew at stop


def test_a_state_that_does_not_validate_changes_nothing(fixture_model) -> None:
    from edge.config import DetectorSection
    from edge.core.detector import Detector
    from edge.core.events import Reading

    detector = Detector("pump-1", fixture_model, DetectorSection().resolve(fixture_model.metadata, None))
    for i, (t, a, b) in enumerate(ROWS[:80]):
        detector.score_one(Reading("pump-1", float(t), (a, b), row=i))
    before = detector.state()
    broken = json.loads(json.dumps(before))
    broken["condition"] = {"mean": [0.0, 0.0], "var": [-1.0, 1.0], "sums": [0.0, 0.0], "recent": []}
    with pytest.raises(ValueError, match="saved condition state does not fit"):
        detector.restore(broken)
    assert detector.state() == before


def test_the_state_folder_and_checkpoint_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    previous = os.umask(0o022)
    try:
        checkpoint = first_run(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(checkpoint.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
