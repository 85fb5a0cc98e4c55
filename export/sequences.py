"""Pure helpers that turn segments of a series into training lanes and forecast rows.

Training and every evaluation path (torch, ORT fp32, ORT int8, streaming) go
through :func:`forecast_rows`, so their notion of "the forecast of row t" is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Segment = tuple[int, int]


def clip_segments(segments: Sequence[Segment], start: int, end: int) -> list[Segment]:
    """The parts of ``segments`` inside ``[start, end)``."""
    clipped = [(max(s, start), min(e, end)) for s, e in segments]
    return [(s, e) for s, e in clipped if e > s]


def cut_lanes(segments: Sequence[Segment], lane_rows: int, offset: int) -> list[Segment]:
    """Cut each segment into lanes of about ``lane_rows`` rows, the first cut at ``offset``.

    Neighbouring lanes share one row, so every (row, next row) pair of a segment
    lands in exactly one lane; no lane crosses a segment boundary.

    >>> cut_lanes([(0, 10)], lane_rows=4, offset=1)
    [(0, 2), (1, 6), (5, 10)]
    >>> cut_lanes([(0, 10), (12, 14)], lane_rows=4, offset=0)
    [(0, 5), (4, 9), (8, 10), (12, 14)]
    """
    lanes: list[Segment] = []
    for start, end in segments:
        cuts = sorted({start, *range(start + offset % lane_rows, end - 1, lane_rows), end - 1})
        lanes.extend((a, b + 1) for a, b in zip(cuts, cuts[1:]))
    return lanes


def lane_arrays(series: np.ndarray, lanes: Sequence[Segment], steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, targets ``[lanes, steps, C]`` and a mask ``[lanes, steps]`` (zero-padded)."""
    channels = series.shape[1]
    inputs = np.zeros((len(lanes), steps, channels), dtype=np.float32)
    targets = np.zeros_like(inputs)
    mask = np.zeros((len(lanes), steps), dtype=np.float32)
    for i, (start, end) in enumerate(lanes):
        n = end - start - 1
        inputs[i, :n] = series[start : end - 1]
        targets[i, :n] = series[start + 1 : end]
        mask[i, :n] = 1.0
    return inputs, targets, mask


def forecast_rows(
    series: np.ndarray, segments: Sequence[Segment], run: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Forecast of every row from the rows before it in its segment; NaN where there is none.

    ``run`` maps a ``[T, C]`` segment, started from a zero state, to ``[T, C]`` outputs
    where output ``i`` forecasts row ``i + 1``.
    """
    forecasts = np.full(series.shape, np.nan, dtype=np.float64)
    for start, end in segments:
        if end - start >= 2:
            forecasts[start + 1 : end] = run(series[start : end - 1])
    return forecasts


def scored_rows(segments: Sequence[Segment], start: int, end: int, warmup: int) -> np.ndarray:
    """Indices of rows in ``[start, end)`` whose forecast came after ``warmup`` rows of their segment."""
    rows = [np.arange(max(s + warmup, start), min(e, end)) for s, e in segments]
    return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
