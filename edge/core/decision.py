"""From levels to alerts: debounce (k of the last n), hysteresis, hold, cooldown, acceptance. Pure logic.

An alert is raised when at least ``k`` of the last ``n`` scored samples reach the
threshold, and cleared once ``clear_samples`` samples in a row stay below the lower
``clear_level`` while the condition is not held (``update(..., holding=True)``: the readings
are still away from the normal the alert was raised from, see :mod:`edge.core.condition`). An alert
still open after ``accept_after_s`` is closed as ``accepted``: the condition is taken as the new
normal, by that stated rule. After an alert ends, no new alert starts on that sensor for
``cooldown_s`` seconds (suppressed rises are counted).

>>> policy = AlertPolicy(DecisionSettings(threshold=0.9, k=2, n=3, clear_level=0.5, clear_samples=2))
>>> [policy.update(t, s).state for t, s in enumerate([0.95, 0.1, 0.92, 0.8, 0.4, 0.3])]
['quiet', 'quiet', 'raised', 'active', 'active', 'cleared']
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal, get_args

DecisionState = Literal["quiet", "raised", "active", "cleared", "accepted"]


@dataclass(frozen=True)
class DecisionSettings:
    """Thresholds and timing of one sensor's alerts."""

    threshold: float
    k: int = 1
    n: int = 1
    clear_level: float | None = None
    clear_samples: int = 1
    cooldown_s: float = 0.0
    accept_after_s: float = 0.0  # 0: an alert is never accepted as the new normal by time alone

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n:
            raise ValueError(f"debounce needs 1 <= k <= n, got k={self.k}, n={self.n}")
        if self.clear_samples < 1:
            raise ValueError(f"clear_samples must be at least 1, got {self.clear_samples}")
        if not self.clear_at <= self.threshold:
            raise ValueError(f"clear_level {self.clear_at} must not be above the threshold {self.threshold}")

    @property
    def clear_at(self) -> float:
        """The clear level (the threshold itself when none is set)."""
        return self.threshold if self.clear_level is None else self.clear_level


@dataclass(frozen=True)
class Decision:
    """What happened at one sample: ``raised`` and ``cleared`` are the transitions."""

    state: DecisionState
    above: bool

    @property
    def alerting(self) -> bool:
        """An alert is active at this sample (including the one that raised it)."""
        return self.state in ("raised", "active")


_DECISIONS: dict[tuple[DecisionState, bool], Decision] = {
    (state, above): Decision(state, above) for state in get_args(DecisionState) for above in (False, True)
}  # one shared instance of each (they are frozen): none is built per sample


class AlertPolicy:
    """``update(time, score)`` once per scored sample; ``interrupt()`` when scoring pauses."""

    def __init__(self, settings: DecisionSettings) -> None:
        self.settings = settings
        self._recent: deque[bool] = deque(maxlen=settings.n)
        self._active = False
        self._calm = 0
        self._cooldown_until = float("-inf")
        self._raised_at = 0.0
        self.suppressed = 0

    @property
    def active(self) -> bool:
        """An alert is open."""
        return self._active

    def update(self, time: float, score: float, holding: bool = False) -> Decision:
        """Take one level; say whether an alert was raised, goes on, cleared or was accepted."""
        settings = self.settings
        above = score >= settings.threshold
        self._recent.append(above)
        if self._active:
            self._calm = self._calm + 1 if score < settings.clear_at and not holding else 0
            if self._calm >= settings.clear_samples:
                self._end(time)
                return _DECISIONS["cleared", above]
            if settings.accept_after_s > 0 and time - self._raised_at >= settings.accept_after_s:
                self._end(time)
                return _DECISIONS["accepted", above]
            return _DECISIONS["active", above]
        if sum(self._recent) >= settings.k:
            if time < self._cooldown_until:
                if above:
                    self.suppressed += 1
                return _DECISIONS["quiet", above]
            self._active, self._calm, self._raised_at = True, 0, time
            return _DECISIONS["raised", above]
        return _DECISIONS["quiet", above]

    def _end(self, time: float) -> None:
        self._active = False
        self._recent.clear()
        self._cooldown_until = time + self.settings.cooldown_s

    def interrupt(self, time: float) -> bool:
        """Scoring paused (fault or gap): close any open alert and forget the recent scores.

        Returns whether an alert was closed.
        """
        was_active = self._active
        if was_active:
            self._end(time)
        self._recent.clear()
        return was_active
