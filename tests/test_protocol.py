"""The bridge protocol: shared vectors, round trips, and a decoder that survives any corruption."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.protocol.cobs import CobsError, cobs_decode, cobs_encode
from edge.protocol.frames import (
    MAX_BODY,
    Channel,
    Fault,
    FrameError,
    FrameType,
    Hello,
    Sample,
    crc16,
    decode_frame,
    encode_body,
    encode_frame,
)
from edge.protocol.stream import FrameDecoder, SequenceCounter
from firmware_bridge.vectors.make_vectors import meaning

VECTORS = Path(__file__).parents[1] / "firmware_bridge" / "vectors"


def vectors() -> list[list[str]]:
    lines = (VECTORS / "vectors.txt").read_text().splitlines()
    return [line.split() for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v[0])
def test_shared_vectors_decode_encode_and_refuse_as_specified(vector: list[str]) -> None:
    name, expect, kind, version, sequence, timestamp, body_hex, wire_hex = vector
    wire = bytes.fromhex(wire_hex)
    assert wire.endswith(b"\x00") and b"\x00" not in wire[:-1]
    if expect != "ok":
        with pytest.raises(FrameError) as refused:
            decode_frame(wire[:-1])
        assert refused.value.reason == expect
        return
    frame = decode_frame(wire[:-1])
    assert (frame.type, frame.version, frame.sequence, frame.timestamp_ms) == (
        int(kind, 16),
        int(version, 16),
        int(sequence, 16),
        int(timestamp, 16),
    )
    assert encode_body(frame.body).hex() == ("" if body_hex == "-" else body_hex)
    assert meaning(frame.body) == json.loads((VECTORS / "vectors.json").read_text())[name]
    assert encode_frame(frame.body, frame.sequence, frame.timestamp_ms) == wire


def test_crc_check_value_and_cobs_examples() -> None:
    assert crc16(b"123456789") == 0x29B1
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"
    with pytest.raises(CobsError):
        cobs_decode(b"\x05\x11")


@given(st.binary(max_size=1200))
def test_cobs_round_trip_has_no_zero(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert b"\x00" not in encoded and len(encoded) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(encoded) == data


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=10).filter(
    lambda s: len(s.encode()) <= 32
)
bodies = st.one_of(
    st.builds(Sample, st.lists(st.floats(width=32, allow_nan=False), max_size=MAX_BODY // 4).map(tuple)),
    st.builds(Fault, st.integers(0, 255), st.integers(0, 0xFFFF), names),
    st.builds(
        Hello,
        st.tuples(*[st.integers(0, 255)] * 3),
        names,
        st.integers(0, 2**32 - 1),
        st.lists(st.builds(Channel, names, names), max_size=5).map(tuple),
    ),
    st.none(),
)


@given(bodies, st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1))
def test_frame_round_trip(body, sequence: int, timestamp: int) -> None:
    wire = encode_frame(body, sequence, timestamp)
    frames = FrameDecoder().feed(wire)
    assert len(frames) == 1
    frame = frames[0]
    assert (frame.body, frame.sequence, frame.timestamp_ms) == (body, sequence, timestamp)
    assert frame.type == (FrameType.HELLO_REQUEST if body is None else frame.type)


def stream(count: int, start: int = 0) -> list[bytes]:
    return [encode_frame(Sample((float(i), -float(i))), start + i, 1000 * (start + i)) for i in range(count)]


@settings(max_examples=300)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 64))
def test_random_corruption_never_crashes_or_passes_a_bad_frame(seed: int, flips: int, chunk: int) -> None:
    rng = random.Random(seed)
    frames = stream(60)
    data = bytearray(b"".join(frames))
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    decoder, got = FrameDecoder(), []
    for i in range(0, len(data), chunk):  # arrival in arbitrary pieces
        got += decoder.feed(bytes(data[i : i + chunk]))
    originals = {f.sequence: f for f in (decode_frame(w[:-1]) for w in frames)}
    for frame in got:
        assert frame == originals.get(frame.sequence)  # only intact frames come out
    intact = sum(1 for f in frames if bytes(f) in bytes(data))
    assert len(got) >= intact - flips  # a corrupt byte costs at most its own frame (and a merged neighbour)


def test_a_corrupt_delimiter_costs_only_its_own_frame() -> None:
    frames = stream(3)
    merged = frames[0][:-1] + b"\x42" + frames[1] + frames[2]
    decoder = FrameDecoder()
    got = decoder.feed(merged)
    assert [f.sequence for f in got] == [1, 2]
    assert decoder.counts["recovered"] == 1 and decoder.counts["frames"] == 2


def test_garbage_without_delimiters_is_dropped_and_the_stream_resyncs() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x55" * 5000) == []
    assert decoder.counts["oversize"] >= 1
    assert [f.sequence for f in decoder.feed(b"\x00" + b"".join(stream(2, start=7)))] == [7, 8]


def test_sequence_counter_counts_losses_exactly_across_wraps() -> None:
    counter = SequenceCounter(period_ms=10)
    assert counter.observe(65534, 0) == 0
    assert counter.observe(1, 30) == 2  # 65535 and 0 lost
    assert counter.observe(2, 40) == 0
    assert counter.observe(5, 40 + 10 * 65539) == 65538  # one whole wrap plus two, told by the clock
    assert (counter.lost, counter.gaps) == (65540, 2)
    assert counter.observe(0, 5) == 0 and counter.restarts == 1  # the device rebooted


def _session_frames(first_sequence: int, samples: int, skip: tuple[int, ...] = ()) -> list:
    from edge.protocol.frames import Channel, Hello, Sample, decode_frame, encode_frame

    hello = Hello((1, 0, 0), "dev", 1000, (Channel("temperature", "C"), Channel("vibration", "mm/s")))
    wires = [encode_frame(hello, first_sequence, 0)]
    wires += [
        encode_frame(Sample((20.0, 1.0)), first_sequence + i, 1000 * i) for i in range(1, samples + 1) if i not in skip
    ]
    return [decode_frame(w[:-1]) for w in wires]


def test_a_new_session_numbers_readings_from_its_first_sample_which_has_no_number() -> None:
    from edge.protocol.bridge import BridgeSession

    # a gateway that reloads or restarts joins a device mid-stream (device sequence 500 here)
    session = BridgeSession("pump-1", ("temperature", "vibration"), "/dev/ttyUSB0")
    readings = session.take(_session_frames(500, 6, skip=(4,)), 1_700_000_000.0)
    assert [r.sequence for r in readings] == [None, 2, 3, 5, 6]  # the lost frame is a gap in the count


def test_a_detector_carried_over_from_an_old_session_sees_no_false_sequence_gap(fixture_model) -> None:
    from edge.config import DetectorSection
    from edge.core.detector import Detector
    from edge.protocol.bridge import BridgeSession

    detector = Detector("pump-1", fixture_model, DetectorSection().resolve(fixture_model.metadata, None))
    old, new = (BridgeSession("pump-1", ("temperature", "vibration"), "/dev/ttyUSB0") for _ in range(2))
    start = 1_700_000_000.0
    for reading in old.take(_session_frames(10, 80), start):
        detector.score_one(reading)
    state = detector.state()
    # the same device, 1 s later, read by the new pipeline's source (SIGHUP) with the detector's state carried
    successor = Detector("pump-1", fixture_model, DetectorSection().resolve(fixture_model.metadata, None))
    successor.restore(state)
    events = [e for r in new.take(_session_frames(91, 5), start + 81.0) for e in successor.score_one(r).events]
    assert [e for e in events if getattr(e, "kind", "") == "fault"] == []
