"""Files the agent writes (state, status, drop-ins): whole or not at all, with their mode, nothing left beside."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.files import json_pieces, write_json_atomic, write_text_atomic


def test_a_write_replaces_the_file_whole_with_its_mode_and_leaves_nothing_beside(tmp_path: Path) -> None:
    target = tmp_path / "state" / "agent.json"
    write_json_atomic(target, {"seen": 1})
    write_text_atomic(target, '{"seen": 2}', mode=0o640)
    assert target.read_text() == '{"seen": 2}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700  # a folder it made is private
    assert sorted(p.name for p in target.parent.iterdir()) == ["agent.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "agent.json"
    write_text_atomic(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "new \ud800")  # cannot be encoded: fails mid-write
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["agent.json"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=140) | st.dictionaries(st.text(max_size=4), inner, max_size=5),
    max_leaves=400,
)


@given(JSON)
@settings(max_examples=150, deadline=None)
def test_json_in_pieces_is_exactly_what_one_dumps_writes(data: Any) -> None:
    assert "".join(json_pieces(data)) == json.dumps(data, separators=(",", ":"), sort_keys=True)


def test_a_large_state_is_written_in_small_pieces_and_reads_back_equal(tmp_path: Path) -> None:
    season = [[float(i) + 0.125, -float(i), None if i % 7 else 1e-300] for i in range(20_000)]
    state = {"format": 1, "sensors": {"pump-1": {"past": season, "learned": 20_000}}}
    assert max(len(piece) for piece in json_pieces(state)) < 8_000  # the season is ~1 MB of text
    write_json_atomic(tmp_path / "checkpoint.json", state)
    assert json.loads((tmp_path / "checkpoint.json").read_text()) == state
