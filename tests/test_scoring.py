"""The calibrated scorer's slow adaptation, and the protection wrapper that keeps anomalies out of it."""

from __future__ import annotations

import numpy as np

from edge.core.calibration import fit_calibration
from edge.core.scorers import AdaptationSettings, CalibratedScorer, Protected


def calibration():
    rng = np.random.default_rng(0)
    return fit_calibration(rng.normal(0, 0.1, size=(5000, 2)), sample_period_s=60.0, false_alarms_per_day=1.0)


def feed(scorer: CalibratedScorer, residuals: np.ndarray, protect_at: float = float("inf")) -> list[float]:
    wrapper, out = Protected(scorer, protect_at), []
    for r in residuals:
        judgement = wrapper.score_one(list(r), [0.0, 0.0])
        wrapper.learn_one(list(r), [0.0, 0.0], judgement, alert_open=False)
        out.append(judgement.level)
    return out


def test_the_scale_follows_a_lasting_change_in_noise() -> None:
    cal = calibration()
    scorer = CalibratedScorer(cal, AdaptationSettings(half_life_samples=200))
    scores = feed(scorer, np.random.default_rng(1).normal(0, 0.15, size=(3000, 2)), cal.threshold * 0.8)
    assert np.allclose(scorer.residual_scale, 0.15, rtol=0.1)
    assert np.mean(scores[-500:]) < np.mean(scores[:200])  # what was surprising at first is normal once learned


def test_protect_keeps_an_anomaly_from_widening_the_scale() -> None:
    cal = calibration()
    settings = AdaptationSettings(half_life_samples=50)
    protected, unprotected = CalibratedScorer(cal, settings), CalibratedScorer(cal, settings)
    rng = np.random.default_rng(2)
    anomaly = rng.normal(0, 2.0, size=(300, 2))
    feed(protected, anomaly, cal.threshold * 0.8)
    feed(unprotected, anomaly)
    assert np.allclose(protected.residual_scale, cal.residual_scale, rtol=0.15) and protected.protected > 250
    assert (unprotected.residual_scale > 3 * np.asarray(cal.residual_scale)).all()
    again = rng.normal(0, 0.6, size=(50, 2))
    seen = sum(s >= cal.threshold for s in feed(protected, again, cal.threshold * 0.8))
    hidden = sum(s >= cal.threshold for s in feed(unprotected, again))
    assert seen >= 30 and hidden <= 5, (seen, hidden)


def test_an_open_alert_protects_whatever_the_score() -> None:
    cal = calibration()
    scorer = CalibratedScorer(cal, AdaptationSettings(half_life_samples=10))
    wrapper = Protected(scorer, protect_at=1.0)
    for _ in range(100):
        judgement = wrapper.score_one([0.05, 0.05], [0.0, 0.0])
        wrapper.learn_one([0.05, 0.05], [0.0, 0.0], judgement, alert_open=True)
    assert np.allclose(scorer.residual_scale, cal.residual_scale) and scorer.protected == 100


def test_drift_is_bounded_and_disabled_adaptation_never_moves() -> None:
    cal = calibration()
    scorer = CalibratedScorer(cal, AdaptationSettings(half_life_samples=10, max_drift=2.0))
    feed(scorer, np.full((500, 2), 5.0))
    assert np.allclose(scorer.residual_scale, 2.0 * np.asarray(cal.residual_scale))
    still = CalibratedScorer(cal, AdaptationSettings(enabled=False))
    feed(still, np.full((100, 2), 0.5))
    assert np.allclose(still.residual_scale, cal.residual_scale)
