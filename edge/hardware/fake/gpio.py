"""Fake GPIO chips behind :class:`edge.hardware.GpioChips` (like gpiozero's ``MockFactory``).

Each line records its transitions as ``(monotonic time, active, physical high)``, from the
moment it is requested; ``assert_states`` checks the logical sequence like gpiozero's
``MockPin.assert_states``. Errors are raised the way libgpiod raises them: a missing chip is
``FileNotFoundError`` (ENOENT), a chip without permission ``PermissionError`` (EACCES), a
busy line ``OSError(EBUSY)``. As with the kernel, releasing a line keeps its last level.

>>> gpio = FakeGpio()
>>> _ = gpio.add_chip("gpiochip0", ["ID_SDA", "ID_SCL", "GPIO2"])
>>> line = gpio.request_output("/dev/gpiochip0", 2, active_low=True, consumer="test")
>>> line.set(True); line.set(True); line.set(False); line.release()
>>> chip_line = gpio.line("GPIO2")
>>> chip_line.assert_states([False, True, False]); chip_line.levels(), chip_line.released
([True, False, True], True)
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time

log = logging.getLogger(__name__)


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class FakeLine:
    """One line of a fake chip."""

    def __init__(self, chip: FakeChip, offset: int, name: str) -> None:
        self.chip, self.offset, self.name = chip, offset, name
        self.history: list[tuple[float, bool, bool]] = []
        self.requested = self.released = False
        self.active_low = False
        self.consumer: str | None = None
        self.busy_with: str | None = None  # another program holds the line
        self._changed = threading.Condition()

    @property
    def active(self) -> bool | None:
        """The logical state now (None before the line was ever requested)."""
        return self.history[-1][1] if self.history else None

    def _record(self, active: bool) -> None:
        with self._changed:
            if self.history and self.history[-1][1] == active:
                return
            self.history.append((time.monotonic(), active, active != self.active_low))
            self._changed.notify_all()
        log.info(
            "fake GPIO %s (line %d of %s): %s",
            self.name or self.offset,
            self.offset,
            self.chip.path,
            "active" if active else "inactive",
        )

    def states(self) -> list[bool]:
        """The logical states, first the one it was requested with."""
        return [active for _, active, _ in self.history]

    def levels(self) -> list[bool]:
        """The physical levels (True = high): active_low inverts them."""
        return [high for _, _, high in self.history]

    def assert_states(self, expected: list[bool]) -> None:
        """Like gpiozero's ``MockPin.assert_states``."""
        if self.states() != expected:
            raise AssertionError(f"{self.name or self.offset}: states {self.states()} != {expected}")

    def durations(self) -> list[tuple[bool, float]]:
        """(state, seconds it lasted) for each completed state."""
        return [(a, later[0] - t) for (t, a, _), later in zip(self.history, self.history[1:])]

    def wait_for(self, states: int, timeout: float = 2.0) -> bool:
        """Wait until ``states`` states were recorded."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.history) >= states, timeout)


class FakeChip:
    """A chip with named (or unnamed: "") lines."""

    def __init__(self, name: str, names: list[str]) -> None:
        self.name, self.path = name, f"/dev/{name}"
        self.lines = [FakeLine(self, i, n) for i, n in enumerate(names)]
        self.permission_denied = False


class FakeRequest:
    """What ``request_output`` returns: drives one fake line."""

    def __init__(self, line: FakeLine) -> None:
        self.line = line

    def set(self, active: bool) -> None:
        """Drive the line (logical state)."""
        if self.line.released:
            raise RuntimeError("GPIO lines have been released")  # gpiod's RequestReleasedError
        self.line._record(active)

    def release(self) -> None:
        """Give the line back; it keeps its last level."""
        self.line.released, self.line.requested = True, False


class FakeGpio:
    """The chips: by path, the requests made and their records."""

    def __init__(self) -> None:
        self.chip_map: dict[str, FakeChip] = {}
        self.requests: list[tuple[str, int, bool, str]] = []  # (chip, offset, active_low, consumer)

    def add_chip(self, name: str, names: list[str] | int) -> FakeChip:
        """A chip at /dev/``name`` with these line names (or this many unnamed lines)."""
        chip = FakeChip(name, [""] * names if isinstance(names, int) else names)
        self.chip_map[chip.path] = chip
        return chip

    def line(self, name: str, chip: str | None = None) -> FakeLine:
        """A line by name (first chip that has it), or by offset as a string with ``chip``."""
        if chip is not None:
            return self.chip_map[f"/dev/{chip}"].lines[int(name)]
        return next(line for c in self.chip_map.values() for line in c.lines if line.name == name)

    def _chip(self, path: str) -> FakeChip:
        if path not in self.chip_map:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        chip = self.chip_map[path]
        if chip.permission_denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return chip

    def chips(self) -> list[str]:
        """Paths of the chips, in the order they were added."""
        return list(self.chip_map)

    def line_names(self, chip: str) -> list[str]:
        """Every line's name on ``chip`` by offset; ENOENT or EACCES as libgpiod says them."""
        return [line.name for line in self._chip(chip).lines]

    def request_output(self, chip: str, offset: int, *, active_low: bool, consumer: str) -> FakeRequest:
        """Hold one line as an output, inactive; EBUSY if it is already held."""
        line = self._chip(chip).lines[offset]
        if line.requested or line.busy_with is not None:
            raise _error(errno.EBUSY)
        self.requests.append((chip, offset, active_low, consumer))
        line.requested, line.released, line.active_low, line.consumer = True, False, active_low, consumer
        line._record(False)
        return FakeRequest(line)
