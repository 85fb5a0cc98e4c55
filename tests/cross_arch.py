"""The stream both architectures score for the cross-architecture check, and how it is scored.

``tests/fixtures/make_reference_scores.py`` runs this on x86_64 and commits what it gave;
``test_cross_arch.py`` runs it wherever the suite runs (aarch64 under qemu in CI) and compares.
"""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURE_MODEL, live_rows

from edge.config import DetectorSection
from edge.core.detector import Detector
from edge.core.events import Reading
from edge.model.loader import load_model

REFERENCE = Path(__file__).parent / "fixtures" / "reference_scores_x86_64.json"
ROWS = 1500


def stream() -> list[Reading]:
    """1,500 readings of the fixture model's pattern with a spike, a step and a drift planted in them."""
    rows = [(float(t), round(a, 3), round(b, 4)) for t, a, b in live_rows(ROWS, seed=21)]
    readings = []
    for i, (stamp, temperature, vibration) in enumerate(rows):
        if i == 400:
            temperature += 12.0
        if 800 <= i < 860:
            vibration += 0.6
        if 1100 <= i < 1300:
            temperature += (i - 1100) * 0.05
        readings.append(Reading("pump-1", stamp, (temperature, vibration), row=i))
    return readings


def score_stream() -> dict[str, list]:
    """Score, per-channel scores, forecast and alert flag of every reading, as plain lists."""
    model = load_model(FIXTURE_MODEL)
    detector = Detector("pump-1", model, DetectorSection().resolve(model.metadata, None))
    out: dict[str, list] = {"score": [], "level": [], "channel_scores": [], "expected": [], "alerting": [], "state": []}
    for reading in stream():
        scored = detector.score_one(reading)
        out["score"].append(scored.score)
        out["level"].append(scored.level)
        out["channel_scores"].append(list(scored.channel_scores))
        out["expected"].append(list(scored.expected))
        out["alerting"].append(scored.alerting)
        out["state"].append(scored.state)
    return out
