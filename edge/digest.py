"""SHA-256 and SHA-1 without loading OpenSSL: the gateway's checksums and alert ids cost no libcrypto.

``hashlib`` loads OpenSSL's libcrypto on import, 3.5 MiB of resident memory on a gateway that needs only two
digests. CPython also builds its own implementations (``_sha256``, ``_sha2`` from 3.12, ``_sha1``): they give
the same digests, so they are used when present, ``hashlib`` otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["sha1_digest", "sha256_hex", "uuid5"]


def _builtin(names: tuple[tuple[str, str], ...], fallback: str) -> Callable[[Any], Any]:
    for module_name, attribute in names:
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        return getattr(module, attribute)  # type: ignore[no-any-return]
    import hashlib  # only when this Python has no built-in implementation

    return getattr(hashlib, fallback)  # type: ignore[no-any-return]


_sha256 = _builtin((("_sha256", "sha256"), ("_sha2", "sha256")), "sha256")
_sha1 = _builtin((("_sha1", "sha1"),), "sha1")


def sha256_hex(data: bytes | memoryview) -> str:
    """The SHA-256 of ``data``, in hex.

    >>> sha256_hex(b"abc")[:16]
    'ba7816bf8f01cfea'
    """
    return str(_sha256(data).hexdigest())


def sha1_digest(data: bytes) -> bytes:
    """The SHA-1 of ``data`` (20 bytes)."""
    return bytes(_sha1(data).digest())


def uuid5(namespace: uuid.UUID, name: str) -> uuid.UUID:
    """RFC 4122's name-based UUID (version 5), as ``uuid.uuid5`` makes it.

    >>> ns = uuid.UUID("6f1c2a4e-3b7d-4f0e-9a51-2d8e7c6b5a40")
    >>> uuid5(ns, "pump-1") == uuid.uuid5(ns, "pump-1")
    True
    """
    return uuid.UUID(bytes=sha1_digest(namespace.bytes + name.encode("utf-8"))[:16], version=5)
