"""The gateway's digests: the same as hashlib's, without loading OpenSSL (3.5 MiB resident on a gateway)."""

from __future__ import annotations

import hashlib
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
