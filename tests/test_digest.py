"""The gateway's digests: the same as hashlib's, without loading OpenSSL (3.5 MiB resident on a gateway)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import uuid

from hypothesis import given
from hypothesis import strategies as st

from edge.digest import sha1_digest, sha256_hex, uuid5


@given(st.binary(max_size=4096))
def test_the_digests_are_hashlibs(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert sha256_hex(memoryview(data)) == hashlib.sha256(data).hexdigest()
    assert sha1_digest(data) == hashlib.sha1(data).digest()


@given(st.text(max_size=200), st.uuids())
def test_alert_ids_are_rfc4122_name_based_uuids(name: str, namespace: uuid.UUID) -> None:
    assert uuid5(namespace, name) == uuid.uuid5(namespace, name)


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
        print(sorted(m for m in sys.modules if m in ("hashlib", "_hashlib", "ssl", "_ssl")))
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
    assert ",1," in (tmp_path / "out.csv").read_text()  # an alert was raised
