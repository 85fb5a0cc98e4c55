"""What a gateway keeps out of its memory: OpenSSL (hashlib, ssl), the HTTP stack unless configured, and
shutil's compression libraries (argparse would import shutil for the terminal's width)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

HEAVY = ("hashlib", "_hashlib", "ssl", "_ssl", "http.server", "http.client", "email", "shutil", "bz2", "lzma")


def _loaded_heavy(code: str) -> list[str]:
    probe = textwrap.dedent(code) + f"\nprint(sorted(m for m in sys.modules if m in {HEAVY!r}))\n"
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + probe], capture_output=True, text=True, timeout=120, check=True
    )
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])  # the names the probe printed


def test_the_service_without_metrics_http_loads_neither_openssl_nor_http() -> None:
    assert _loaded_heavy("import edge.cli, edge.service.agent, edge.service.extras, edge.metrics.publish") == []


def test_serving_metrics_loads_the_http_stack_only_then() -> None:
    assert "http.server" in _loaded_heavy("import edge.metrics.endpoint")


def test_a_replay_that_alerts_loads_no_openssl(tmp_path) -> None:
    """Verifying the model, its metadata checksum and an alert's id: none imports hashlib's OpenSSL binding."""
    from conftest import FIXTURE_MODEL, live_rows, write_history

    rows = [list(r) for r in live_rows(300, seed=31)]
    for row in rows[200:240]:
        row[1] += 30.0  # the bearing overheats: an alert, so an alert id is made
    csv = write_history(tmp_path / "live.csv", [tuple(r) for r in rows])
    code = f"""
        import sys
        from edge.cli import main
        code = main(["replay", "--model", {str(FIXTURE_MODEL)!r}, "--input", {str(csv)!r},
                     "--output", {str(tmp_path / "out.csv")!r}, "--quiet"])
        assert code == 0
    """
    assert _loaded_heavy(code) == []
    assert ",1," in (tmp_path / "out.csv").read_text()  # an alert was raised
