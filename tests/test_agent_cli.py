"""edge-agent as a person and systemd use it: one-line errors, and exit codes a unit can act on."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURE_MODEL, write_config

from edge.cli import EXIT_CONFIG, main


def test_a_damaged_model_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(FIXTURE_MODEL.read_bytes()[:-100])
    assert main(["inspect", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edge-agent: error: model ") and err.count("\n") == 1


def test_run_with_a_bad_config_exits_with_ex_config_so_systemd_does_not_restart_it(tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path, '[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "x.csv"\nbogus_key = 1\n')
    assert main(["run", "--config", str(config)]) == EXIT_CONFIG == 78
    err = capsys.readouterr().err
    assert err.startswith("edge-agent: error: ") and "bogus_key" in err and err.count("\n") == 1


def test_run_with_a_tampered_model_exits_with_ex_config(tmp_path: Path, capsys) -> None:
    model = tmp_path / "model.onnx"
    data = bytearray(FIXTURE_MODEL.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    config = write_config(tmp_path, '[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "x.csv"\n')
    config.write_text(config.read_text().replace(str(FIXTURE_MODEL), str(model)))
    assert main(["run", "--config", str(config)]) == EXIT_CONFIG
    assert "model" in capsys.readouterr().err


def test_other_commands_keep_exit_status_2(tmp_path: Path, capsys) -> None:
    assert main(["check", "--config", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml" in capsys.readouterr().err


def test_status_is_light_it_loads_no_onnxruntime(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from edge.cli import main; main(['status', '--runtime-dir', sys.argv[1]]); "
        "print(sorted(m for m in ('onnxruntime', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]" and "no status file in" in result.stderr


def test_under_systemd_the_error_line_carries_the_err_priority(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    stderr_file = tmp_path / "stderr"
    with stderr_file.open("w") as stream:
        info = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}  # as systemd sets it
        code = subprocess.run(
            [sys.executable, "-m", "edge.cli", "check", "--config", str(tmp_path / "absent.toml")],
            stderr=stream,
            env=env,
            timeout=60,
        ).returncode
    assert code == 2 and stderr_file.read_text().startswith("<3>edge-agent: error: ")
