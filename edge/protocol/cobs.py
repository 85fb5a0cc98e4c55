"""Consistent Overhead Byte Stuffing: a frame without zero bytes, so 0x00 can delimit frames.

>>> cobs_encode(bytes([0x11, 0x22, 0x00, 0x33])).hex()
'0311220233'
>>> cobs_decode(bytes.fromhex("0311220233")).hex()
'11220033'
>>> cobs_encode(b"\\x00").hex()
'0101'
"""

from __future__ import annotations


class CobsError(ValueError):
    """The bytes are not a valid COBS encoding."""


def cobs_encode(data: bytes) -> bytes:
    """Encode ``data``; the result has no zero byte and is at most ``len(data) // 254 + 1`` longer."""
    out = bytearray()
    for chunk in data.split(b"\x00"):
        while len(chunk) >= 254:
            out.append(0xFF)
            out += chunk[:254]
            chunk = chunk[254:]
        out.append(len(chunk) + 1)
        out += chunk
    return bytes(out)


def cobs_decode(encoded: bytes) -> bytes:
    """Decode one frame (without its 0x00 delimiter); raise :class:`CobsError` if it is malformed."""
    out = bytearray()
    position, size = 0, len(encoded)
    while position < size:
        code = encoded[position]
        end = position + code
        if code == 0 or end > size:
            raise CobsError(f"bad code byte {code} at offset {position} of {size}")
        block = encoded[position + 1 : end]
        if 0 in block:
            raise CobsError(f"zero byte inside a block at offset {position}")
        out += block
        position = end
        if code != 0xFF and position < size:
            out.append(0)
    return bytes(out)
