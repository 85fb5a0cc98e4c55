"""``serial``: readings over a UART, as bridge frames (``framed``) or ASCII lines (``lines``).

Reads in bulk (``read(in_waiting or 1)``) and splits itself: pyserial's ``readline`` reads one
byte per call. When the device goes away (pyserial raises ``SerialException`` or ``OSError``
EIO), the source reports a sensor fault, reopens the same path with exponential back-off up
to a cap, and reports the fault cleared when it is back.
"""

from __future__ import annotations

import errno
import logging
import os
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from edge.backoff import Backoff
from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError
from edge.hardware import SerialPort
from edge.plugins import PluginContext, read_sample
from edge.protocol.bridge import BridgeSession
from edge.protocol.frames import encode_frame
from edge.protocol.lines import LineParser
from edge.protocol.stream import FrameDecoder
from edge.sources.base import Source, SourceConfig

log = logging.getLogger(__name__)

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it


@dataclass(frozen=True, kw_only=True)
class Config(SourceConfig):
    """Keys of a ``serial`` source."""

    port: str
    baudrate: int = 115200
    mode: Literal["framed", "lines"] = "framed"
    separator: str = ","
    reconnect_initial_s: float = 0.1
    reconnect_max_s: float = 10.0
    hello_interval_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.reconnect_initial_s <= self.reconnect_max_s:
            raise ValueError("need 0 < reconnect_initial_s <= reconnect_max_s")


def short_error(error: Exception) -> str:
    """A port error as a technician reads it: ``[Errno 5] Input/output error``, not pyserial's long sentences."""
    number, text = getattr(error, "errno", None), getattr(error, "strerror", None)
    if number is None and error.args and isinstance(error.args[0], int):
        number = error.args[0]
        text = error.args[1] if len(error.args) > 1 else None
    if number is not None:
        return f"[Errno {number}] {text or os.strerror(number)}"
    message = str(error)
    if "returned no data" in message:  # pyserial: readable but empty, the adapter went away
        return "device disconnected: readable but no data"
    return message if len(message) <= 80 else message[:77] + "..."


def open_hint(error_number: int | None) -> str:
    """What to do about a port that does not open, by its errno."""
    return {
        errno.ENOENT: "; check the cable and the port path (ls -l /dev/serial/by-id/)",
        errno.ENODEV: "; check the cable and the port path (ls -l /dev/serial/by-id/)",
        errno.EACCES: "; the agent's user needs group dialout (the systemd unit has it)",
        errno.EPERM: "; the service's DeviceAllow= does not cover this kind of device (systemctl edit edge-anomaly)",
        errno.EAGAIN: "; another program holds the port (is edge-agent already running? systemctl stop edge-anomaly)",
        errno.EBUSY: "; another program holds the port (is edge-agent already running? systemctl stop edge-anomaly)",
    }.get(error_number or 0, "; check the cable, the port path and the baud rate")


def close_quietly(port: SerialPort | None) -> None:
    """Close a port that may already be gone (an unplugged adapter fails its close too)."""
    if port is not None:
        try:
            port.close()
        except OSError:
            pass


class SerialSource(Source):
    """One device on one serial port."""

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config, self.sensor, self.channels = config, config.sensor, context.channels
        self._hardware, self._clock = context.hardware, context.hardware.clock
        self._port: SerialPort | None = None
        self.decoder = FrameDecoder()
        self.session = BridgeSession(config.sensor, context.channels, config.port)
        self.lines = LineParser(len(context.channels), config.separator)
        self.counts: Counter[str] = Counter(dict.fromkeys(("bytes", "disconnects", "reconnects", "open_failures"), 0))
        self.reconnect_seconds: list[float] = []
        self._lost_at: float | None = None
        self._retry_at = 0.0
        self._backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s)
        self._hello_asked = 0.0
        self._last_error = ""
        self._errno: int | None = None
        self._pending: list[Reading | SourceFault] = []
        self._units_of: object = None  # the HELLO ``_units`` were read from
        self._units: tuple[str, ...] = ()

    def open(self) -> None:
        """Try the port once; if it cannot be opened, say why (a source fault) and keep trying from ``read``."""
        now = self._clock.monotonic()
        if self._port is None and not self._connect(now):
            message = f"serial port {self.config.port} cannot be opened: {self._last_error}{open_hint(self._errno)}"
            log.debug("%s; retrying", message)  # the log sink prints the fault
            self._lost_at = now
            self._pending.append(SourceFault(self.sensor, self._clock.time(), f"{message}; retrying"))

    def _connect(self, now: float) -> bool:
        try:
            self._port = self._hardware.open_serial(self.config.port, self.config.baudrate)
        except (OSError, ValueError) as exc:  # pyserial's SerialException is an OSError
            self._errno = getattr(exc, "errno", None)
            self._retry_at = now + self._backoff.next()
            self.counts["open_failures"] += 1
            self._last_error = getattr(exc, "strerror", None) or str(exc)
            return False
        self._backoff.reset()
        self.decoder.reset()  # a partial frame from before is garbage now
        self._ask_hello(now)
        return True

    def _ask_hello(self, now: float) -> None:
        if self.config.mode == "framed" and self._port is not None:
            self._hello_asked = now
            try:
                self._port.write(encode_frame(None, 0, 0))
            except OSError:
                pass

    def _lose(self, error: Exception) -> SourceFault:
        error_text = short_error(error)
        now = self._clock.monotonic()
        self._lost_at = now
        self._retry_at = now + self._backoff.current
        self.counts["disconnects"] += 1
        self._close_port()
        log.debug("serial %s for %s lost (%s); reconnecting", self.config.port, self.sensor, error)
        message = f"serial port {self.config.port} lost ({error_text}); reconnecting"
        return SourceFault(self.sensor, self._clock.time(), message)

    def read(self, timeout: float) -> list[Reading | SourceFault]:
        """What arrived within ``timeout``; reconnects a lost port when its back-off has passed."""
        if self._pending:
            pending, self._pending = self._pending, []
            return pending
        now = self._clock.monotonic()
        if self._port is None:
            if now < self._retry_at:
                self._clock.sleep(min(timeout, self._retry_at - now))
                return []
            if not self._connect(now):
                return []
            if self._lost_at is None:
                return []
            outage = self._clock.monotonic() - self._lost_at
            self.reconnect_seconds.append(outage)
            self.counts["reconnects"] += 1
            self._lost_at = None
            return [
                SourceFault(
                    self.sensor,
                    self._clock.time(),
                    f"serial port {self.config.port} back after {outage:.2f} s",
                    cleared=True,
                )
            ]
        try:
            data = self._port.read(self._port.in_waiting or 1)
        except (OSError, ValueError) as exc:  # SerialException, EIO; ValueError when closed underneath
            return [self._lose(exc)]
        self.counts["bytes"] += len(data)
        if not data:
            return self._maybe_ask_hello(now)
        arrival = self._clock.time()
        if self.config.mode == "lines":
            return [Reading(self.sensor, arrival, values) for values in self.lines.feed(data)]
        return self.session.take(self.decoder.feed(data), arrival) + self._maybe_ask_hello(now)

    def read_buffered(self) -> list[Reading | SourceFault]:
        """The frames in the port's receive buffer now, without waiting for more."""
        if self._port is None or self._pending:
            return []
        try:
            waiting = self._port.in_waiting
        except (OSError, ValueError):
            return []  # the next read reports the loss
        return self.read(0.0) if waiting else []

    def _maybe_ask_hello(self, now: float) -> list[Reading | SourceFault]:
        if (
            self.config.mode == "framed"
            and self.session.hello is None
            and now - self._hello_asked >= self.config.hello_interval_s
        ):
            self._ask_hello(now)
        return []

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check``: wait for the device's HELLO and check it against the model."""
        deadline = self._clock.monotonic() + timeout
        while self._clock.monotonic() < deadline:
            for item in self.read(0.1):
                if isinstance(item, SourceFault) and not item.cleared:
                    raise ConfigError(item.message)
            if self.config.mode == "lines" and self.lines.counts["lines"]:
                return f"{self.lines.counts['lines']} line(s) of {len(self.channels)} values"
            hello = self.session.hello
            if hello is not None:
                return (
                    f"device {hello.device_id!r} firmware {'.'.join(map(str, hello.firmware))}, "
                    f"channels match, one sample every {hello.sample_period_ms} ms"
                )
        if self._port is None:
            raise ConfigError(
                f"serial port {self.config.port} cannot be opened: {self._last_error}{open_hint(self._errno)}"
            )
        raise ConfigError(
            f"no {'HELLO' if self.config.mode == 'framed' else 'line'} from {self.config.port} within "
            f"{timeout:g} s; check baudrate {self.config.baudrate} and the firmware"
        )

    def units(self) -> tuple[str, ...] | None:
        """The units the firmware's HELLO announced (framed mode), once it came; "1" (dimensionless) is none."""
        hello = self.session.hello
        if hello is None:
            return None
        if hello is not self._units_of:  # made once per HELLO: the pipeline asks at every block
            self._units_of, self._units = hello, tuple("" if c.unit == "1" else c.unit for c in hello.channels)
        return self._units

    def counters(self) -> dict[str, int]:
        """Bytes, frames, CRC failures, resyncs, frames lost, reconnects and more."""
        merged = Counter(self.counts)
        merged.update(self.decoder.counts if self.config.mode == "framed" else self.lines.counts)
        merged.update(self.session.counts)
        return dict(merged)

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        return f"serial {self.config.port} ({self.config.mode}, {self.config.baudrate} Bd) for {self.sensor}"

    def _close_port(self) -> None:
        port, self._port = self._port, None
        close_quietly(port)

    def close(self) -> None:
        """Close the port."""
        self._close_port()


PLUGIN = SerialSource
