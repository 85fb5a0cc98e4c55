"""systemd's ``sd_notify`` protocol, without libsystemd.

A service started with ``Type=notify`` gets ``NOTIFY_SOCKET`` in its environment: an ``AF_UNIX``
datagram socket (a path, or ``@name`` for the abstract namespace) to which it sends newline-separated
``KEY=VALUE`` assignments such as ``READY=1``. ``WatchdogSec=`` adds ``WATCHDOG_USEC`` (and
``WATCHDOG_PID``); the service must then send ``WATCHDOG=1`` more often than that. Without
``NOTIFY_SOCKET`` every call here is a no-op, so the agent runs unchanged outside systemd.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType

log = logging.getLogger(__name__)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


class Notifier:
    """Sends state changes to the service manager; every method is a no-op when ``socket_path`` is None."""

    def __init__(
        self, socket_path: str | None = None, *, watchdog_usec: int | None = None, watchdog_pid: int | None = None
    ) -> None:
        self.socket_path = socket_path or None
        self.watchdog_usec = watchdog_usec
        self.watchdog_pid = watchdog_pid
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        """A notifier for ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` as systemd sets them."""
        path = environ.get("NOTIFY_SOCKET") or None
        if path is not None and not path.startswith(("/", "@")):
            log.warning("NOTIFY_SOCKET=%r is not an AF_UNIX socket path; notifications disabled", path)
            path = None
        usec = _int_or_none(environ.get("WATCHDOG_USEC"))
        pid_text = environ.get("WATCHDOG_PID")
        pid = _int_or_none(pid_text)
        if pid_text and pid is None:  # malformed: it cannot name us
            usec = None
        return cls(path, watchdog_usec=usec, watchdog_pid=pid)

    @property
    def enabled(self) -> bool:
        """True when there is a notification socket to send to."""
        return self.socket_path is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to call :meth:`watchdog` (half the timeout, as systemd advises), or None without a watchdog."""
        if not self.watchdog_usec or self.watchdog_usec <= 0:
            return None
        if self.watchdog_pid is not None and self.watchdog_pid != os.getpid():
            return None
        return self.watchdog_usec / 2 / 1_000_000

    def send(self, *assignments: str) -> bool:
        """Send ``assignments`` as one datagram; False when disabled or the send failed (logged, not raised)."""
        if not assignments or any("\n" in a for a in assignments):
            raise ValueError(f"need one or more single-line assignments, got {assignments!r}")
        if self.socket_path is None:
            return False
        address = "\0" + self.socket_path[1:] if self.socket_path.startswith("@") else self.socket_path
        payload = "\n".join(assignments).encode()
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sock = self._sock
            sock.sendto(payload, address)
        except OSError as exc:
            level = logging.DEBUG if self._warned else logging.WARNING
            self._warned = True
            log.log(level, "sd_notify to %s failed: %s", self.socket_path, exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup is finished (``READY=1``), optionally with a status line."""
        return self.send("READY=1", *([] if status is None else [f"STATUS={_one_line(status)}"]))

    def status(self, text: str) -> bool:
        """A free-form status line shown by ``systemctl status``."""
        return self.send(f"STATUS={_one_line(text)}")

    def stopping(self) -> bool:
        """Shutdown has begun (``STOPPING=1``)."""
        return self.send("STOPPING=1")

    def reloading(self) -> bool:
        """A reload has begun (``RELOADING=1``, with the ``MONOTONIC_USEC`` that ``Type=notify-reload`` needs)."""
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def watchdog(self) -> bool:
        """Keep-alive ping (``WATCHDOG=1``)."""
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        """Close the socket; a later send opens a new one. Safe to call twice."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
