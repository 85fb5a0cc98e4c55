"""End-to-end cases: ``tests/cases/<name>/`` holds config.toml, input.csv and expected.jsonl.

Each case runs through the service's pipeline; every event is compared on the keys its
expected line names (a clear's time depends on the model, so cases may leave it out).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.config import load_config
from edge.core.events import Alert, Event
from edge.pipeline import build_pipeline
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
    if not isinstance(subject, Alert):
        line["fault"] = subject.kind
    return line


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path) -> None:
    pipeline = build_pipeline(load_config(case / "config.toml"))
    recorder = Recorder()
    pipeline.sinks.append(RunningSink(recorder))
    pipeline.open()
    try:
        for source in pipeline.sources:
            assert isinstance(source, ReplaySource)
            for _, reading in source.records():
                if reading is not None:
                    pipeline.handle(reading)
    finally:
        pipeline.close()
    expected = [json.loads(line) for line in (case / "expected.jsonl").read_text().splitlines() if line.strip()]
    got = [describe(e) for e in recorder.events]
    assert [{k: g[k] for k in e} for e, g in zip(expected, got)] == expected
    assert len(got) == len(expected), got[len(expected) :]
