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
