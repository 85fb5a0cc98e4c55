"""Per-reading cost of scoring and deciding alone (no LSTM, no I/O), for this checkout or another one.

The demo model's 3 channels at one reading every 5 minutes (a day's season and the range in use), 30,000
synthetic normalised readings and residuals; best of 3 passes over ``score_one`` + ``holding`` + ``update`` +
``learn_one`` (the previous API, before issue 12: ``score_one`` + ``update``). To compare with an earlier commit
in one sitting: ``git worktree add /tmp/old e1ef420`` then

    .venv/bin/python bench/scoring.py --root /tmp/old --model build/demo/model.onnx
    .venv/bin/python bench/scoring.py --model build/demo/model.onnx

(``make demo`` writes build/demo/model.onnx.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to time")
    parser.add_argument("--model", type=Path, default=Path("build/demo/model.onnx"))
    parser.add_argument("--readings", type=int, default=30_000)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from edge.config import DetectorSection
    from edge.core.detector import Detector
    from edge.model.loader import load_model

    model = load_model(args.model)
    detector = Detector("pump-1", model, DetectorSection().resolve(model.metadata, None))
    rng = np.random.default_rng(0)
    channels = len(model.metadata.channels)
    items = [
        (
            300.0 * i,
            rng.normal(0, 0.1, channels).tolist(),
            (0.8 * np.sin(np.arange(channels) + i * 2 * np.pi / 288) + rng.normal(0, 0.1, channels)).tolist(),
        )
        for i in range(args.readings)
    ]
    scorer, policy = detector.scorer, detector.policy
    condition = getattr(detector, "condition", None)

    def one(time_s: float, residual: list[float], x: list[float]) -> None:
        if condition is None:  # before issue 12: score_one learned, update decided
            policy.update(time_s, scorer.score_one(residual, x)[0])
            return
        judgement = scorer.score_one(residual, x)
        was_open = policy.active
        decision = policy.update(time_s, judgement.level, was_open and condition.holding(x))
        detector._protected.learn_one(residual, x, judgement, was_open or decision.alerting)
        condition.learn_one(x, not (was_open or decision.alerting))

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for item in items:
            one(*item)
        best = min(best, (time.perf_counter() - started) / len(items) * 1e6)
    print(
        f"{args.root}: {best:.1f} µs per reading for scoring and deciding (best of 3 x {len(items):,}; "
        f"{channels} channels, season {detector.settings.likelihood.season_lag} readings)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
