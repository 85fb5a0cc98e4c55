"""Read the top level of an ONNX file's protobuf encoding without the onnx package.

The gateway verifies a model before onnxruntime sees it: the bytes of the graph
(nodes and weights) are hashed and the ``metadata_props`` are read straight from
the wire format, so a truncated file gives a clear message instead of a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from edge.digest import sha256_hex

GRAPH_FIELD = 7
METADATA_FIELD = 14
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a complete protobuf message."""


@dataclass(frozen=True)
class ModelBytes:
    """What the gateway needs from a serialized ``ModelProto``."""

    graph_sha256: str
    metadata: dict[str, str]


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError(f"ends inside a varint at byte {pos} of {len(buf)}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {pos}")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, memoryview]]:
    """Yield ``(field_number, wire_type, payload)`` for each field of a message.

    >>> [(n, t, bytes(p)) for n, t, p in iter_fields(b"\\x08\\x07\\x12\\x02hi")]
    [(1, 0, b''), (2, 2, b'hi')]
    """
    view = memoryview(buf)
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {pos}")
        if wire_type == _VARINT:
            _, pos = _read_varint(buf, pos)
            yield number, wire_type, view[pos:pos]
            continue
        if wire_type == _LENGTH:
            size, pos = _read_varint(buf, pos)
        elif wire_type == _FIXED64:
            size = 8
        elif wire_type == _FIXED32:
            size = 4
        else:
            raise WireError(f"unsupported wire type {wire_type} at byte {pos}")
        end = pos + size
        if end > len(buf):
            raise WireError(f"field {number} needs bytes {pos}..{end} but the data ends at {len(buf)}")
        yield number, wire_type, view[pos:end]
        pos = end


def _string_pair(entry: memoryview) -> tuple[str, str]:
    key = value = ""
    for number, wire_type, payload in iter_fields(bytes(entry)):
        if wire_type == _LENGTH and number == 1:
            key = bytes(payload).decode("utf-8")
        elif wire_type == _LENGTH and number == 2:
            value = bytes(payload).decode("utf-8")
    return key, value


def read_model_bytes(buf: bytes) -> ModelBytes:
    """Hash the graph and collect ``metadata_props`` of a serialized ONNX model."""
    graph_hash: str | None = None
    metadata: dict[str, str] = {}
    for number, wire_type, payload in iter_fields(buf):
        if number == GRAPH_FIELD and wire_type == _LENGTH:
            if graph_hash is not None:
                raise WireError("the model holds two graphs")
            graph_hash = sha256_hex(payload)
        elif number == METADATA_FIELD and wire_type == _LENGTH:
            key, value = _string_pair(payload)
            metadata[key] = value
    if graph_hash is None:
        raise WireError("the model has no graph")
    return ModelBytes(graph_sha256=graph_hash, metadata=metadata)
