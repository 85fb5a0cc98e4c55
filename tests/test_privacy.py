"""Nothing leaves the gateway unasked: an agent start writes only into its own state and runtime folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import live_rows, write_config, write_history

from edge.privacy import TELEMETRY_OPT_OUT

AGENT = "import sys; from edge.cli import main; sys.exit(main(sys.argv[1:]))"


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_a_start_writes_nothing_outside_the_agents_folders(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    csv = write_history(work / "live.csv", live_rows(60), "timestamp,temperature,vibration")
    config = write_config(work, f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\n\n'
                                '[[sinks]]\ntype = "log"\n')
    before = files_under(work)
    env = {k: v for k, v in os.environ.items() if k not in (TELEMETRY_OPT_OUT, "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    done = subprocess.run([sys.executable, "-c", AGENT, "run", "--config", str(config)], env=env, cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert files_under(home) == set()  # no onnxruntime device id, no telemetry database
    assert files_under(tmp_path / "tmp") == set()
    written = files_under(work) - before
    assert written and all(p.parts[0] in ("state", "run") for p in written), written


def test_the_opt_out_respects_a_users_own_setting(monkeypatch) -> None:
    from edge.privacy import opt_out_of_telemetry

    monkeypatch.setenv(TELEMETRY_OPT_OUT, "0")
    opt_out_of_telemetry()
    assert os.environ[TELEMETRY_OPT_OUT] == "0"
    monkeypatch.delenv(TELEMETRY_OPT_OUT)
    opt_out_of_telemetry()
    assert os.environ[TELEMETRY_OPT_OUT] == "1"
