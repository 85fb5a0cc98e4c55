"""``modbus``: a Modbus RTU slave on a serial line (RS-485 adapter), polled for one reading per ``poll_s``.

``registers`` maps each model channel to holding or input registers (``int16`` … ``float32``, word and byte
order, ``raw * scale + offset``, a unit); :mod:`.plan` reads them in as few requests as it can. A request
with no answer, a bad CRC or an exception response is counted by kind and reported as one source fault per
streak, naming the port, slave, registers and what to check; the fault is cleared when a poll works again.
A poll where only some requests failed gives a reading with NaN for their channels. A port that goes away
is reopened with back-off (the serial source's hints). pymodbus (the ``modbus`` extra) frames the requests.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from edge.backoff import Backoff
from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError
from edge.hardware import SerialPort
from edge.plugins import PluginContext, read_sample
from edge.sources.base import Source, SourceConfig
from edge.sources.modbus.plan import Block, plan_requests
from edge.sources.modbus.registers import Function, match_channels, parse_registers
from edge.sources.modbus.rtu import Failure, RtuLink
from edge.sources.serial import close_quietly, open_hint, short_error

log = logging.getLogger(__name__)

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it

COUNTS = (
    *("polls", "readings", "requests", "timeouts", "crc_errors", "exceptions", "bad_responses", "stale_bytes"),
    *("faults", "missed_polls", "disconnects", "reconnects", "open_failures"),
)


@dataclass(frozen=True, kw_only=True)
class Config(SourceConfig):
    """Keys of a ``modbus`` source."""

    port: str
    slave: int
    registers: list[dict[str, Any]]
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1
    function: Function = "holding"
    poll_s: float | None = None
    timeout_s: float = 0.5
    reconnect_initial_s: float = 0.1
    reconnect_max_s: float = 10.0

    def __post_init__(self) -> None:
        for name, ok, rule in [
            ("slave", 1 <= self.slave <= 247, "a slave id 1-247"),
            ("baudrate", self.baudrate > 0, "above 0"),
            ("poll_s", self.poll_s is None or self.poll_s > 0, "above 0 seconds"),
            ("timeout_s", self.timeout_s > 0, "above 0 seconds"),
            ("reconnect_max_s", 0 < self.reconnect_initial_s <= self.reconnect_max_s, "at least reconnect_initial_s"),
        ]:
            if not ok:
                raise ValueError(f"{name} = {getattr(self, name)} must be {rule}")
        parse_registers(self.registers, self.function)

    @property
    def framing(self) -> str:
        """``19200 8E1``."""
        return f"{self.baudrate} 8{self.parity}{self.stopbits}"


class ModbusSource(Source):
    """Polls one slave's registers on a monotonic schedule; one reading per poll, stamped when it was sent."""

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config, self.sensor = config, config.sensor
        try:
            self.specs = match_channels(parse_registers(config.registers, config.function), context.channels)
        except ValueError as exc:
            raise ConfigError(f"modbus source {self.sensor!r}: {exc}") from None
        self.blocks: list[Block] = plan_requests(self.specs)
        self.period = config.poll_s or context.sample_period_s
        self.where = f"modbus {config.port} slave {config.slave}"
        self._hardware, self._clock = context.hardware, context.hardware.clock
        self._link: RtuLink | None = None
        self._port: SerialPort | None = None
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s)
        self._next_due = self._retry_at = 0.0
        self._lost_at: float | None = None
        self._fault_kind: str | None = None
        self._last_error, self._errno = "", None
        self._pending: list[Reading | SourceFault] = []
        self.problem: str | None = None  # what went wrong in the last poll
        self.counts: Counter[str] = Counter(dict.fromkeys(COUNTS, 0))

    def open(self) -> None:
        """Load pymodbus and try the port once; a port that does not open is a fault, retried from ``read``."""
        if self._link is None:
            try:
                self._link = RtuLink(self.config.slave, self.config.timeout_s, self._clock, self.config.framing)
            except ImportError as exc:
                raise ConfigError(
                    f"modbus source {self.sensor!r} needs pymodbus: pip install 'edge-anomaly[modbus]'"
                ) from exc
            self._next_due = self._clock.monotonic()
        if self._port is None and not self._connect(self._clock.monotonic()):
            self._pending += self._fault(self._clock.time(), "port", f"{self._cannot_open()}; retrying")

    def _cannot_open(self) -> str:
        return f"modbus port {self.config.port} cannot be opened: {self._last_error}{open_hint(self._errno)}"

    def _connect(self, now: float) -> bool:
        config = self.config
        try:
            self._port = self._hardware.open_serial(
                config.port, config.baudrate, parity=config.parity, stopbits=config.stopbits
            )
        except (OSError, ValueError) as exc:  # pyserial's SerialException is an OSError
            self._errno = getattr(exc, "errno", None)  # pyserial's own text repeats the path: the errno's says it
            self._last_error = os.strerror(self._errno) if self._errno else short_error(exc)
            self._retry_at = now + self._backoff.next()
            self.counts["open_failures"] += 1
            return False
        self._backoff.reset()
        if self._lost_at is not None:
            self.counts["reconnects"] += 1
            log.info("%s: port back after %.2f s", self.where, now - self._lost_at)
            self._lost_at = None
        return True

    def read(self, timeout: float) -> list[Reading | SourceFault]:
        """The next poll's reading once it is due (waiting at most ``timeout``), with a fault or its clearing."""
        if self._pending:
            pending, self._pending = self._pending, []
            return pending
        if self._link is None:
            self.open()
            return self.read(timeout)
        now = self._clock.monotonic()
        if self._port is None and now >= self._retry_at:
            self._connect(now)
        wake = self._next_due if self._port is not None else min(self._next_due, self._retry_at)
        if wake - now > timeout:
            self._clock.sleep(max(0.0, timeout))
            return []
        if wake > now:
            self._clock.sleep(wake - now)
            now = self._clock.monotonic()
        if now < self._next_due:
            return []  # woke to reopen the port: the next read does
        due = self._next_due + self.period
        self._next_due = due if due > now else now + self.period  # after a stall: no burst of catch-up polls
        if self._port is None:
            self.counts["missed_polls"] += 1
            return []
        return self._poll(self._clock.time())

    def _poll(self, stamp: float) -> list[Reading | SourceFault]:
        assert self._link is not None and self._port is not None
        self.counts["polls"] += 1
        values = [math.nan] * len(self.specs)
        index = {spec.channel: i for i, spec in enumerate(self.specs)}
        failures: list[Failure] = []
        for block in self.blocks:
            self.counts["requests"] += 1
            try:
                registers = self._link.read(self._port, block)
            except Failure as failure:
                self.counts[failure.counter] += 1
                failures.append(failure)
                continue
            except (OSError, ValueError) as exc:  # the adapter went away (EIO), or the port was closed underneath
                return self._lose(exc, stamp)
            for spec in block.specs:
                values[index[spec.channel]] = spec.value(block.words(spec, registers))
        self.counts["stale_bytes"] = self._link.stale_bytes
        self.problem = f"{self.where}: {failures[0].detail}; {failures[0].hint}" if failures else None
        if failures:
            out = self._fault(stamp, failures[0].kind, self.problem or "")
            if len(failures) == len(self.blocks):
                return out
        else:
            out = self._clear(stamp)
        self.counts["readings"] += 1
        return [*out, Reading(self.sensor, stamp, tuple(values))]

    def _fault(self, stamp: float, kind: str, message: str) -> list[Reading | SourceFault]:
        """A fault line once per streak (a lost port is said even during one)."""
        if self._fault_kind is not None and (kind != "port" or self._fault_kind == "port"):
            return []
        self._fault_kind = kind
        self.counts["faults"] += 1
        log.debug("%s", message)  # the log sink prints the fault
        return [SourceFault(self.sensor, stamp, message)]

    def _clear(self, stamp: float) -> list[Reading | SourceFault]:
        if self._fault_kind is None:
            return []
        self._fault_kind = None
        return [SourceFault(self.sensor, stamp, f"{self.where} answers again", cleared=True)]

    def _lose(self, error: Exception, stamp: float) -> list[Reading | SourceFault]:
        now = self._clock.monotonic()
        self._lost_at, self._retry_at = now, now + self._backoff.next()
        self.counts["disconnects"] += 1
        self.close()
        self.problem = f"modbus port {self.config.port} lost ({short_error(error)}); reopening"
        return self._fault(stamp, "port", self.problem)

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check``: poll once, now, and show the values with their units."""
        if self._link is None:
            self.open()
        if self._port is None:
            raise ConfigError(self._cannot_open())
        items = self._poll(self._clock.time())
        if self.problem:
            raise ConfigError(self.problem)
        (reading,) = [item for item in items if isinstance(item, Reading)]
        shown = ", ".join(
            f"{s.channel}={v:.4g}{' ' + s.unit if s.unit else ''}" for s, v in zip(self.specs, reading.values)
        )
        return f"{shown} ({len(self.blocks)} request(s))"

    def units(self) -> tuple[str, ...] | None:
        """Each channel's ``unit`` from the register map; None when the map names none."""
        units = tuple(spec.unit for spec in self.specs)
        return units if any(units) else None

    def counters(self) -> dict[str, int]:
        """Polls, readings, requests and failed ones by kind, faults, reconnects and more."""
        return dict(self.counts)

    def describe(self) -> str:
        """One line for ``edge-agent check``: ``modbus /dev/ttyUSB0 slave 3 (19200 8E1) for pump-2``."""
        return f"{self.where} ({self.config.framing}) for {self.sensor}"

    def close(self) -> None:
        """Close the port; safe to call twice."""
        port, self._port = self._port, None
        close_quietly(port)


PLUGIN = ModbusSource
