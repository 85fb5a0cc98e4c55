"""One Modbus RTU read request over a :class:`~edge.hardware.SerialPort`: pymodbus builds and parses the frames.

pymodbus encodes the request PDU, adds the slave id and CRC (``FramerRTU``), sizes the answer from its first
bytes and decodes the response PDU; this module does the byte I/O itself, so that each way a read fails is
told apart: no or a short answer (``timeout``), a bad CRC (``crc``), an exception response (``exception``),
an answer that is not the one asked for (``bad``). pymodbus is imported when a link is made, not before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from edge.hardware import Clock, SerialPort
from edge.sources.modbus.plan import Block
from edge.sources.modbus.registers import FUNCTION_CODES

READ_WAIT_S = 0.1  # the longest one SerialPort.read waits

#: exception code: (its name, what a technician should check)
EXCEPTIONS = {
    1: ("illegal function", "the device has no such registers: try the other function (holding/input)"),
    2: ("illegal data address", "check the register map's addresses against the device's manual"),
    3: ("illegal data value", "the device refuses this many registers at once; check the register map"),
    4: ("slave device failure", "the device reports an internal fault; check it (power-cycle it)"),
    5: ("acknowledge", "the device is busy with a long command; poll less often"),
    6: ("slave device busy", "the device is busy; poll less often (poll_s)"),
    8: ("memory parity error", "the device reports a memory fault; check it"),
    10: ("gateway path unavailable", "the Modbus gateway has no route to this slave id"),
    11: ("gateway target failed to respond", "the gateway's downstream device does not answer: check slave id"),
}
#: failure kind: its counter
COUNTERS = {"timeout": "timeouts", "crc": "crc_errors", "exception": "exceptions", "bad": "bad_responses"}


class Failure(Exception):
    """A read request that got no usable answer; ``kind`` is one of :data:`COUNTERS`."""

    def __init__(self, kind: str, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.hint = kind, detail, hint

    @property
    def counter(self) -> str:
        """The counter this kind of failure adds to."""
        return COUNTERS[self.kind]


class RtuLink:
    """Read requests to one slave; ``stale_bytes`` counts what was discarded before requests."""

    def __init__(self, slave: int, timeout_s: float, clock: Clock, framing: str) -> None:
        from pymodbus.framer import FramerRTU
        from pymodbus.pdu import DecodePDU
        from pymodbus.pdu.register_message import ReadHoldingRegistersRequest, ReadInputRegistersRequest

        self.slave, self.timeout_s, self._clock, self.framing = slave, timeout_s, clock, framing
        self._framer: Any = FramerRTU(DecodePDU(is_server=False))
        self._check_crc = FramerRTU.check_CRC
        self._requests = {3: ReadHoldingRegistersRequest, 4: ReadInputRegistersRequest}
        self.stale_bytes = 0

    def request(self, block: Block) -> bytes:
        """The RTU frame that asks for ``block``'s registers."""
        pdu = self._requests[FUNCTION_CODES[block.function]](address=block.start, count=block.count, dev_id=self.slave)
        return bytes(self._framer.buildFrame(pdu))

    def read(self, port: SerialPort, block: Block) -> Sequence[int]:
        """``block``'s registers; raises :class:`Failure`, or ``OSError`` when the port is gone."""
        stale = port.in_waiting
        if stale:
            self.stale_bytes += len(port.read(stale))  # a late answer to an earlier request
        port.write(self.request(block))
        frame = self._receive(port, block)
        if not self._check_crc(frame[:-2], int.from_bytes(frame[-2:], "big")):
            raise Failure(
                "crc",
                f"bad CRC in the answer to {block.describe()}",
                f"check termination (120 ohm at both ends), grounding and cable routing, and that {self.framing} "
                "is the device's setting",
            )
        if frame[0] != self.slave:
            raise Failure("bad", f"an answer from slave {frame[0]}", "two devices share a slave id, or check slave")
        pdu = self._framer.decoder.decode(frame[1:-2])
        if pdu is not None and pdu.isError():
            name, hint = EXCEPTIONS.get(pdu.exception_code, ("unknown exception", "see the device's manual"))
            raise Failure("exception", f"exception {pdu.exception_code} ({name}) for {block.describe()}", hint)
        if pdu is None or pdu.function_code != FUNCTION_CODES[block.function] or len(pdu.registers) != block.count:
            raise Failure("bad", f"an answer that does not fit {block.describe()}", "check the slave id and wiring")
        return list(pdu.registers)

    def _receive(self, port: SerialPort, block: Block) -> bytes:
        """One whole answer frame, sized as pymodbus sizes it from its first bytes."""
        deadline = self._clock.monotonic() + self.timeout_s
        quiet_reads = math.ceil(self.timeout_s / READ_WAIT_S)  # bounds the wait on a clock that stands still
        frame, need = b"", 5  # the shortest answer: an exception response
        while len(frame) < need:
            if quiet_reads < 0 or self._clock.monotonic() >= deadline:
                what = f"a short answer ({len(frame)} of {need} bytes)" if frame else "no answer"
                raise Failure(
                    "timeout",
                    f"{what} to {block.describe()} within {self.timeout_s:g} s",
                    f"check wiring (A/B swapped?), termination, {self.framing} and the slave id",
                )
            chunk = port.read(need - len(frame))
            if not chunk:
                quiet_reads -= 1
            frame += chunk
            answer = self._framer.decoder.lookupPduClass(frame) if len(frame) >= 2 else None
            if answer is not None:
                need = max(need, answer.calculateRtuFrameSize(frame))
        return frame
