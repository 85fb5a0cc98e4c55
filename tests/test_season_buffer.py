"""The season buffer behaves exactly as a deque of entries with that maxlen, in flat doubles."""

from __future__ import annotations

import tracemalloc
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.scorers.season import SeasonBuffer

ENTRY = st.none() | st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=2)
STEP = st.tuples(st.sampled_from(["append", "repeat"]), ENTRY)


@given(st.integers(1, 6), st.lists(STEP, max_size=40))
@settings(max_examples=200, deadline=None)
def test_it_keeps_what_a_deque_of_entries_keeps(maxlen: int, steps: list) -> None:
    model: deque = deque(maxlen=maxlen)
    buffer = SeasonBuffer(maxlen, 2)
    for action, entry in steps:
        if action == "repeat" and len(model) == maxlen:
            model.append(model[0])
            buffer.repeat_oldest()
        else:
            model.append(entry)
            buffer.append(entry)
        assert len(buffer) == len(model)
        assert list(buffer) == list(model)
        assert [buffer[i] for i in range(len(model))] == list(model)


def test_an_entry_beyond_those_held_is_an_index_error() -> None:
    buffer = SeasonBuffer(3, 2)
    buffer.append([1.0, 2.0])
    assert buffer[0] == [1.0, 2.0]
    with pytest.raises(IndexError):
        buffer[1]


def test_a_week_of_three_channels_costs_its_doubles_and_little_more() -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        buffer = SeasonBuffer(10_080, 3)  # a week at a reading a minute
        for i in range(10_080):
            buffer.append([i + 0.5, -i - 0.25, i * 1e-3])
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(buffer) == 10_080 and buffer[10_079] == [10_079.5, -10_079.25, 10.079]
    assert held < 10_080 * 3 * 8 * 1.1  # a deque of lists: about 150 bytes an entry, 1.5 MB


@given(st.integers(1, 6), st.lists(ENTRY, max_size=20))
@settings(max_examples=100, deadline=None)
def test_its_encoding_gives_back_the_very_entries(maxlen: int, entries: list) -> None:
    buffer = SeasonBuffer(maxlen, 2)
    buffer.extend(entries)
    assert SeasonBuffer(maxlen, 2).decode(buffer.encode()) == list(buffer)
