"""One sensor's detector: scores as calibrated, explicit warm-up, faults pause, state restores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import live_rows

from edge.config import DetectorSection
from edge.core.calibration import score_series
from edge.core.detector import Detector
from edge.core.events import Reading
from edge.core.forecaster import StreamingForecaster


def readings(rows, sensor: str = "pump-1") -> list[Reading]:
    return [Reading(sensor, float(t), (float(a), float(b)), row=i) for i, (t, a, b) in enumerate(rows)]


def detector(model, threshold: float = 0.6, **settings) -> Detector:
    """A detector with a threshold above what the fixture model's ordinary noise reaches.

    These tests are about the detector's mechanics on the calibrated scorer, for which their thresholds were
    chosen; the likelihood scorer (the default) has its own tests in test_likelihood.py.
    """
    settings.setdefault("scoring", "calibrated")
    return Detector("pump-1", model, DetectorSection(**settings).resolve(model.metadata, threshold))


def test_scores_reproduce_the_models_calibration_exactly(fixture_model) -> None:
    stream = readings(live_rows(300))
    d = detector(fixture_model, adapt=False, forecast_adapt_step=0.0)  # the model's forecasts as trained
    outcome = [d.score_one(r) for r in stream]
    meta = fixture_model.metadata
    values = np.array([r.values for r in stream])
    normalised = (values - np.array(meta.norm_mean)) / np.array(meta.norm_std)
    forecasts = StreamingForecaster.from_model(fixture_model).run_normalized(normalised.astype(np.float32))
    residuals = normalised[1:] - forecasts[:-1]
    expected, _ = score_series(meta.calibration, residuals[meta.warmup - 1 :])
    scored = np.array([o.score for o in outcome if o.state == "scored"])
    assert [o.state for o in outcome[: meta.warmup]] == ["warmup"] * meta.warmup
    np.testing.assert_allclose(scored, expected, rtol=1e-5, atol=1e-6)


def test_no_alert_during_warm_up_even_on_wild_readings(fixture_model) -> None:
    d = detector(fixture_model, warmup=10)
    wild = [Reading("pump-1", 300.0 * i, (1e3 * (-1) ** i, -50.0 * i)) for i in range(10)]
    assert [d.score_one(r).state for r in wild] == ["warmup"] * 10
    assert d.alert is None and d.counters.alerts == 0


def test_a_spike_raises_one_alert_naming_the_channel_with_observed_and_expected(fixture_model) -> None:
    rows = live_rows(200)
    t, temp, vib = rows[120]
    rows[120] = (t, temp + 25.0, vib)
    d = detector(fixture_model, clear_samples=2)
    events = [e for r in readings(rows) for e in d.score_one(r).events]
    alerts = [e for e in events if e.kind == "alert"]
    assert len(alerts) == 1
    alert = alerts[0].subject
    assert alert.sensor == "pump-1" and alert.channels == ("temperature",)
    assert alert.start == float(t) and alert.score >= alert.threshold
    assert alert.observed[0] == pytest.approx(temp + 25.0)
    assert abs(alert.expected[0] - temp) < 3.0
    assert len(alert.id) == 16 and alert.model_sha256 == fixture_model.weights_sha256
    clears = [e for e in events if e.kind == "clear" and e.subject.id == alert.id]
    assert len(clears) == 1 and clears[0].subject.end > alert.start


def test_a_long_fault_closes_the_alert_pauses_scoring_and_rewarms(fixture_model) -> None:
    rows = live_rows(140)
    d = detector(fixture_model, warmup=16)
    stream = readings(rows)
    for r in stream[:60]:
        d.score_one(r)
    t, temp, vib = rows[60]
    spiked = d.score_one(Reading("pump-1", float(t), (temp + 40.0, vib)))
    assert [e.kind for e in spiked.events] == ["alert"]
    limit = d.faults.bridge_limit
    nans = [
        d.score_one(Reading("pump-1", float(rows[61 + i][0]), (math.nan, rows[61 + i][2]))) for i in range(limit + 1)
    ]
    assert all(n.state == "fault" for n in nans)
    assert [e.subject.kind for e in nans[0].events] == ["nan"]  # bridged: the alert stays open
    assert d.counters.bridged == limit
    assert [(e.kind, getattr(e.subject, "kind", "alert")) for e in nans[-1].events] == [("clear", "alert")]
    after = [d.score_one(r) for r in stream[62 + limit : 62 + limit + 17]]
    assert [e.kind for e in after[0].events] == ["fault_cleared"]
    assert [o.state for o in after] == ["warmup"] * 16 + ["scored"]
    assert d.counters.alerts == 1 and d.counters.faults == 1


def test_a_gap_in_time_rewarms_instead_of_alerting_on_the_resumed_stream(fixture_model) -> None:
    rows = live_rows(200)
    d = detector(fixture_model)
    stream = readings(rows)
    for r in stream[:100]:
        d.score_one(r)
    later = [Reading("pump-1", r.timestamp + 86_400.0, r.values) for r in stream[150:]]
    outcome = [d.score_one(r) for r in later]
    assert [e.subject.kind for e in outcome[0].events] == ["time_gap"]
    assert [o.state for o in outcome[: fixture_model.metadata.warmup]] == ["warmup"] * fixture_model.metadata.warmup
    assert not any(e.kind == "alert" for o in outcome for e in o.events)


@pytest.mark.parametrize("scoring", ["calibrated", "likelihood"])
def test_restored_state_continues_exactly_as_if_never_stopped(fixture_model, scoring: str) -> None:
    stream = readings(live_rows(240))
    straight = detector(fixture_model, scoring=scoring)
    expected = [straight.score_one(r) for r in stream]
    first = detector(fixture_model, scoring=scoring)
    for r in stream[:150]:
        first.score_one(r)
    second = detector(fixture_model, scoring=scoring)
    second.restore(first.state())
    resumed = [second.score_one(r) for r in stream[150:]]
    assert [o.score for o in resumed] == [o.score for o in expected[150:]]
    assert [o.state for o in resumed] == ["scored"] * 90


def test_state_of_another_model_is_refused(fixture_model) -> None:
    d = detector(fixture_model)
    state = d.state()
    state["model_sha256"] = "0" * 64
    with pytest.raises(ValueError, match="another model"):
        detector(fixture_model).restore(state)
    state = d.state()
    state["h"] = [[0.0]]
    with pytest.raises(ValueError):
        detector(fixture_model).restore(state)
