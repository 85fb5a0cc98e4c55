"""The likelihood scorer with its per-reading recursion compiled (``_likelihood_core.c``), when the install built it.

The C does the very operations of :class:`LikelihoodScorer`, in the same order, on the same doubles, so every
judgement and every state is bit for bit the Python one (``tests/test_compiled_scorer.py`` checks that on random
streams with breaks, bridged readings and restores). It costs a fraction of the Python: see
docs/benchmarks.md. The Python class stays the reference, and the scorer wherever the extension is missing
(built without a compiler; ``EDGE_PURE_PYTHON=1`` forces it). Checkpoints, their validation and format are the
Python class's: the C keeps only the numbers, loaded from and exported to the Python attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from edge.core.calibration import Calibration
from edge.core.native import compiled_module
from edge.core.scorers.base import Judgement
from edge.core.scorers.error_distribution import HALF_NORMAL_MEAN, ErrorDistribution, LikelihoodSettings
from edge.core.scorers.likelihood import ERROR_CLIP, LikelihoodScorer
from edge.core.scorers.season import SeasonBuffer

__all__ = ["CompiledLikelihoodScorer", "compiled_core", "likelihood_scorer"]


def compiled_core() -> ModuleType | None:
    """The compiled module, or None where it was not built (or ``EDGE_PURE_PYTHON`` is set)."""
    return compiled_module("edge.core.scorers._likelihood_core")


def _constants(d: ErrorDistribution) -> tuple[float, float, float, float, float, int, int, int]:
    return (d.mean, d.var, d.floor, d.rate, d.clip_sd, d.seen, d.prior, d.learn_samples)


class CompiledLikelihoodScorer(LikelihoodScorer):
    """:class:`LikelihoodScorer`, its recursion in C; the same contract, the same results.

    Its Python attributes are the C's as of the last :meth:`state`; :meth:`state` gives the current ones. The
    seasons, the large part, are not kept twice: between calls the Python side holds empty ones."""

    label = "likelihood (compiled)"

    def __init__(self, calibration: Calibration, settings: LikelihoodSettings, core: ModuleType) -> None:
        super().__init__(calibration, settings)
        self._core = core.Core(
            self._channels,
            settings.window,
            settings.season_lag,
            settings.long_season_lag if settings.season_lag else 0,
            settings.spatial_margin,
            self._decades,
            self._correction,
            self._novelty_keep,
            ERROR_CLIP,
            [_constants(d) for d in self._forecast],
            [_constants(d) for d in self._seasonal],
            Judgement,
        )
        self._load_core()

    def _load_core(self) -> None:
        """The C takes this object's attributes; the Python seasons are then let go (the C has them)."""
        self._core.load(self._attributes())
        self._let_seasons_go()

    def _let_seasons_go(self) -> None:
        """Empty Python seasons in place of full ones: the C holds the seasons between calls."""
        self._past, self._past_long = SeasonBuffer(1, self._channels), SeasonBuffer(1, self._channels)

    def _attributes(self) -> tuple[Any, ...]:
        """What the C keeps, from this object's attributes (as :meth:`Core.load` takes it)."""
        return (
            [(d.mean, d.var, d.seen) for d in self._forecast],
            [(d.mean, d.var, d.seen) for d in self._seasonal],
            [list(r) for r in self._recent],
            [list(r) for r in self._recent_seasonal],
            list(self._sums),
            list(self._sums_seasonal),
            [list(r) for r in self._last3],
            self._previous_normal,
            self._past.ordered().tobytes(),
            self._past_long.ordered().tobytes(),
            list(self._low),
            list(self._high),
            list(self._memory),
            [list(v) for v in self._levels],
        )

    def _take_from_core(self) -> None:
        """This object's attributes from what the C keeps now (before the Python state is read)."""
        (forecast, seasonal, recent, recent_seasonal, sums, sums_seasonal, last3, previous, past, past_long, low,
         high, memory, levels) = self._core.export()  # fmt: skip
        for distribution, saved in zip(self._forecast + self._seasonal, forecast + seasonal):
            distribution.restore(saved)
        self._clear_context()
        for target, values in zip(self._recent + self._recent_seasonal, recent + recent_seasonal):
            target.extend(values)
        self._sums, self._sums_seasonal = sums, sums_seasonal
        self._last3.extend(last3)
        self._previous_normal = previous
        self._past.load_ordered(past)
        self._past_long.load_ordered(past_long)
        self._low, self._high, self._memory = low, high, memory
        self._levels.extend(levels)

    @property
    def residual_scale(self) -> np.ndarray:
        return np.asarray(self._core.forecast_means()) / HALF_NORMAL_MEAN

    def score_one(self, residual: Sequence[float], observed: Sequence[float]) -> Judgement:
        return self._core.evaluate(residual, observed)  # type: ignore[no-any-return]

    def learn_one(self, residual: Sequence[float], observed: Sequence[float], normal: bool = True) -> None:
        self._core.learn(residual, observed, normal)
        if normal:
            self.learned += 1
        else:
            self.protected += 1

    def bridge_one(self, observed: Sequence[float]) -> None:
        self._core.bridge(observed)

    def reset(self, lost: int | None = None) -> None:
        self._core.reset(lost)

    def state(self) -> dict[str, Any]:
        self._take_from_core()
        saved = super().state()
        self._let_seasons_go()
        return saved

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)  # validates, and raises before anything changes
        self._load_core()


def likelihood_scorer(calibration: Calibration, settings: LikelihoodSettings) -> LikelihoodScorer:
    """The likelihood scorer: compiled where the extension is built, for the tail it computes and seasons of at
    least 2 readings (the config never makes a season of 1; the Python says what is wrong with one)."""
    core = compiled_core()
    if core is None or settings.tail != "student3" or 1 in (settings.season_lag, settings.long_season_lag):
        return LikelihoodScorer(calibration, settings)
    return CompiledLikelihoodScorer(calibration, settings, core)
