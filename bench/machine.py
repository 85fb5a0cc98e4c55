"""What the benchmarks print about the machine they ran on."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """``- machine: …`` for a benchmark's report."""
    import os

    return f"- machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}"


def command_line(argv: Sequence[str] | None) -> str:
    """``- command: …``: how the report was produced (``argv`` as given to ``main``, else the process's)."""
    import shlex
    import sys

    command = [sys.executable, *sys.argv] if argv is None else [sys.executable, sys.argv[0], *argv]
    return f"- command: {shlex.join(command)}"
