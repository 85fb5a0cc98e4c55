"""One output line that is on while held or while a pulse lasts, pulses ending on a timer thread (no blocking)."""

from __future__ import annotations

import logging
import math
import threading
import time

from edge.hardware import OutputLine

log = logging.getLogger(__name__)


class TimedOutput:
    """A requested line that is on while held or while a pulse lasts; pulses end on a timer thread."""

    def __init__(self, line: OutputLine, where: str) -> None:
        self.line, self.where = line, where
        self._lock = threading.Lock()
        self._held = self._on = self._released = False
        self._until = 0.0
        self._timer: threading.Timer | None = None

    def hold(self, on: bool) -> None:
        with self._lock:
            self._held = on
            self._apply()

    def pulse(self, seconds: float) -> None:
        with self._lock:
            previous, self._until = self._until, math.inf
            try:
                self._apply()
            finally:  # the pulse is timed from when the line went on
                self._until = max(previous, time.monotonic() + seconds)
                self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(max(0.0, self._until - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._released or threading.current_thread() is not self._timer:
                return  # released, or a later pulse replaced this timer
            self._timer = None
            try:
                self._apply()
            except Exception as exc:  # nobody to raise to on the timer thread
                log.error("gpio: cannot end the pulse on %s: %s", self.where, exc)
            if time.monotonic() < self._until:
                self._arm()

    def _apply(self) -> None:
        want = self._held or time.monotonic() < self._until
        if want != self._on:
            self.line.set(want)
            self._on = want

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
            if self._timer is not None:
                self._timer.cancel()
            try:
                self.line.set(False)
            finally:
                self.line.release()
