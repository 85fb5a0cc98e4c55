"""Files the agent writes (state, status, drop-ins): whole or not at all, with their mode, nothing left beside."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from edge.files import write_json_atomic, write_text_atomic


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
