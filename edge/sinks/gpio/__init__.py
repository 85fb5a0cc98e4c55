"""``gpio``: a lamp, buzzer or relay on a GPIO line, through libgpiod v2 (the ``gpio`` extra).

Not sysfs (gone on current Raspberry Pi kernels) and not RPi.GPIO (fails on a Pi 5). A line
is found by name on every chip (``line = "GPIO17"``; chip numbers differ between Pi models)
or given as ``chip`` + ``offset``. Modes: ``level`` (on while an alert is open), ``pulse``
(on for ``pulse_ms`` per alert, without blocking; overlapping pulses extend), ``latch`` (on
from the first alert until :meth:`GpioSink.reset`, a restart or a SIGHUP reload, which
builds a new sink). An optional ``fault_line`` is on while a sensor fault is active; a gap
(a fault that is over when reported) blinks it for ``pulse_ms``. ``close`` turns the lines
off and releases them. The chips are opened through ``context.hardware.gpio`` (like gpiozero's
pin factory): libgpiod on a gateway, :class:`edge.hardware.fake.FakeGpio` in tests and demos.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from typing import Literal

from edge.core.events import Alert, Event
from edge.errors import ConfigError, EdgeError
from edge.hardware import GpioChips
from edge.plugins import PluginContext, read_sample
from edge.sinks.base import Sink
from edge.sinks.gpio.output import TimedOutput

log = logging.getLogger(__name__)

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it


def _target_problem(prefix: str, line: str | None, chip: str | None, offset: int | None) -> str | None:
    if line is not None and (chip is not None or offset is not None):
        return f"give {prefix}line (a line name) or {prefix}chip + {prefix}offset, not both"
    if line == "":
        return f'{prefix}line is empty; give a line name such as "GPIO17"'
    if (chip is None) != (offset is None):
        return f"{prefix}chip and {prefix}offset go together (the line's number on that chip); or give {prefix}line"
    if offset is not None and offset < 0:
        return f"{prefix}offset {offset} must be 0 or more"
    return None


@dataclass(frozen=True, kw_only=True)
class Config:
    """Keys of the ``gpio`` sink."""

    line: str | None = None
    chip: str | None = None
    offset: int | None = None
    active_low: bool = False
    mode: Literal["level", "pulse", "latch"] = "level"
    pulse_ms: int = 500
    fault_line: str | None = None
    fault_chip: str | None = None
    fault_offset: int | None = None
    consumer: str = "edge-agent"

    def __post_init__(self) -> None:
        if self.line is None and self.chip is None and self.offset is None:
            raise ValueError('needs line = "GPIO17" (a line name, found on any chip) or chip = "gpiochip0" + offset')
        problem = _target_problem("", self.line, self.chip, self.offset) or _target_problem(
            "fault_", self.fault_line, self.fault_chip, self.fault_offset
        )
        if problem:
            raise ValueError(problem)
        if self.fault_line is not None and self.fault_line == self.line:
            raise ValueError(f"fault_line {self.fault_line!r} is also line; give the faults their own line")
        if self.pulse_ms < 1:
            raise ValueError(f"pulse_ms {self.pulse_ms} must be at least 1")

    def spec(self, fault: bool = False) -> tuple[str | None, str | None, int | None]:
        """(line, chip, offset) of the alert line, or of the fault line."""
        return (self.fault_line, self.fault_chip, self.fault_offset) if fault else (self.line, self.chip, self.offset)

    @property
    def has_fault_line(self) -> bool:
        """Whether faults have a line of their own."""
        return self.fault_line is not None or self.fault_chip is not None


class GpioSink(Sink):
    """Drives an alert line (and optionally a fault line) from events."""

    name = "gpio"

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config = config
        self.chips: GpioChips = context.hardware.gpio
        self.alert_out: TimedOutput | None = None
        self.fault_out: TimedOutput | None = None
        self._alerts: set[str] = set()
        self._faults: set[tuple[str, str]] = set()

    def _failure(self, exc: Exception, chip: str, offset: int | None = None) -> EdgeError:
        code = getattr(exc, "errno", None)
        line = f"line {offset} of {chip}" if offset is not None else chip
        if code == errno.ENOENT:
            try:
                here = ", ".join(self.chips.chips()) or "none"
            except (EdgeError, OSError):
                here = "unknown"
            return ConfigError(
                f"GPIO chip {chip} does not exist (chips here: {here}); chip numbers differ between "
                f'Pi models, so prefer line = "GPIO17" (gpioinfo lists the names)'
            )
        if code in (errno.EACCES, errno.EPERM):
            # a ConfigError, as for I2C: restarting does not help, only a group or unit change does (exit 78)
            return ConfigError(
                f"no permission to use GPIO {line}: add the user running edge-agent to group gpio "
                f"(usermod -aG gpio USER, or SupplementaryGroups=gpio in the systemd unit)"
            )
        if code == errno.EBUSY:
            return EdgeError(f"GPIO {line} is in use by another program (gpioinfo shows its consumer)")
        if code in (errno.ENODEV, errno.ENOTTY):
            return ConfigError(f"{chip} is not a GPIO chip (gpiodetect lists the chips)")
        return EdgeError(f"GPIO {line}: {getattr(exc, 'strerror', None) or exc}")

    def _names(self, chip: str) -> list[str]:
        try:
            return self.chips.line_names(chip)
        except OSError as exc:
            raise self._failure(exc, chip) from exc

    def _locate(self, line: str | None, chip: str | None, offset: int | None) -> tuple[str, int]:
        if line is None:
            if chip is None or offset is None:
                raise ConfigError('a GPIO output needs line = "NAME", or chip and offset')
            path = chip if "/" in chip else f"/dev/{chip}"
            count = len(self._names(path))
            if offset >= count:
                raise ConfigError(f"GPIO chip {path} has no line {offset} (it has lines 0 to {count - 1})")
            return path, offset
        chips = self.chips.chips()
        for path in chips:
            names = self._names(path)
            if line in names:
                return path, names.index(line)
        if not chips:
            raise ConfigError(f"no GPIO line named {line!r}: no GPIO chips found (gpiodetect lists them)")
        raise ConfigError(f"no GPIO line named {line!r} on any of {', '.join(chips)}; list them with gpioinfo")

    def _request(self, where: tuple[str, int], label: str) -> TimedOutput:
        chip, offset = where
        try:
            line = self.chips.request_output(
                chip, offset, active_low=self.config.active_low, consumer=self.config.consumer
            )
        except OSError as exc:
            raise self._failure(exc, chip, offset) from exc
        log.info(
            "gpio: %s is line %d of %s (%s, active-%s)",
            label,
            offset,
            chip,
            self.config.mode,
            "low" if self.config.active_low else "high",
        )
        return TimedOutput(line, f"{label} (line {offset} of {chip})")

    def open(self) -> None:
        """Find and request the lines (inactive); on any failure release what was requested."""
        if self.alert_out is not None:
            return
        try:
            alert = self._locate(*self.config.spec())
            fault = self._locate(*self.config.spec(fault=True)) if self.config.has_fault_line else None
            if fault == alert:
                raise ConfigError(f"fault line and alert line are both line {alert[1]} of {alert[0]}")
            self.alert_out = self._request(alert, "alert line")
            if fault is not None:
                self.fault_out = self._request(fault, "fault line")
        except BaseException:
            self.close()
            raise

    def send(self, event: Event) -> None:
        """Drive the lines for one event of a watched sensor."""
        if self.alert_out is None:
            raise EdgeError("the gpio sink was not opened")
        subject, pulse_s = event.subject, self.config.pulse_ms / 1000
        if isinstance(subject, Alert):
            if event.kind == "alert":
                self._alerts.add(subject.id)
                if self.config.mode == "pulse":
                    self.alert_out.pulse(pulse_s)
                else:
                    self.alert_out.hold(True)
            else:
                self._alerts.discard(subject.id)
                if self.config.mode == "level":
                    self.alert_out.hold(bool(self._alerts))
        elif self.fault_out is not None:
            if event.kind == "fault" and subject.end is not None:
                self.fault_out.pulse(pulse_s)  # a gap: over as soon as it is reported
                return
            key = (subject.sensor, subject.kind)
            if event.kind == "fault":
                self._faults.add(key)
            else:
                self._faults.discard(key)
            self.fault_out.hold(bool(self._faults))

    def reset(self) -> None:
        """Turn a latched alert line off (mode ``latch``; the next alert latches it again)."""
        if self.config.mode == "latch" and self.alert_out is not None:
            self.alert_out.hold(False)

    def close(self) -> None:
        """Turn the lines off and release them; safe to call twice."""
        outputs, self.alert_out, self.fault_out = (self.fault_out, self.alert_out), None, None
        self._alerts.clear()
        self._faults.clear()
        try:
            if outputs[0] is not None:
                outputs[0].release()
        finally:
            if outputs[1] is not None:
                outputs[1].release()

    def describe(self) -> str:
        """``gpio GPIO17 (level), faults on GPIO27``."""

        def where(fault: bool) -> str:
            line, chip, offset = self.config.spec(fault)
            return line if line is not None else f"{chip}:{offset}"

        mode = f"pulse {self.config.pulse_ms} ms" if self.config.mode == "pulse" else self.config.mode
        text = f"gpio {where(False)} ({mode}{', active-low' if self.config.active_low else ''})"
        return text + (f", faults on {where(True)}" if self.config.has_fault_line else "")


PLUGIN = GpioSink
