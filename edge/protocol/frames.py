"""Frames of the firmware bridge protocol, version 1: pure encoding and decoding.

A frame, before COBS, is little-endian::

    type u8 | version u8 | sequence u16 | timestamp_ms u32 | body | crc u16

with the CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of everything before it. On the
wire it is COBS-encoded and followed by one 0x00. ``firmware_bridge/PROTOCOL.md`` is the
full specification; ``firmware_bridge/vectors`` holds the shared test vectors.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from enum import IntEnum

from edge.protocol.cobs import CobsError, cobs_decode, cobs_encode

VERSION = 1
HEADER = struct.Struct("<BBHI")
CRC = struct.Struct("<H")
MAX_FRAME = 512  # bytes before COBS, header and CRC included
MAX_BODY = MAX_FRAME - HEADER.size - CRC.size
MAX_WIRE = MAX_FRAME + MAX_FRAME // 254 + 2  # COBS overhead and the delimiter


class FrameType(IntEnum):
    """What a frame carries."""

    HELLO = 0x01
    SAMPLE = 0x02
    FAULT = 0x03
    HELLO_REQUEST = 0x10


class FrameError(ValueError):
    """A frame that cannot be used; ``reason`` is the counter it is accounted under."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE.

    >>> hex(crc16(b"123456789"))
    '0x29b1'
    """
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class Channel:
    """A channel a firmware announces: its name and unit."""

    name: str
    unit: str


@dataclass(frozen=True)
class Hello:
    """Sent at boot and on request: who the device is and what it samples."""

    firmware: tuple[int, int, int]
    device_id: str
    sample_period_ms: int
    channels: tuple[Channel, ...]

    @property
    def schema_hash(self) -> int:
        """FNV-1a (32-bit) of the canonical schema: period, then ``name\\0unit\\0`` per channel."""
        return fnv1a32(schema_bytes(self.sample_period_ms, self.channels))


@dataclass(frozen=True)
class Sample:
    """One reading of every channel (NaN when the firmware has no valid value)."""

    values: tuple[float, ...]


@dataclass(frozen=True)
class Fault:
    """A sensor error the firmware detected; ``channel`` 0xFF means the whole device."""

    channel: int
    code: int
    message: str


Body = Hello | Sample | Fault | None


@dataclass(frozen=True)
class Frame:
    """A decoded frame."""

    type: FrameType
    sequence: int
    timestamp_ms: int
    body: Body
    version: int = VERSION


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a.

    >>> hex(fnv1a32(b"a"))
    '0xe40c292c'
    """
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def schema_bytes(sample_period_ms: int, channels: tuple[Channel, ...]) -> bytes:
    """What the schema hash covers."""
    parts = [struct.pack("<I", sample_period_ms)]
    parts += [c.name.encode() + b"\x00" + c.unit.encode() + b"\x00" for c in channels]
    return b"".join(parts)


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > 32:
        raise ValueError(f"{value!r} is longer than 32 bytes")
    return bytes([len(raw)]) + raw


def encode_body(body: Body) -> bytes:
    """The body bytes of a frame."""
    if body is None:
        return b""
    if isinstance(body, Sample):
        return struct.pack(f"<{len(body.values)}f", *body.values)
    if isinstance(body, Fault):
        return struct.pack("<BH", body.channel, body.code) + _text(body.message)
    major, minor, patch = body.firmware
    head = (
        struct.pack("<BBB", major, minor, patch)
        + _text(body.device_id)
        + struct.pack("<IB", body.sample_period_ms, len(body.channels))
    )
    return head + b"".join(_text(c.name) + _text(c.unit) for c in body.channels) + struct.pack("<I", body.schema_hash)


def frame_type(body: Body) -> FrameType:
    """The frame type that carries ``body``."""
    return {Hello: FrameType.HELLO, Sample: FrameType.SAMPLE, Fault: FrameType.FAULT}.get(
        type(body), FrameType.HELLO_REQUEST
    )  # type: ignore[arg-type]


def encode_frame(body: Body, sequence: int, timestamp_ms: int, version: int = VERSION) -> bytes:
    """A whole frame on the wire: COBS(header, body, CRC) + 0x00."""
    payload = encode_body(body)
    if len(payload) > MAX_BODY:
        raise ValueError(f"body of {len(payload)} bytes exceeds {MAX_BODY}")
    raw = HEADER.pack(frame_type(body), version, sequence & 0xFFFF, timestamp_ms & 0xFFFFFFFF) + payload
    return cobs_encode(raw + CRC.pack(crc16(raw))) + b"\x00"


class _Reader:
    """Reads fields off a body, raising :class:`FrameError` when it runs short."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def take(self, size: int) -> bytes:
        if self.position + size > len(self.data):
            raise FrameError("malformed", f"body ends after {len(self.data)} bytes")
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk

    def text(self) -> str:
        raw = self.take(self.take(1)[0])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FrameError("malformed", f"text is not UTF-8: {raw!r}") from exc

    def end(self) -> None:
        if self.position != len(self.data):
            raise FrameError("malformed", f"{len(self.data) - self.position} unexpected bytes after the body")


def decode_body(kind: FrameType, data: bytes) -> Body:
    """Parse a body of the given type; raise :class:`FrameError` ("malformed") if it does not fit."""
    if kind == FrameType.SAMPLE:
        if len(data) % 4:
            raise FrameError("malformed", f"SAMPLE body of {len(data)} bytes is not whole float32 values")
        return Sample(struct.unpack(f"<{len(data) // 4}f", data))
    if kind == FrameType.HELLO_REQUEST:
        if data:
            raise FrameError("malformed", "HELLO_REQUEST has a body")
        return None
    reader = _Reader(data)
    if kind == FrameType.FAULT:
        channel, code = struct.unpack("<BH", reader.take(3))
        body: Body = Fault(channel, code, reader.text())
    else:
        firmware = tuple(reader.take(3))
        device_id = reader.text()
        period, count = struct.unpack("<IB", reader.take(5))
        channels = tuple(Channel(reader.text(), reader.text()) for _ in range(count))
        hello = Hello((firmware[0], firmware[1], firmware[2]), device_id, period, channels)
        (schema,) = struct.unpack("<I", reader.take(4))
        if schema != hello.schema_hash:
            raise FrameError("malformed", f"HELLO schema hash {schema:#010x} != computed {hello.schema_hash:#010x}")
        body = hello
    reader.end()
    return body


def decode_frame(encoded: bytes) -> Frame:
    """Decode one COBS frame without its delimiter; raise :class:`FrameError` naming the reason.

    Reasons (each a receiver counter): ``cobs``, ``short``, ``oversize``, ``crc``, ``version``,
    ``unknown_type``, ``malformed``.
    """
    try:
        raw = cobs_decode(encoded)
    except CobsError as exc:
        raise FrameError("cobs", str(exc)) from None
    if len(raw) < HEADER.size + CRC.size:
        raise FrameError("short", f"{len(raw)} bytes")
    if len(raw) > MAX_FRAME:
        raise FrameError("oversize", f"{len(raw)} bytes > {MAX_FRAME}")
    (stored,) = CRC.unpack_from(raw, len(raw) - CRC.size)
    if crc16(raw[: -CRC.size]) != stored:
        raise FrameError("crc", f"CRC {stored:#06x} does not match")
    kind, version, sequence, timestamp = HEADER.unpack_from(raw)
    if version != VERSION:
        raise FrameError("version", f"protocol version {version}, this receiver reads {VERSION}")
    try:
        frame_kind = FrameType(kind)
    except ValueError:
        raise FrameError("unknown_type", f"frame type {kind:#04x}") from None
    return Frame(frame_kind, sequence, timestamp, decode_body(frame_kind, raw[HEADER.size : -CRC.size]), version)
