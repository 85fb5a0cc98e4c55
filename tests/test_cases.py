"""End-to-end cases: ``tests/cases/<name>/`` holds config.toml, expected.jsonl and the input.

The input is input.csv for a replay source, or a ``hardware.toml`` (see tests/case_hardware.py)
for fake serial, I²C and GPIO hardware; the pipeline is built from the config exactly as the
service builds it, on that fake hardware. Every event is compared on the keys its expected line
names (a clear's time depends on the model, so cases may leave it out); a line
``{"gpio": NAME, "states": [...]}`` is the sequence a GPIO line went through, and
``{"counters": {...}}`` some of the source's counters at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from case_hardware import DRIVERS, load

from edge.assembly import build_pipeline
from edge.config import load_config
from edge.core.events import Alert, Event
from edge.running import RunningSink
from edge.sinks.base import Sink
from edge.sources.replay import ReplaySource

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


class Recorder(Sink):
    """Keeps every event it is sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[Event] = []

    def send(self, event: Event) -> None:
        self.events.append(event)


def describe(event: Event) -> dict:
    subject = event.subject
    line = {"kind": event.kind, "sensor": subject.sensor, "channels": list(subject.channels), "time": event.time}
    if isinstance(subject, Alert):
        line["units"] = list(subject.units)
    else:
        line["fault"] = subject.kind
    return line


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path) -> None:
    hardware, spec = load(case)
    pipeline = build_pipeline(load_config(case / "config.toml"), hardware=hardware)
    recorder = Recorder()
    pipeline.sinks.append(RunningSink(recorder))
    pipeline.open()
    counters: dict[str, int] = {}
    try:
        for source, kind in zip(pipeline.sources, [s.type for s in pipeline.config.sources]):
            if isinstance(source, ReplaySource):
                items = (reading for _, reading in source.records() if reading is not None)
            else:
                items = DRIVERS[kind](source, hardware, spec[kind], case)
            for item in items:
                pipeline.handle(item)
            counters.update(pipeline.source_counters(source))
    finally:
        pipeline.close()
    expected = [json.loads(line) for line in (case / "expected.jsonl").read_text().splitlines() if line.strip()]
    want_events = [e for e in expected if "kind" in e]
    got = [describe(e) for e in recorder.events]
    assert [{k: g[k] for k in e} for e, g in zip(want_events, got)] == want_events
    assert len(got) == len(want_events), got[len(want_events) :]
    for line in (e for e in expected if "gpio" in e):
        assert hardware.gpio.line(line["gpio"]).states() == line["states"], line["gpio"]
    for line in (e for e in expected if "counters" in e):
        assert {k: counters.get(k) for k in line["counters"]} == line["counters"]
