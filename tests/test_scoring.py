"""Online adaptation follows the recent error scale; protect keeps anomalies from moving it."""

from __future__ import annotations

import numpy as np

from edge.calibration import fit_calibration
from edge.scoring import AdaptationSettings, AdaptiveScorer


def calibration():
    rng = np.random.default_rng(0)
    return fit_calibration(rng.normal(0, 0.1, size=(5000, 2)), sample_period_s=60.0, false_alarms_per_day=1.0)


def feed(scorer: AdaptiveScorer, residuals: np.ndarray) -> list[float]:
    return [scorer.score_one(r)[0] for r in residuals]


def test_the_scale_follows_a_lasting_change_in_noise() -> None:
    cal = calibration()
    scorer = AdaptiveScorer(cal, AdaptationSettings(half_life_samples=200), protect_above=cal.threshold * 0.8)
    noisier = np.random.default_rng(1).normal(0, 0.15, size=(3000, 2))
    scores = feed(scorer, noisier)
    assert np.allclose(scorer.residual_scale, 0.15, rtol=0.1)
    early, late = np.mean(scores[:200]), np.mean(scores[-500:])
    assert late < early  # what was surprising at first is normal once learned


def test_protect_keeps_an_anomaly_from_widening_the_scale() -> None:
    cal = calibration()
    settings = AdaptationSettings(half_life_samples=50)
    protected = AdaptiveScorer(cal, settings, protect_above=cal.threshold * 0.8)
    unprotected = AdaptiveScorer(cal, settings, protect_above=float("inf"))
    rng = np.random.default_rng(2)
    anomaly = rng.normal(0, 2.0, size=(300, 2))
    feed(protected, anomaly)
    feed(unprotected, anomaly)
    assert np.allclose(protected.residual_scale, cal.residual_scale, rtol=0.15)  # only calm-looking samples count
    assert protected.protected > 250
    assert (unprotected.residual_scale > 3 * np.asarray(cal.residual_scale)).all()
    # the next anomaly is still seen by the protected scorer, and hidden from the other one
    again = rng.normal(0, 0.6, size=(50, 2))
    seen = sum(s >= cal.threshold for s in feed(protected, again))
    hidden = sum(s >= cal.threshold for s in feed(unprotected, again))
    assert seen >= 30 and hidden <= 5, (seen, hidden)


def test_drift_is_bounded() -> None:
    cal = calibration()
    scorer = AdaptiveScorer(cal, AdaptationSettings(half_life_samples=10, max_drift=2.0), protect_above=float("inf"))
    feed(scorer, np.full((500, 2), 5.0))
    assert np.allclose(scorer.residual_scale, 2.0 * np.asarray(cal.residual_scale))


def test_disabled_adaptation_never_moves_and_state_round_trips() -> None:
    cal = calibration()
    still = AdaptiveScorer(cal, AdaptationSettings(enabled=False), protect_above=1.0)
    feed(still, np.full((100, 2), 0.5))
    assert np.allclose(still.residual_scale, cal.residual_scale) and still.learned == 0
    moving = AdaptiveScorer(cal, AdaptationSettings(half_life_samples=30), protect_above=1.0)
    feed(moving, np.random.default_rng(3).normal(0, 0.2, size=(100, 2)))
    copy = AdaptiveScorer(cal, AdaptationSettings(half_life_samples=30), protect_above=1.0)
    copy.restore(moving.state())
    probe = np.random.default_rng(4).normal(0, 0.1, size=(50, 2))
    assert feed(copy, probe) == feed(moving, probe)
