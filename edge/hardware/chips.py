"""GPIO chips: what a sink needs of them, and the real ones through libgpiod v2's bindings (``gpiod``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from edge.errors import ConfigError


class OutputLine(Protocol):
    """One requested output line."""

    def set(self, active: bool) -> None: ...

    def release(self) -> None: ...


class GpioChips(Protocol):
    """The machine's GPIO chips; methods raise ``OSError`` as libgpiod does (ENOENT, EACCES, EBUSY, ...)."""

    def chips(self) -> list[str]: ...

    def line_names(self, chip: str) -> list[str]: ...

    def request_output(self, chip: str, offset: int, *, active_low: bool, consumer: str) -> OutputLine: ...


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


class LibgpiodChips:
    """Real GPIO chips through the ``gpiod`` (≥ 2) bindings, imported on first use; ``dev`` holds the chips."""

    def __init__(self, dev: Path = Path("/dev")) -> None:
        self.dev = dev

    @staticmethod
    def gpiod() -> Any:
        """The ``gpiod`` module, or an error that says how to install the right one."""
        try:
            import gpiod
        except ImportError as exc:
            raise ConfigError(
                "the gpio sink needs libgpiod v2's Python bindings: pip install 'edge-anomaly[gpio]' "
                "(PyPI package gpiod>=2)"
            ) from exc
        if not hasattr(gpiod, "request_lines"):
            raise ConfigError(
                f"gpiod {getattr(gpiod, '__version__', '?')} is libgpiod v1's binding (as Debian's "
                "python3-libgpiod); the gpio sink needs gpiod>=2 from PyPI: pip install 'gpiod>=2'"
            )
        return gpiod

    def chips(self) -> list[str]:
        """Paths of the GPIO chips under ``dev`` in natural order (a symlinked chip counts once)."""
        gpiod = self.gpiod()
        try:
            entries = sorted((str(p) for p in self.dev.iterdir()), key=_natural)
        except OSError:
            return []
        seen: set[str] = set()
        found = []
        for path in entries:
            if gpiod.is_gpiochip_device(path) and os.path.realpath(path) not in seen:
                seen.add(os.path.realpath(path))
                found.append(path)
        return found

    def line_names(self, chip: str) -> list[str]:
        """Every line's name on ``chip`` ("" for an unnamed line), by offset."""
        with self.gpiod().Chip(chip) as handle:
            return [handle.get_line_info(i).name or "" for i in range(handle.get_info().num_lines)]

    def request_output(self, chip: str, offset: int, *, active_low: bool, consumer: str) -> OutputLine:
        """Request one line as an output, inactive to start with."""
        gpiod = self.gpiod()
        settings = gpiod.LineSettings(
            direction=gpiod.line.Direction.OUTPUT, output_value=gpiod.line.Value.INACTIVE, active_low=active_low
        )
        return _LibgpiodLine(
            gpiod.request_lines(chip, consumer=consumer, config={offset: settings}), offset, gpiod.line.Value
        )


class _LibgpiodLine:
    def __init__(self, request: Any, offset: int, values: Any) -> None:
        self.request, self.offset, self.values = request, offset, values

    def set(self, active: bool) -> None:
        self.request.set_value(self.offset, self.values.ACTIVE if active else self.values.INACTIVE)

    def release(self) -> None:
        self.request.release()
