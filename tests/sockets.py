"""Real AF_UNIX datagram sockets for tests of sd_notify and journald senders."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def datagram_listener(path: str, timeout: float = 2.0) -> Iterator[socket.socket]:
    """A datagram socket bound at ``path`` (receives what a sender sends there)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(timeout)
    try:
        yield sock
    finally:
        sock.close()


def parse_journal(data: bytes) -> list[tuple[str, str]]:
    """Decode a native-protocol payload: ``NAME=value\\n`` lines and ``NAME\\n<u64 le><bytes>\\n`` records."""
    fields = []
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        line = data[pos:end]
        if b"=" in line:
            name, _, value = line.partition(b"=")
            pos = end + 1
        else:
            name = line
            size = int.from_bytes(data[end + 1 : end + 9], "little")
            value = data[end + 9 : end + 9 + size]
            assert data[end + 9 + size : end + 10 + size] == b"\n"
            pos = end + 10 + size
        fields.append((name.decode(), value.decode()))
    return fields
