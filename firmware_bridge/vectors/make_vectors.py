"""Write vectors.txt and vectors.json: the frames both the C core and the Python decoder are tested on.

Each line of vectors.txt is ``name expect type version sequence timestamp_ms body_hex wire_hex``
(hex without spaces, ``-`` for an empty field). ``expect`` is ``ok`` or the reason the
receiver must refuse the frame (``crc``, ``cobs``, ``version``, ``unknown_type``, ``short``).
``wire_hex`` is the COBS-encoded frame *with* its 0x00 delimiter. vectors.json gives the
decoded meaning of each ``ok`` body. Run from the project root:
``python firmware_bridge/vectors/make_vectors.py``; the files are committed.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from edge.protocol.cobs import cobs_encode
from edge.protocol.frames import (
    CRC,
    HEADER,
    Channel,
    Fault,
    Hello,
    Sample,
    crc16,
    encode_body,
    encode_frame,
    frame_type,
)

HERE = Path(__file__).parent
PUMP = Hello(
    (1, 4, 2),
    "pump-1",
    1000,
    (Channel("bearing_temp_c", "degC"), Channel("vibration_mm_s", "mm/s"), Channel("motor_current_a", "A")),
)
OK = [
    ("hello_pump", PUMP, 0, 12),
    ("sample_pump", Sample((47.25, 2.875, -10.5)), 1, 1012),
    ("sample_nan", Sample((math.nan, 3.0, 12.0)), 2, 2012),
    ("sample_wrapped_sequence", Sample((1.0,)), 0xFFFF, 0xFFFFFFF0),
    ("sample_with_zero_bytes", Sample((0.0, 0.0)), 0x0100, 0x00000000),
    ("fault_channel", Fault(1, 2, "no ack at 0x53"), 3, 3012),
    ("fault_device", Fault(0xFF, 4, ""), 4, 4012),
    ("hello_request", None, 7, 0),
    ("sample_long_run", Sample(tuple(1.1 for _ in range(70))), 0x0909, 0x09090909),  # > 254 bytes without a zero
    ("sample_run_at_end", Sample(tuple(1.1 for _ in range(62))), 0x0909, 0x09090909),  # last 254 bytes non-zero
]


def meaning(body: object) -> object:
    """The decoded body as JSON (NaN written as the string "nan")."""
    if isinstance(body, Sample):
        as_sent = struct.unpack(f"<{len(body.values)}f", struct.pack(f"<{len(body.values)}f", *body.values))
        return {"values": ["nan" if math.isnan(v) else v for v in as_sent]}
    if isinstance(body, Fault):
        return {"channel": body.channel, "code": body.code, "message": body.message}
    if isinstance(body, Hello):
        return {
            "firmware": list(body.firmware),
            "device_id": body.device_id,
            "sample_period_ms": body.sample_period_ms,
            "channels": [[c.name, c.unit] for c in body.channels],
            "schema_hash": body.schema_hash,
        }
    return None


def raw_wire(kind: int, version: int, sequence: int, timestamp: int, body: bytes, crc_delta: int = 0) -> str:
    raw = HEADER.pack(kind, version, sequence, timestamp) + body
    return (cobs_encode(raw + CRC.pack(crc16(raw) ^ crc_delta)) + b"\x00").hex()


def main() -> None:
    lines = ["# name expect type version sequence timestamp_ms body_hex wire_hex"]
    meanings = {}
    for name, body, sequence, timestamp in OK:
        wire = encode_frame(body, sequence, timestamp)
        kind = frame_type(body)
        payload = encode_body(body)
        lines.append(f"{name} ok {kind:02x} 01 {sequence:04x} {timestamp:08x} {payload.hex() or '-'} {wire.hex()}")
        meanings[name] = meaning(body)
    sample = struct.pack("<2f", 1.0, 2.0)
    bad = [
        ("bad_crc", "crc", 2, 1, 5, 100, sample, raw_wire(2, 1, 5, 100, sample, crc_delta=0x0001)),
        ("bad_version", "version", 2, 2, 5, 100, sample, raw_wire(2, 2, 5, 100, sample)),
        ("unknown_type", "unknown_type", 0x7E, 1, 5, 100, sample, raw_wire(0x7E, 1, 5, 100, sample)),
        ("bad_cobs", "cobs", 2, 1, 5, 100, sample, "05112233" + "00"),
        ("too_short", "short", 2, 1, 5, 100, b"", (cobs_encode(b"\x02\x01\x05") + b"\x00").hex()),
    ]
    for name, expect, kind, version, sequence, timestamp, payload, wire in bad:
        lines.append(
            f"{name} {expect} {kind:02x} {version:02x} {sequence:04x} {timestamp:08x} {payload.hex() or '-'} {wire}"
        )
    (HERE / "vectors.txt").write_text("\n".join(lines) + "\n")
    (HERE / "vectors.json").write_text(json.dumps(meanings, indent=1) + "\n")
    print(f"wrote {len(lines) - 1} vectors to {HERE}")


if __name__ == "__main__":
    main()
