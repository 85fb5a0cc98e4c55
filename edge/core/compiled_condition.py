"""The condition monitor with its per-reading recursion compiled (``_condition_core.c``), when the install built it.

As :mod:`edge.core.scorers.compiled` for the scorer: the C does the very operations of
:class:`ConditionMonitor` in the same order on the same doubles (``tests/test_compiled_condition.py`` checks
every level and state against it), the Python class stays the reference and the fallback (``EDGE_PURE_PYTHON=1``
forces it), and the state's format and validation stay Python's. The rare paths (the hold's deviation, the
regime warning's medians, an accepted alert's rebase) run the Python methods on attributes taken from the C.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from edge.core.condition import ConditionMonitor, ConditionSettings
from edge.core.native import compiled_module

__all__ = ["CompiledConditionMonitor", "condition_monitor"]


def compiled_condition_core() -> ModuleType | None:
    """The compiled module, or None where it was not built (or ``EDGE_PURE_PYTHON`` is set)."""
    return compiled_module("edge.core._condition_core")


class CompiledConditionMonitor(ConditionMonitor):
    """:class:`ConditionMonitor`, its recursion in C; the same contract, the same results.

    Its Python attributes (``mean``, ``level_var``, ...) are the C's as of the last :meth:`state` or rare-path
    call; :meth:`state` gives the current ones."""

    label = "compiled"

    def __init__(
        self,
        channels: int,
        settings: ConditionSettings,
        spread: Sequence[float],
        score_decades: float,
        core: ModuleType,
    ) -> None:
        super().__init__(channels, settings, spread, score_decades)
        self._core = core.Condition(
            channels,
            settings.window,
            settings.raises,
            settings.hold_sd,
            self._rate,
            self._level_rate,
            self._decades,
            self._correction,
            self._z_floor2,
            settings.regime_sd,
        )
        self._load()

    def _load(self) -> None:
        self._core.load(
            (self.mean, self.var, [list(r) for r in self._recent], self._sums, self.level_mean, self.level_var)
        )

    def _take_from_core(self) -> None:
        """This object's attributes from what the C keeps now (before a Python method reads them)."""
        self.mean, self.var, recent, self._sums, self.level_mean, self.level_var = self._core.export()
        self._recent.clear()
        self._recent.extend(recent)
        self._judged_means = (None, [])

    def judge(self, x: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        return self._core.judge(x)  # type: ignore[no-any-return]

    def learn_one(self, x: Sequence[float], normal: bool, level_normal: bool | None = None) -> None:
        self._core.learn(x, normal, level_normal)

    def outside_training(self, x: Sequence[float]) -> list[int]:
        outside: list[int] = self._core.outside(x)
        if not outside:
            return outside
        self._take_from_core()
        return [c for c in outside if abs(self.short_median(x, c)) > self.settings.regime_sd]

    def short_mean(self, x: Sequence[float]) -> list[float]:
        self._take_from_core()
        return super().short_mean(x)

    def deviation(self, x: Sequence[float]) -> float:
        self._take_from_core()
        return super().deviation(x)

    def rebase(self) -> None:
        self._take_from_core()
        super().rebase()
        self._load()

    def reset(self) -> None:
        self._core.reset()

    def state(self) -> dict[str, Any]:
        self._take_from_core()
        return super().state()

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)  # validates, and raises before anything changes
        self._load()


def condition_monitor(
    channels: int, settings: ConditionSettings, spread: Sequence[float] = (), score_decades: float = 10.0
) -> ConditionMonitor:
    """The condition monitor: compiled where the extension is built."""
    core = compiled_condition_core()
    if core is None:
        return ConditionMonitor(channels, settings, spread, score_decades)
    return CompiledConditionMonitor(channels, settings, spread, score_decades, core)
