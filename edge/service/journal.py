"""journald's native protocol, without libsystemd.

One ``AF_UNIX`` datagram per entry to ``/run/systemd/journal/socket``, holding ``NAME=value`` lines;
a value containing a newline is sent as ``NAME``, newline, 64-bit little-endian length, the bytes, newline.
An entry too large for a datagram goes in a sealed memfd passed with ``SCM_RIGHTS`` (systemd's
"Native Journal Protocol" document).
"""

from __future__ import annotations

import array
import errno
import fcntl
import logging
import os
import re
import socket
import stat
from collections.abc import Mapping

log = logging.getLogger(__name__)

JOURNAL_SOCKET = "/run/systemd/journal/socket"
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")  # journald drops names longer than 64 characters
_RESERVED = frozenset({"MESSAGE", "PRIORITY"})
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def _field(name: str, value: object) -> bytes:
    data = str(value).encode("utf-8", "backslashreplace")
    if b"\n" in data:
        return name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def journal_fields_datagram(message: str, priority: int, fields: Mapping[str, object]) -> bytes:
    """The native-protocol payload for one entry; field names are upper-cased, invalid ones raise ValueError.

    >>> journal_fields_datagram("hi", 6, {"sensor": "pump-1"})
    b'MESSAGE=hi\\nPRIORITY=6\\nSENSOR=pump-1\\n'
    """
    parts = [_field("MESSAGE", message), _field("PRIORITY", int(priority))]
    for key, value in fields.items():
        name = key.upper()
        if name in _RESERVED:
            raise ValueError(f"journal field {key!r} is set from the message and priority arguments")
        if not (key.isascii() and _NAME.fullmatch(name)):
            raise ValueError(f"invalid journal field name {key!r}: want [A-Z0-9_], 1-64 chars, no leading _ or digit")
        parts.append(_field(name, value))
    return b"".join(parts)


def _sealed_memfd(data: bytes) -> int:
    fd = os.memfd_create("journal-entry", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


class JournalSender:
    """Writes entries to journald's native socket. Errors (journald absent included) raise OSError."""

    def __init__(self, socket_path: str = JOURNAL_SOCKET) -> None:
        self.socket_path = socket_path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def send(self, message: str, priority: int = 6, **fields: object) -> None:
        """Send one entry; one too large for a datagram goes through a sealed memfd."""
        data = journal_fields_datagram(message, priority, fields)
        try:
            self._sock.sendto(data, self.socket_path)
        except OSError as exc:
            if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS, errno.EAGAIN):
                raise
            fd = _sealed_memfd(data)
            try:
                # not socket.send_fds: before CPython gh-107898 it ignores its address argument
                self._sock.sendmsg(
                    [], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))], 0, self.socket_path
                )
            finally:
                os.close(fd)

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    @staticmethod
    def available(socket_path: str = JOURNAL_SOCKET) -> bool:
        """True when ``socket_path`` exists and is a socket."""
        try:
            return stat.S_ISSOCK(os.stat(socket_path).st_mode)
        except OSError:
            return False


def _priority(levelno: int) -> int:
    for level, priority in ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6)):
        if levelno >= level:
            return priority
    return 7


class JournalHandler(logging.Handler):
    """A logging handler writing structured entries; ``extra={"journal_fields": {...}}`` adds fields."""

    def __init__(self, sender: JournalSender, identifier: str = "edge-agent") -> None:
        super().__init__()
        self.sender = sender
        self.identifier = identifier

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, object] = {
                "SYSLOG_IDENTIFIER": self.identifier,
                "CODE_FILE": record.pathname,
                "CODE_LINE": record.lineno,
                "CODE_FUNC": record.funcName,
                "LOGGER": record.name,
            }
            fields.update({str(k).upper(): v for k, v in getattr(record, "journal_fields", {}).items()})
            self.sender.send(self.format(record), _priority(record.levelno), **fields)
        except Exception:
            self.handleError(record)


def journal_wanted(environ: Mapping[str, str] = os.environ, socket_path: str = JOURNAL_SOCKET) -> bool:
    """True when stderr is systemd's journal stream and journald's native socket exists.

    systemd sets ``JOURNAL_STREAM=<st_dev>:<st_ino>`` of the stderr it connects to the journal. If fd 2
    still matches, no redirection happened, so logging natively instead of to stderr loses nothing and
    gains priority and structured fields; if it does not match (a shell redirect, a pipe, a terminal),
    stderr goes elsewhere and must keep being used.
    """
    return stderr_is_journal(environ) and JournalSender.available(socket_path)


def stderr_is_journal(environ: Mapping[str, str] = os.environ) -> bool:
    """True when fd 2 is the stream systemd connected to the journal (``JOURNAL_STREAM`` names it)."""
    stream = environ.get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(part) for part in stream.split(":"))
        st = os.fstat(2)
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)
