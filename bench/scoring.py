"""Per-reading cost of scoring and deciding alone (no LSTM, no I/O), for this checkout or another one.

The demo model's 3 channels at one reading every 5 minutes (a day's season and the range in use), 30,000
synthetic normalised readings and residuals; best of 3 passes over ``score_one`` + ``holding`` + ``update`` +
``learn_one`` (the previous API, before issue 12: ``score_one`` + ``update``). The ``edge`` package timed is the
one Python imports, so to compare with an earlier commit in one sitting: ``git worktree add /tmp/old e1ef420`` then

    PYTHONPATH=/tmp/old .venv/bin/python bench/scoring.py --model build/demo/model.onnx
    .venv/bin/python bench/scoring.py --model build/demo/model.onnx

(``make demo`` writes build/demo/model.onnx.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import judge_and_decide

import edge
from edge.config import DetectorSection
from edge.core.detector import Detector
from edge.model.loader import load_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("build/demo/model.onnx"))
    parser.add_argument("--readings", type=int, default=30_000)
    args = parser.parse_args()
    checkout = Path(edge.__file__).resolve().parents[1]
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
        else:
            judge_and_decide(detector, time_s, residual, x)

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for item in items:
            one(*item)
        best = min(best, (time.perf_counter() - started) / len(items) * 1e6)
    print(
        f"{checkout}: {best:.1f} µs per reading for scoring and deciding (best of 3 x {len(items):,}; "
        f"{channels} channels, season {detector.settings.likelihood.season_lag} readings)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
