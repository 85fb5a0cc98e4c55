"""``i2c``: sensors on an I²C bus (``/dev/i2c-N``, through smbus2), one reading per sample period.

``reads`` gives one entry per model channel: a preset (``tmp102``, ``adxl345``, ``bme280``,
``bmp280``: registers, set-up and units known) or a raw register read (``register``,
``length`` 1-4 bytes, ``signed``, ``byte_order``, ``shift``), then ``value * scale + offset``.
Entries may also be written as ``[[sources.reads]]`` tables. The fields of one preset
device come from one block read per sample.

A NACK or bus error is retried with doubling back-off; if it still fails the source reports
one :class:`SourceFault` and no reading, keeps trying every period, and reports the fault
cleared when the sensors answer again. A bus that vanishes is closed and reopened, and the
chips are set up again (a power-cycled chip forgets its settings).
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from edge.backoff import Backoff
from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError
from edge.hardware import I2cBus
from edge.plugins import PluginContext, read_sample
from edge.sources.base import Source, SourceConfig
from edge.sources.i2c.reads import ReadSpec, parse_reads

log = logging.getLogger(__name__)
T = TypeVar("T")

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it


@dataclass(frozen=True, kw_only=True)
class Config(SourceConfig):
    """Keys of an ``i2c`` source."""

    bus: int
    reads: list[dict[str, Any]]
    period_s: float | None = None
    retries: int = 2
    backoff_s: float = 0.02
    max_backoff_s: float = 1.0

    def __post_init__(self) -> None:
        for name, ok, rule in [
            ("bus", self.bus >= 0, "0 or more (/dev/i2c-N)"),
            ("period_s", self.period_s is None or self.period_s > 0, "above 0 seconds"),
            ("retries", self.retries >= 0, "0 or more"),
            ("backoff_s", self.backoff_s >= 0, "0 or more seconds"),
            ("max_backoff_s", self.max_backoff_s >= self.backoff_s, "at least backoff_s"),
        ]:
            if not ok:
                raise ValueError(f"{name} = {getattr(self, name)} must be {rule}")
        parse_reads(self.reads)


NACK = {errno.EREMOTEIO, errno.ENXIO}  # no ACK from the address (some adapters say ENXIO)
LOST = {errno.ENODEV, errno.ENOENT, errno.EIO, errno.EBADF}  # adapter gone or wedged: reopen it


def explain(error: OSError) -> str:
    """An errno in words a technician can act on."""
    text = error.strerror or str(error)
    if error.errno in NACK:
        return f"no answer (NACK: {text})"
    return f"bus gone ({text})" if error.errno in LOST else f"bus error ({text})"


class Failed(Exception):
    """A transaction still failed after its retries; the message is for the technician."""


@dataclass
class Device:
    """One chip's block read per sample (a preset's data registers, or one raw register) and its set-up."""

    spec: ReadSpec
    ready: bool = False
    state: Any = None

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the set-up (after a failure or a reopened bus the chip may have lost power)."""
        self.ready = self.spec.setup is None


class I2cSource(Source):
    """Reads every channel's registers at a fixed period on a monotonic schedule."""

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config, self.sensor = config, config.sensor
        self.path = f"/dev/i2c-{config.bus}"
        self.period = config.period_s or context.sample_period_s
        specs = parse_reads(config.reads)
        names = [s.channel for s in specs]
        if set(names) != set(context.channels):
            raise ConfigError(
                f"i2c source {self.sensor!r}: reads give channels {names} but the model has {list(context.channels)}"
                f" (missing: {[c for c in context.channels if c not in names] or 'none'}; not in the model: "
                f"{[n for n in names if n not in context.channels] or 'none'}); give one read per model channel"
            )
        self.specs = sorted(specs, key=lambda s: context.channels.index(s.channel))
        units = tuple(spec.unit_name for spec in self.specs)
        self._units = units if any(units) else None
        self.devices: dict[tuple[Any, ...], Device] = {}
        for spec in self.specs:
            self.devices.setdefault(spec.key, Device(spec))
        self._hardware, self._clock = context.hardware, context.hardware.clock
        self._bus: I2cBus | None = None
        self._opened = self._faulted = False
        self._next_due = 0.0
        self._counts = {"reads": 0, "failed_reads": 0, "retries": 0, "faults": 0, "reopens": 0}

    def open(self) -> None:
        """Open the bus and set up each preset's chip; a missing bus or a wrong chip is a ConfigError."""
        if self._opened:
            return
        where = f"i2c source {self.sensor!r}"
        try:
            self._bus = self._hardware.open_i2c(self.config.bus)
        except ImportError as exc:
            raise ConfigError(f"{where} needs smbus2: pip install smbus2 ({exc})") from exc
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENODEV):
                raise ConfigError(
                    f"{where}: {self.path} does not exist; enable I2C (raspi-config, or "
                    "dtparam=i2c_arm=on in config.txt) or check bus = "
                    f"{self.config.bus} (ls /dev/i2c-*)"
                ) from exc
            hint = "; add the agent's user to the i2c group" if exc.errno == errno.EACCES else ""
            raise ConfigError(f"{where}: cannot open {self.path}: {exc.strerror or exc}{hint}") from exc
        self._opened = True
        for device in self.devices.values():
            try:
                self._setup(device)
            except ConfigError as exc:
                self.close()
                raise ConfigError(f"{where}: {self.path} address 0x{device.spec.address:02x}: {exc}") from exc
            except Failed as exc:
                log.warning("%s: %s; trying again at every reading", where, exc)
        self._next_due = self._clock.monotonic()

    def read(self, timeout: float) -> list[Reading | SourceFault]:
        """The next reading once it is due (waiting at most ``timeout``), with a fault or its clearing."""
        if not self._opened:
            self.open()
        now = self._clock.monotonic()
        wait = self._next_due - now
        if wait > timeout:
            self._clock.sleep(max(0.0, timeout))
            return []
        if wait > 0:
            self._clock.sleep(wait)
            now = self._clock.monotonic()
        due = self._next_due + self.period
        self._next_due = due if due > now else now + self.period  # after a stall: no burst of catch-up reads
        return self._sample(self._clock.time())

    def _sample(self, stamp: float) -> list[Reading | SourceFault]:
        try:
            results = {key: self._read_device(device) for key, device in self.devices.items()}
        except (Failed, ConfigError) as exc:
            self._counts["failed_reads"] += 1
            if self._faulted:
                return []
            self._faulted = True
            self._counts["faults"] += 1
            log.warning("i2c source %r: %s", self.sensor, exc)
            return [SourceFault(self.sensor, stamp, str(exc))]
        self._counts["reads"] += 1
        values = tuple(results[s.key][s.field or "value"] * s.scale + s.offset for s in self.specs)
        out: list[Reading | SourceFault] = []
        if self._faulted:
            self._faulted = False
            log.info("i2c source %r: the sensors on %s answer again", self.sensor, self.path)
            out.append(SourceFault(self.sensor, stamp, f"the sensors on {self.path} answer again", cleared=True))
        return [*out, Reading(self.sensor, stamp, values)]

    def _read_device(self, device: Device) -> dict[str, float]:
        address, (register, length) = device.spec.address or 0, device.spec.block
        for _ in range(2):  # once more if the bus was reopened meanwhile: the chip is set up again first
            try:
                self._setup(device)
            except ConfigError as exc:  # e.g. another chip now answers at the address
                raise ConfigError(f"{self.path} address 0x{address:02x}: {exc}") from exc
            try:
                data = self._transact(address, register, lambda b: b.read_i2c_block_data(address, register, length))
            except Failed:
                device.reset()  # set up again when it answers
                raise
            if device.ready:
                break
        return device.spec.values(bytes(data), device.state)

    def _setup(self, device: Device) -> None:
        setup = device.spec.setup
        if device.ready or setup is None:
            return
        address = device.spec.address or 0

        def read(register: int, length: int) -> bytes:
            return bytes(self._transact(address, register, lambda b: b.read_i2c_block_data(address, register, length)))

        def write(register: int, value: int) -> None:
            self._transact(address, register, lambda bus: bus.write_byte_data(address, register, value))

        device.state = setup(read, write)
        device.ready = True
        self._clock.sleep(device.spec.settle_s)

    def _transact(self, address: int, register: int, action: Callable[[I2cBus], T]) -> T:
        backoff, error = Backoff(self.config.backoff_s, self.config.max_backoff_s), OSError()
        for attempt in range(self.config.retries + 1):
            if attempt:
                self._counts["retries"] += 1
                self._clock.sleep(backoff.next())
            try:
                return action(self._bus_now())
            except OSError as exc:
                error = exc
                if exc.errno in LOST:
                    self._drop_bus()
        raise Failed(
            f"{self.path} address 0x{address:02x} register 0x{register:02x}: {explain(error)} after "
            f"{self.config.retries + 1} tries; check wiring/address (i2cdetect -y {self.config.bus})"
        )

    def _bus_now(self) -> I2cBus:
        if self._bus is None:
            self._bus = self._hardware.open_i2c(self.config.bus)
            self._counts["reopens"] += 1
            log.info("i2c source %r: reopened %s", self.sensor, self.path)
            for device in self.devices.values():
                device.reset()
        return self._bus

    def _drop_bus(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            with contextlib.suppress(OSError):
                bus.close()

    def close(self) -> None:
        """Close the bus; safe to call twice."""
        self._drop_bus()
        self._opened = False

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check``: read every channel once, now; a sensor that does not answer is an error."""
        for item in self._sample(self._clock.time()):
            if isinstance(item, Reading):
                return ", ".join(f"{spec.channel}={value:.4g}" for spec, value in zip(self.specs, item.values))
            if not item.cleared:
                raise ConfigError(item.message)
        raise ConfigError(f"the sensors on {self.path} still do not answer; see the log")

    def units(self) -> tuple[str, ...] | None:
        """Each channel's unit: the preset's (°C as ``degC``, hPa, %RH, g) or the read's ``unit`` key."""
        return self._units

    def counters(self) -> dict[str, int]:
        """Readings made, samples that failed, transactions retried, faults reported, bus reopens."""
        return dict(self._counts)

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        reads = ", ".join(spec.describe() for spec in self.specs)
        return f"i2c {self.path} for {self.sensor} every {self.period:g} s: {reads}"


PLUGIN = I2cSource
