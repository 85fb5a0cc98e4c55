"""Pseudo-terminals as the simulators use them: a raw pair whose slave side a symlink points at, as udev's links do."""

from __future__ import annotations

import os
import tty
from pathlib import Path


def open_pty(link: Path | None) -> tuple[int, int, str]:
    """A new raw pty (non-blocking master), ``link`` pointed at its slave; returns (master, slave, slave's path)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    name = os.ttyname(slave)
    if link:
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = link.with_name(link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(name)
        temporary.replace(link)
    return master, slave, name


def close_pty(link: Path | None, *fds: int | None) -> None:
    """Remove ``link`` and close the pty: a reader gets EIO at once, and the link points nowhere."""
    if link:
        link.unlink(missing_ok=True)
    for fd in fds:
        if fd is not None:
            os.close(fd)
