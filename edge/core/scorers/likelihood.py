"""Anomaly likelihood: how rare the recent error is under its own slowly learned distribution (the default).

As Numenta's anomaly likelihood does for HTM, rarity is not the error itself but the tail probability of its
short-term mean (the last ``window`` readings) under a distribution whose mean and variance follow the
long-term average of that mean (``half_life_samples``). Per channel, three things are watched:

- the LSTM's forecast error, its distribution seeded from the model's calibration (worth 500 readings);
- with ``season_lag`` (a day, in samples), the seasonal error: the reading against the one a season ago,
  learned from the stream first (``season_learn_samples``), silently; with ``long_season_lag`` (a week) too,
  once a long season has passed, the smaller of the two: a reading that is what it was a week ago (a Monday
  after a Sunday, a weekly batch) is explained, and only a reading unlike both is seasonally rare;
- the range seen so far (from the training data's mean +- 3 sd): a reading beyond it by more than
  ``spatial_margin`` of its width is as rare as the score scale can say.

Robust by construction: the range and the season learn from the median of the last three readings, so one
glitch never enters them; a distribution learns a value clipped to ``clip_sd`` of its spread from its mean;
neither the range, the season nor the distributions learn while the protection wrapper says the reading is
not normal (a level beyond the range stays rare while an alert is open, until it is accepted as the new normal;
the season repeats the normal one before it, so an anomaly is not the reference a season later).

``level`` (what alerts are decided on) is the rarest of those, Bonferroni-corrected, over ``score_decades``.
``score`` (the ``anomaly_score``) is only the rarity that the recent past did not already show: per channel,
its level minus a memory of that channel's levels before the last reading (the largest, halving every
``novelty_half_life_samples`` readings; at the start, log10 of the calibration's readings: the rarest of the
normal ones it saw is about one in that many), or nothing when its level is no higher than the last reading's (that
reading said it already: one spike is one detection, not two while it sits in the short window), the most of
any channel, so an event on one channel does not hide a later one on another. It is sharp at the onset of a
change (a reading rarer than any before it), says each rise once (a level that climbs over a few readings
scores each step), and is back down once the change has been seen;
the alert's hold is the job of :mod:`edge.core.condition`. Plain floats: O(window) work per reading,
O(season_lag + long_season_lag) memory per channel.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from edge.core.calibration import Calibration
from edge.core.scorers.base import Judgement, finite
from edge.core.scorers.error_distribution import HALF_NORMAL_MEAN, ErrorDistribution, LikelihoodSettings
from edge.core.scorers.season import SeasonBuffer
from edge.core.scorers.tails import TAILS

__all__ = ["LikelihoodScorer", "LikelihoodSettings"]

ERROR_CLIP = 1e6  # normalised units: a larger error enters the windows at this (their running sums stay exact)


# What ``score_one`` worked out, for ``learn_one`` on the same reading: the inputs (compared by identity, then
# by value), the errors, the seasonal errors (None before a season has passed), each channel's level in decades
# (Bonferroni-corrected), the verdict.
_Pending = tuple[Sequence[float], Sequence[float], list[float], "list[float] | None", list[float], Judgement]


def _novelties(levels: Sequence[float], memory: Sequence[float], last: Sequence[float] | None) -> list[float]:
    """Per channel, what its level says that the recent past did not: nothing when it is no higher than the
    last reading's level (that reading said it already), else its rise over the memory of earlier levels."""
    if last is None:
        return [level - seen for level, seen in zip(levels, memory)]
    return [0.0 if level <= before else level - seen for level, seen, before in zip(levels, memory, last)]


class LikelihoodScorer:
    """``score_one`` → a :class:`Judgement` (no state change); ``learn_one`` learns."""

    novelty = True
    label = "likelihood (Python)"

    def __init__(self, calibration: Calibration, settings: LikelihoodSettings) -> None:
        if settings.tail not in TAILS:
            raise ValueError(f"tail {settings.tail!r} is not one of {', '.join(TAILS)}")
        self.settings = settings
        self._tail = TAILS[settings.tail]
        self._decades = calibration.score_decades
        scales = [float(s) for s in calibration.residual_scale]
        self._channels = len(scales)
        self._forecast = [ErrorDistribution(settings, s) for s in scales]
        lag = settings.season_lag
        self._seasonal = (
            [ErrorDistribution(settings, None, settings.season_learn_samples) for _ in scales] if lag else []
        )
        self._correction = math.log10(len(scales) * (2 if lag else 1))  # Bonferroni over the streams watched
        self._novelty_keep = (
            math.pow(0.5, 1.0 / settings.novelty_half_life_samples) if settings.novelty_half_life_samples > 0 else 0.0
        )
        self._low, self._high = [-3.0] * len(scales), [3.0] * len(scales)  # normalised: training mean +- 3 sd
        self._clear_context()
        # per channel, in decades; at the start the recent past is the calibration's normal readings, whose
        # rarest is about one in as many as there were
        self._memory = [math.log10(max(1, calibration.samples))] * len(scales)
        self.learned = 0
        self.protected = 0

    def _clear_context(self, keep_seasons: bool = False) -> None:
        window = self.settings.window
        self._recent: list[deque[float]] = [deque(maxlen=window) for _ in range(self._channels)]
        self._recent_seasonal: list[deque[float]] = [deque(maxlen=window) for _ in range(self._channels)]
        self._sums = [0.0] * self._channels  # running sums of those windows (kept in the state: exact restores)
        self._sums_seasonal = [0.0] * self._channels
        self._last3: deque[list[float]] = deque(maxlen=3)
        self._previous_normal: bool | None = True  # the last reading's verdict: decides its season entry
        self._levels: deque[list[float]] = deque(maxlen=1)  # the last levels: not yet in the novelty memory
        if not keep_seasons:  # per reading, a season's entry; None: no reading in that slot (a break)
            self._past = SeasonBuffer(max(1, self.settings.season_lag), self._channels)
            self._past_long = SeasonBuffer(max(1, self.settings.long_season_lag), self._channels)
        self._pending: _Pending | None = None  # type: ignore[no-redef]  # reset with the context

    @property
    def residual_scale(self) -> np.ndarray:
        """The forecast-error level in use now, per channel, as a residual scale (normalised units)."""
        return np.asarray([d.mean for d in self._forecast]) / HALF_NORMAL_MEAN

    def reset(self, lost: int | None = None) -> None:
        """After a break in the stream: forget the short windows. ``lost``: how many sample periods the break
        lasted; the seasons stay aligned in time across it: the last reading files its entry, and each lost
        period the entry a season before it (as an anomalous reading does), or an empty slot in the first
        season. None (not known, or time went back): they start over."""
        if lost is None or not self.settings.season_lag:
            self._clear_context()
            return
        if self._last3:  # the last reading before the break had no later neighbour: its entry is itself
            self._file_entry(self._last3[-1])
        self._clear_context(keep_seasons=True)
        for past in self._seasons():
            lag = past.maxlen
            for _ in range(lost % lag if len(past) == lag else min(lost, lag)):
                if len(past) == lag:
                    past.repeat_oldest()  # the entry a season before it
                else:
                    past.append(None)  # nothing

    def _evaluate(self, residual: Sequence[float], observed: Sequence[float]) -> _Pending:
        pending = self._pending
        if (
            pending is not None
            and (pending[0] is residual or pending[0] == residual)
            and (pending[1] is observed or pending[1] == observed)
        ):
            return pending
        total = sum(residual) + sum(observed)
        if total - total != 0.0:
            raise ValueError(
                f"residual {list(residual)} or reading {list(observed)} is not finite; "
                "a scorer takes only finite values"
            )
        tail, decades = self._tail, self._decades
        errors = [abs(v) if abs(v) < ERROR_CLIP else ERROR_CLIP for v in residual]
        zs = [
            d.z(recent, total_c, error)
            for d, recent, total_c, error in zip(self._forecast, self._recent, self._sums, errors)
        ]
        seasonal = None
        if self._seasonal and len(self._past) == self.settings.season_lag:
            # entry i is reading i + 1's: [1] is the one exactly a season before this reading (None: a break)
            day = self._past[1]
            if day is not None:
                seasonal = [min(abs(v - old), ERROR_CLIP) for v, old in zip(observed, day)]
            long_lag = self.settings.long_season_lag
            week = self._past_long[1] if long_lag and len(self._past_long) == long_lag else None
            if week is not None:  # explained by either season
                if seasonal is None:
                    seasonal = [min(abs(v - old), ERROR_CLIP) for v, old in zip(observed, week)]
                else:
                    seasonal = [min(e, abs(v - old)) for e, v, old in zip(seasonal, observed, week)]
        if seasonal is not None:
            for c, (d, recent, total_c, error) in enumerate(
                zip(self._seasonal, self._recent_seasonal, self._sums_seasonal, seasonal)
            ):
                if d.seen >= d.learn_samples:  # learned silently until then
                    zs[c] = max(zs[c], d.z(recent, total_c, error))
        rarity = [tail(z) if z > 0.0 else 0.0 for z in zs]
        margin = self.settings.spatial_margin
        if margin > 0:
            for c, (v, low, high) in enumerate(zip(observed, self._low, self._high)):
                reach = margin * (high - low)
                if v > high + reach or v < low - reach:
                    rarity[c] = max(rarity[c], decades)  # never seen, by far: as rare as the scale says
        correction = self._correction
        levels = [r - correction if r > correction else 0.0 for r in rarity]
        overall = max(levels)
        if self._novelty_keep:
            last = self._levels[0] if self._levels else None
            novel = max(0.0, max(_novelties(levels, self._memory, last)))
        else:
            novel = overall
        judgement = Judgement(
            min(1.0, overall / decades), min(1.0, novel / decades), tuple([min(1.0, v / decades) for v in rarity])
        )
        self._pending = (residual, observed, errors, seasonal, levels, judgement)
        return self._pending

    def score_one(self, residual: Sequence[float], observed: Sequence[float]) -> Judgement:
        """Judge one normalised residual vector and reading; nothing is learned."""
        return self._evaluate(residual, observed)[5]

    def learn_one(self, residual: Sequence[float], observed: Sequence[float], normal: bool = True) -> None:
        """Take the reading into the windows, the season, the range and the memory; into the error
        distributions only when ``normal``."""
        _, _, errors, seasonal, channel_levels, _ = self._evaluate(residual, observed)
        x = [float(v) for v in observed]
        window = self.settings.window
        for c, (recent, error) in enumerate(zip(self._recent, errors)):
            self._sums[c] += error - (recent[0] if len(recent) == window else 0.0)
            recent.append(error)
            if normal:
                self._forecast[c].learn(self._sums[c] / len(recent))
        if seasonal is not None:
            for c, (recent, error) in enumerate(zip(self._recent_seasonal, seasonal)):
                self._sums_seasonal[c] += error - (recent[0] if len(recent) == window else 0.0)
                recent.append(error)
                if normal:
                    self._seasonal[c].learn(self._sums_seasonal[c] / len(recent))
        self._advance(x, normal=normal)
        levels, keep = self._levels, self._novelty_keep
        aged = levels[0] if len(levels) == levels.maxlen else [0.0] * self._channels
        levels.append(channel_levels)
        self._memory = [a if a > m * keep else m * keep for a, m in zip(aged, self._memory)]
        self._pending = None
        if normal:
            self.learned += 1
        else:
            self.protected += 1

    def bridge_one(self, observed: Sequence[float]) -> None:
        """A reading that was not scored (filled with the forecast, or one of a warm-up): keep the season
        aligned; the range learns only from scored readings."""
        self._advance(finite(observed, "reading"), normal=None)
        self._pending = None

    def _advance(self, x: list[float], normal: bool | None = True) -> None:
        """``normal``: True, the range and the season learn; False (an anomalous reading), neither does: the
        season repeats the one before, so an anomaly is not the reference a season later; None (a bridged
        reading), the season takes it and the range does not."""
        last3 = self._last3
        seen = len(last3)
        if seen >= 2:  # the median of the last three readings, this one included
            a, b = last3[-2], last3[-1]
            filtered = [max(min(p, q), min(max(p, q), v)) for p, q, v in zip(a, b, x)]
        else:
            filtered = x
        if normal:
            self._low = [v if v < low else low for v, low in zip(filtered, self._low)]
            self._high = [v if v > high else high for v, high in zip(filtered, self._high)]
        if seen and self.settings.season_lag:
            # The season's entry is the previous reading's: the median of it and its two neighbours (this one
            # the later), so a step lands in its own slot while one glitch never enters. It is decided by
            # whether that previous reading was normal.
            self._file_entry(filtered if seen >= 2 else last3[-1])
        last3.append(x)
        self._previous_normal = normal

    def _file_entry(self, entry: list[float]) -> None:
        """The previous reading's season entry: ``entry``, or when that reading was anomalous the entry a
        season before it again, so an anomaly is not the reference a season later."""
        repeat = self._previous_normal is False
        for past in self._seasons():
            if repeat and len(past) == past.maxlen:
                past.repeat_oldest()
            else:
                past.append(entry)

    def _seasons(self) -> tuple[SeasonBuffer, ...]:
        """The season buffers in use: the day's, and the week's when there is one."""
        return (self._past, self._past_long) if self.settings.long_season_lag else (self._past,)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (the seasons as :meth:`SeasonBuffer.encode` text)."""
        return {
            "kind": "likelihood",
            "forecast": [d.state() for d in self._forecast],
            "seasonal": [d.state() for d in self._seasonal],
            "recent": [list(r) for r in self._recent],
            "recent_seasonal": [list(r) for r in self._recent_seasonal],
            "sums": list(self._sums),
            "sums_seasonal": list(self._sums_seasonal),
            "last3": list(self._last3),
            "previous_normal": self._previous_normal,
            "past": self._past.encode() if self.settings.season_lag else [],
            "past_long": self._past_long.encode() if self.settings.long_season_lag else [],
            "range": [list(self._low), list(self._high)],
            "memory": list(self._memory),
            "levels": [list(v) for v in self._levels],
            "learned": self.learned,
            "protected": self.protected,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state`; raises ``ValueError`` if it does not fit this model."""
        if not isinstance(state, dict) or state.get("kind") != "likelihood":
            raise ValueError("saved scorer state is not a likelihood scorer's")
        channels, lag, window = self._channels, self.settings.season_lag, self.settings.window
        forecast, seasonal = list(state["forecast"]), list(state.get("seasonal", []))
        if len(forecast) != channels or len(seasonal) not in (0, len(self._seasonal)):
            raise ValueError(f"saved distribution has {len(forecast)} channels, expected {channels}")

        def rows(key: str, width: int) -> list[list[float]]:
            out = [finite(row, f"saved {key}") for row in state.get(key, [])]
            if any(len(row) != width for row in out):
                raise ValueError(f"saved {key} rows are not {width} values wide")
            return out

        recent = [finite(r, "saved window")[-window:] for r in state.get("recent", [[]] * channels)]
        recent_seasonal = [finite(r, "saved window")[-window:] for r in state.get("recent_seasonal", [[]] * channels)]
        if len(recent) != channels or len(recent_seasonal) != channels:
            raise ValueError(f"saved windows are not {channels} channels")

        def slots(key: str, buffer: SeasonBuffer) -> list[list[float] | None]:
            saved = state.get(key, [])
            if isinstance(saved, str):
                return buffer.decode(saved)
            if not isinstance(saved, list):  # else a list of entries: an earlier version's checkpoint
                raise ValueError(f"saved {key} is neither encoded entries nor a list")
            out = [None if row is None else finite(row, f"saved {key}") for row in saved]
            if any(row is not None and len(row) != channels for row in out):
                raise ValueError(f"saved {key} rows are not {channels} values wide")
            return out

        last3, past = rows("last3", channels)[-3:], slots("past", self._past)[-lag:] if lag else []
        long_lag = self.settings.long_season_lag
        past_long = slots("past_long", self._past_long)[-long_lag:] if long_lag else []  # an older state: starts over
        low, high = (finite(side, "saved range") for side in state.get("range", [self._low, self._high]))
        memory = _per_channel(state.get("memory", 0.0), channels, "saved memory")
        if len(low) != channels or len(high) != channels:
            raise ValueError("saved range does not fit this model")
        sums = finite(state.get("sums", [sum(r) for r in recent]), "saved sums")
        sums_seasonal = finite(state.get("sums_seasonal", [sum(r) for r in recent_seasonal]), "saved sums")
        if len(sums) != channels or len(sums_seasonal) != channels:
            raise ValueError(f"saved sums are not {channels} channels")
        levels = [_per_channel(v, channels, "saved levels") for v in state.get("levels", [])]
        checked = [ErrorDistribution(self.settings, None) for _ in forecast + seasonal]
        for distribution, saved in zip(checked, forecast + seasonal):
            distribution.restore(saved)  # raises on a bad one before anything here changes
        for distribution, saved in zip(self._forecast + self._seasonal, forecast + seasonal):
            distribution.restore(saved)
        self._clear_context()
        for target, saved in zip(self._recent + self._recent_seasonal, recent + recent_seasonal):
            target.extend(saved)
        self._last3.extend(last3)
        previous_normal = state.get("previous_normal", True)
        self._previous_normal = previous_normal if previous_normal in (True, False, None) else True
        self._sums, self._sums_seasonal = sums, sums_seasonal
        self._past.extend(past)
        self._past_long.extend(past_long)
        self._low, self._high, self._memory = low, high, memory
        self._levels.extend(levels[-(self._levels.maxlen or 1) :])
        self.learned, self.protected = int(state.get("learned", 0)), int(state.get("protected", 0))


def _per_channel(value: Any, channels: int, what: str) -> list[float]:
    """A saved per-channel list, or one number for all (a state from before the memory was per channel)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * channels
    out = finite(value, what)
    if len(out) != channels:
        raise ValueError(f"{what} is not {channels} channels")
    return out
