"""The forecast's online correction: it follows a gain or a level the model misses, and only from normal readings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import live_rows

from edge.config import DetectorSection
from edge.core.detector import Detector
from edge.core.events import Reading
from edge.core.forecast_correction import ForecastCorrection


def test_it_learns_the_gain_and_the_offset_a_model_gets_wrong() -> None:
    correction = ForecastCorrection(2, 0.01)
    truth = [[math.sin(i / 7.0), 0.3 * math.cos(i / 11.0)] for i in range(6000)]
    model = [[0.5 * a, b - 0.8] for a, b in truth]  # half the swing on one channel, a level off on the other
    errors = []
    for f, x in zip(model, truth):
        errors.append([abs(p - v) for p, v in zip(correction.apply(f), x)])
        correction.learn(f, x)
    early, late = np.mean(errors[:200], axis=0), np.mean(errors[-500:], axis=0)
    assert (late < 0.1 * early).all()
    assert correction.scale[0] == pytest.approx(2.0, rel=0.05)


def test_a_step_of_zero_keeps_the_model_as_trained() -> None:
    correction = ForecastCorrection(1, 0.0)
    forecast = [0.25]
    correction.learn([0.25], [3.0])
    assert correction.apply(forecast) is forecast and correction.state() == [[1.0], [0.0]]


@pytest.mark.parametrize(
    "saved", [[[1.0], [0.0]], [[1.0, 1.0], [0.0, "x"]], [[1.0, math.inf], [0.0, 0.0]], "scales", [[1.0, 1.0]]]
)
def test_a_saved_correction_that_does_not_fit_is_refused_and_changes_nothing(saved) -> None:
    correction = ForecastCorrection(2, 0.01)
    correction.learn([0.5, 0.5], [1.0, 1.0])
    before = correction.state()
    with pytest.raises(ValueError, match="forecast correction"):
        correction.restore(saved)
    assert correction.state() == before


def readings(rows) -> list[Reading]:
    return [Reading("pump-1", float(t), (float(a), float(b)), row=i) for i, (t, a, b) in enumerate(rows)]


def detector(model, step: float) -> Detector:
    return Detector("pump-1", model, DetectorSection(forecast_adapt_step=step).resolve(model.metadata, None))


def test_a_detector_follows_a_level_its_model_misses_and_its_residuals_shrink(fixture_model) -> None:
    sd = fixture_model.metadata.norm_std
    rows = [(t, a + 0.7 * sd[0], b) for t, a, b in live_rows(3000, seed=5)]  # channel a sits 0.7 sd higher
    residuals = {}
    for step in (0.0, 0.003):
        d = detector(fixture_model, step)
        outcome = [d.score_one(r) for r in readings(rows)]
        late = [o for o in outcome[-600:] if o.state == "scored"]
        residuals[step] = np.mean([abs(o.reading.values[0] - o.expected[0]) for o in late])
        if step:
            assert d.correction.offset[0] > 0.1 and d.counters.scored > 2500
    assert residuals[0.003] < 0.8 * residuals[0.0]


def test_the_correction_learns_nothing_while_an_alert_is_open(fixture_model) -> None:
    rows = [list(r) for r in live_rows(900, seed=9)]
    for i in range(500, 900):
        rows[i][1] += 40.0  # a lasting new level: alerted and held
    d = detector(fixture_model, 0.003)
    stream = readings([tuple(r) for r in rows])
    for r in stream[:500]:
        d.score_one(r)
    learned = d.correction.state()
    outcome = [d.score_one(r) for r in stream[500:]]
    assert all(o.alerting for o in outcome[5:])
    assert d.correction.state() == learned
