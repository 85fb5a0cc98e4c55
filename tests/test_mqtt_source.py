"""The mqtt source: its map and payload parser (pure, with Hypothesis), then against a real Mosquitto on loopback."""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mosquitto import Broker, require_mosquitto

from edge.config_types import build_section
from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError, EdgeError
from edge.plugins import SOURCE_TYPES, PluginContext, load_spec
from edge.sources.mqtt import Config, MqttSource, peers
from edge.sources.mqtt.mapping import ChannelMap, Intake
from edge.sources.mqtt.payload import BadPayload, lookup, plain_number, split_path, to_seconds

CHANNELS = ("temperature", "vibration")
FAST = {"host": "127.0.0.1", "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
JSON_MAP = {"topic": "plant/pump2/state", "fields": {"temperature": "temp_c", "vibration": "vib.rms"}}
TOPIC_MAP = {"topics": {"temperature": "plant/pump2/temp", "vibration": {"topic": "plant/pump2/vib", "unit": "mm/s"}}}


def context(tmp_path: Path, channels: tuple[str, ...] = CHANNELS, checking: bool = False) -> PluginContext:
    return PluginContext(
        channels=channels,
        sample_period_s=1.0,
        model_sha256="ab" * 32,
        state_dir=tmp_path / "state",
        base_dir=tmp_path,
        gateway_id="gw1",
        checking=checking,
    )


def make_source(tmp_path: Path, checking: bool = False, **keys: Any) -> MqttSource:
    config = build_section(Config, {"sensor": "pump-2", **FAST, **keys}, "[[sources]] #1 (mqtt)")
    return MqttSource(config, context(tmp_path, checking=checking))


def publish(port: int, *messages: tuple[str, Any], retain: bool = False) -> None:
    """Publish with QoS 1 and wait for each PUBACK (payloads: bytes, or anything json.dumps takes)."""
    from paho.mqtt import publish as paho_publish

    msgs = [
        {"topic": t, "payload": p if isinstance(p, bytes) else json.dumps(p), "qos": 1, "retain": retain}
        for t, p in messages
    ]
    paho_publish.multiple(msgs, hostname="127.0.0.1", port=port)  # type: ignore[arg-type]


def collect(source: MqttSource, done: Any, timeout: float = 5.0) -> list[Reading | SourceFault]:
    """Read until ``done(items)`` holds (AssertionError with what came, after ``timeout``)."""
    items: list[Reading | SourceFault] = []
    deadline = time.monotonic() + timeout
    while not done(items):
        assert time.monotonic() < deadline, f"not met in {timeout} s; got {items[-5:]} {source.counters()}"
        items += source.read(0.05)
    return items


def readings(items: list[Any]) -> list[Reading]:
    return [i for i in items if isinstance(i, Reading)]


def opened(source: MqttSource) -> MqttSource:
    source.open()
    assert source._subscribed.wait(5.0), source.counters()
    return source


@pytest.fixture
def broker(tmp_path: Path):
    require_mosquitto()
    with Broker(tmp_path / "broker") as running:
        yield running


# -- the map and the payloads (no broker) ----------------------------------------------------------------


def test_registered_described_and_its_peer(tmp_path: Path) -> None:
    assert SOURCE_TYPES["mqtt"] == "edge.sources.mqtt"
    source = make_source(tmp_path, **JSON_MAP)
    assert source.describe() == "mqtt 127.0.0.1:1883 plant/pump2/state for pump-2"
    assert source.client_id == "edge-agent-gw1-pump-2"  # stable: the broker finds its session again
    assert make_source(tmp_path, checking=True, **JSON_MAP).client_id == "edge-agent-gw1-pump-2-check"
    assert peers(source.config) == [("127.0.0.1", 1883)]
    topics = make_source(tmp_path, tls=True, **TOPIC_MAP)
    assert topics.describe() == "mqtt 127.0.0.1:8883 plant/pump2/temp, plant/pump2/vib for pump-2 over TLS"
    assert topics.units() == ("", "mm/s") and source.units() is None
    assert make_source(tmp_path, units=["degC", "g"], **JSON_MAP).units() == ("degC", "g")
    source.close()
    source.close()


def test_the_map_must_name_exactly_the_models_channels(tmp_path: Path) -> None:
    config = build_section(
        Config, {"sensor": "p", "topic": "t", "fields": {"temperature": "a", "flow": "b"}}, "[[sources]] #1 (mqtt)"
    )
    with pytest.raises(ConfigError) as caught:
        MqttSource(config, context(tmp_path))
    message = str(caught.value)
    assert "names channels ['temperature', 'flow'] but the model has ['temperature', 'vibration']" in message
    assert "missing: ['vibration']; not in the model: ['flow']" in message


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "give either topic and fields (one JSON topic) or topics"),
        ({**JSON_MAP, **TOPIC_MAP}, "give either topic and fields"),
        ({"topic": "t"}, "give either topic and fields"),
        ({"topic": "plant/+/state", "fields": {"t": "a"}}, "topic 'plant/+/state' must be a topic name"),
        ({"topic": "t", "fields": {"t": "a..b"}}, "field path 'a..b' must be names joined by dots"),
        ({"topic": "t", "fields": {"t": 3}}, 'fields.t must be a string or { field = "...", unit = "..." }'),
        ({"topic": "t", "fields": {"t": {"field": "a", "unit": 1}}}, "fields.t: unit must be a string"),
        ({"topics": {"t": "a/#"}}, "topics.t 'a/#' must be a topic name"),
        ({"topics": {"t": "a"}, "timestamp": "ts"}, 'timestamp must be "arrival" with a topic per channel'),
        ({**JSON_MAP, "queue_max": 0}, "queue_max 0 must be at least 1"),
        ({**JSON_MAP, "qos": 3}, "qos 3 must be 0, 1 or 2"),
        ({**JSON_MAP, "fields": "temp_c"}, "it must be dict"),
    ],
)
def test_bad_keys_are_one_clear_error(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"\[\[sources\]\] #1 \(mqtt\)") as caught:
        build_section(Config, {"sensor": "p", **keys}, "[[sources]] #1 (mqtt)")
    assert message in str(caught.value)


def test_payload_numbers_paths_and_times() -> None:
    assert [plain_number(p) for p in (b"21.5", b" -3e-2\n", b"7")] == [21.5, -0.03, 7.0]
    assert math.isnan(plain_number(b"nan")) and plain_number(b"-Infinity") == -math.inf
    for bad, problem in [
        (b"warm", "not a number"),
        (b'{"v": 1}', "an object, not a plain number"),
        (b"true", "a boolean"),
    ]:
        with pytest.raises(BadPayload, match=problem):
            plain_number(bad)
    assert lookup({"axes": [1, 2, {"z": 3}]}, split_path("axes.2.z")) == 3
    with pytest.raises(BadPayload, match=r"no field 'axes.5' \(axes is a list of 3\)"):
        lookup({"axes": [1, 2, 3]}, split_path("axes.5"))
    with pytest.raises(BadPayload, match=r"no field 'a.b' \(a is a number\)"):
        lookup({"a": 1}, split_path("a.b"))
    assert to_seconds(1_700_000_000.25, "t") == 1_700_000_000.25
    assert to_seconds(1_700_000_000_250, "t") == pytest.approx(1_700_000_000.25)
    assert to_seconds(1_700_000_000_250_000, "t") == pytest.approx(1_700_000_000.25)
    assert to_seconds("2023-11-14T22:13:20.25+00:00", "t") == to_seconds("2023-11-14 22:13:20.25", "t")
    assert to_seconds("1700000000250", "t") == pytest.approx(1_700_000_000.25)  # digits as text: the same rule
    for bad in ("yesterday", None, math.nan, True):
        with pytest.raises(BadPayload):
            to_seconds(bad, "t")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
NAMES = st.text(st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), min_size=1, max_size=6)


@given(document=JSON, raw=st.binary(max_size=40))
def test_any_payload_is_a_number_or_a_described_malformation(document: Any, raw: bytes) -> None:
    channel_map = ChannelMap.build(("a", "b"), topic="t", fields={"a": "x", "b": "y.0.z"}, timestamp="ts")
    plain = ChannelMap.build(("a",), topics={"a": "t"})
    said: list[str] = []
    intake = Intake(channel_map, lambda level, text: said.append(text))
    for payload in (json.dumps(document).encode(), json.dumps({"x": document, "ts": document}).encode(), raw):
        for m in (channel_map, plain):
            try:
                values, stamp = m.decode("t", payload)
            except BadPayload as exc:
                assert str(exc)  # says what was wrong
            else:
                assert all(isinstance(v, float) for _, v in values) and (stamp is None or math.isfinite(stamp))
        before = intake.counts["malformed"] + intake.counts["readings"]
        intake.take("t", 1, payload)
        assert intake.counts["malformed"] + intake.counts["readings"] == before + 1  # each counted, one way or other
    assert len(said) <= 2  # one streak: said when it starts, and when a good one ends it


@given(path=st.lists(NAMES, min_size=1, max_size=5), value=st.floats(allow_nan=False) | st.integers(-(10**6), 10**6))
def test_a_dotted_path_finds_its_value_in_nested_objects(path: list[str], value: float) -> None:
    document: Any = value
    for name in reversed(path):
        document = {name: document, "other": [document]}
    channel_map = ChannelMap.build(("a",), topic="t", fields={"a": ".".join(path)})
    assert channel_map.decode("t", json.dumps(document).encode()) == ([(0, float(value))], None)


def test_intake_combines_topics_and_drops_redeliveries_and_retained() -> None:
    channel_map = ChannelMap.build(CHANNELS, **TOPIC_MAP)  # type: ignore[arg-type]
    intake = Intake(channel_map, lambda level, text: None)
    temp, vib = "plant/pump2/temp", "plant/pump2/vib"
    assert intake.take(temp, 1, b"20") is None  # waits for vibration
    assert intake.take(temp, 2, b"21") is None  # newer temperature replaces the older one
    assert intake.take(temp, 2, b"21", dup=True) is None  # QoS 1 redelivery of packet 2: not a new value
    assert intake.take(vib, 3, b"0.5") == ((21.0, 0.5), None)
    assert intake.take(vib, 3, b"0.5", retained=True) is None
    assert intake.take(vib, 4, b"0.5", dup=True) is None and intake.take(temp, 5, b"22") == ((22.0, 0.5), None)
    assert intake.counts == {"readings": 2, "malformed": 0, "duplicates": 1, "retained": 1}
    assert intake.combiner.superseded == 1


# -- against mosquitto ----------------------------------------------------------------------------------


def test_json_fields_become_readings_stamped_by_the_payload_or_on_arrival(broker: Broker, tmp_path: Path) -> None:
    stamped = opened(make_source(tmp_path, port=broker.port, **JSON_MAP, timestamp="meta.ts"))
    arrival = opened(make_source(tmp_path / "b", port=broker.port, **JSON_MAP, client_id="arrival"))
    before = time.time()
    publish(
        broker.port,
        *[
            ("plant/pump2/state", {"temp_c": 20 + n, "vib": {"rms": n / 10}, "meta": {"ts": ts}})
            for n, ts in enumerate([1_700_000_000, 1_700_000_001_500, "2023-11-14T22:13:23Z"])
        ],
    )
    got = readings(collect(stamped, lambda i: len(i) >= 3))
    assert [(r.sensor, r.timestamp, r.values) for r in got] == [
        ("pump-2", 1_700_000_000.0, (20.0, 0.0)),
        ("pump-2", 1_700_000_001.5, (21.0, 0.1)),
        ("pump-2", 1_700_000_003.0, (22.0, 0.2)),
    ]
    on_arrival = readings(collect(arrival, lambda i: len(i) >= 3))
    assert [r.values for r in on_arrival] == [r.values for r in got]
    assert all(before <= r.timestamp <= time.time() for r in on_arrival)
    assert [r.timestamp for r in on_arrival] == sorted(r.timestamp for r in on_arrival)
    assert stamped.counters()["readings"] == 3 and stamped.counters()["messages"] == 3
    stamped.close()
    arrival.close()


def test_a_topic_per_channel_gives_a_reading_once_every_channel_has_a_new_value(broker: Broker, tmp_path: Path) -> None:
    source = opened(make_source(tmp_path, port=broker.port, **TOPIC_MAP))
    temp, vib = "plant/pump2/temp", "plant/pump2/vib"
    publish(broker.port, (temp, b"20.5"), (vib, b"0.25"), (vib, b"0.3"), (temp, b"21"), (temp, b"nan"), (vib, b"0.4"))
    got = readings(collect(source, lambda i: len(i) >= 3))
    assert [r.values[1] for r in got] == [0.25, 0.3, 0.4] and got[0].values[0] == 20.5 and got[1].values[0] == 21.0
    assert math.isnan(got[2].values[0])  # NaN goes through: the detector faults it
    assert source.counters()["superseded"] == 0
    source.close()


def test_malformed_payloads_are_counted_and_said_once_per_streak(broker: Broker, tmp_path: Path, caplog) -> None:
    source = opened(make_source(tmp_path, port=broker.port, **JSON_MAP))
    good = {"temp_c": 20, "vib": {"rms": 0.1}}
    bad = [b"not json at all", {"temp_c": 20}, {"temp_c": "hot", "vib": {"rms": 0.1}}, [1, 2]]
    with caplog.at_level(logging.INFO, logger="edge.sources.mqtt"):
        publish(broker.port, *[("plant/pump2/state", p) for p in [good, *bad, good, bad[0], good]])
        got = readings(collect(source, lambda i: len(i) >= 3))
    assert len(got) == 3 and source.counters()["malformed"] == 5
    lines = [
        r.getMessage() for r in caplog.records if r.name == "edge.sources.mqtt" and "connected" not in r.getMessage()
    ]
    assert lines == [
        "mqtt source 'pump-2': malformed payload on plant/pump2/state: not JSON (Expecting value at character 0): "
        "'not json at all'; skipping such messages (said again when good ones come back)",
        "mqtt source 'pump-2': good payloads on plant/pump2/state again, 4 malformed skipped",
        "mqtt source 'pump-2': malformed payload on plant/pump2/state: not JSON (Expecting value at character 0): "
        "'not json at all'; skipping such messages (said again when good ones come back)",
        "mqtt source 'pump-2': good payloads on plant/pump2/state again, 1 malformed skipped",
    ]
    assert [r.levelname for r in caplog.records if "malformed payload" in r.getMessage()] == ["WARNING", "WARNING"]
    source.close()


def pairs(numbers: Any) -> list[tuple[str, bytes]]:
    """Topic per channel: temperature n and vibration n / 10, for each n."""
    return [
        m for n in numbers for m in (("plant/pump2/temp", str(n).encode()), ("plant/pump2/vib", f"{n / 10}".encode()))
    ]


def test_nothing_is_lost_while_the_source_is_stopped_or_the_broker_restarts(tmp_path: Path) -> None:
    """QoS 1 and a persistent session: what is published while the agent is away comes when it is back, once."""
    require_mosquitto()
    with Broker(tmp_path / "broker", persistence=True) as broker:
        first = opened(make_source(tmp_path, port=broker.port, **TOPIC_MAP))
        publish(broker.port, *pairs([0]))
        assert [r.values for r in readings(collect(first, lambda i: len(i) >= 1))] == [(0.0, 0.0)]
        first.close()  # the agent stops; the broker keeps its session and queues for it
        publish(broker.port, *pairs(range(1, 21)))
        broker.stop()  # a graceful restart: persistence keeps the session and its queue
        broker.start()
        publish(broker.port, *pairs(range(21, 31)))
        again = opened(make_source(tmp_path, port=broker.port, **TOPIC_MAP))
        got = readings(collect(again, lambda i: len(readings(i)) >= 30))
        time.sleep(0.2)
        got += readings(again.read(0.05))
        assert [r.values for r in got] == [(float(n), n / 10) for n in range(1, 31)]  # none lost, none twice
        assert again.counters()["superseded"] == 0 and again.counters()["dropped"] == 0
        again.close()


def test_a_killed_broker_is_a_fault_cleared_when_it_is_back(tmp_path: Path) -> None:
    require_mosquitto()
    with Broker(tmp_path / "broker") as broker:
        source = opened(make_source(tmp_path, port=broker.port, **JSON_MAP))
        broker.kill()
        lost = collect(source, lambda i: any(isinstance(x, SourceFault) for x in i))
        assert [x.message for x in lost] == [
            f"MQTT broker 127.0.0.1:{broker.port} connection lost (the broker stopped or the network failed); "
            "reconnecting"
        ]
        time.sleep(0.3)  # reconnect attempts fail meanwhile: the same fault, not said again
        assert source.read(0.05) == []
        broker.start()
        back = collect(source, lambda i: any(isinstance(x, SourceFault) for x in i))
        assert len(back) == 1 and back[0].cleared and "connected again after" in back[0].message  # type: ignore[union-attr]
        assert "session new: the broker kept nothing" in back[0].message  # type: ignore[union-attr]  # no persistence
        publish(broker.port, ("plant/pump2/state", {"temp_c": 1, "vib": {"rms": 2}}))  # subscribed again
        assert readings(collect(source, lambda i: len(i) >= 1))[0].values == (1.0, 2.0)
        assert source.counters()["reconnects"] == 1
        source.close()


def test_an_unreachable_broker_at_start_is_a_fault_that_names_why(tmp_path: Path) -> None:
    from mosquitto import free_port

    port = free_port()
    source = make_source(tmp_path, port=port, **JSON_MAP)
    source.open()
    fault = collect(source, lambda i: len(i) >= 1)[0]
    assert isinstance(fault, SourceFault) and not fault.cleared
    assert (
        fault.message.startswith(f"MQTT broker 127.0.0.1:{port} cannot be reached (")
        and "retrying every" in fault.message
    )
    with pytest.raises(EdgeError, match=f"cannot subscribe at the MQTT broker 127.0.0.1:{port} within 0.2 s"):
        source.probe(0.2)
    source.close()


def test_bad_credentials_are_a_fault_naming_the_fix(tmp_path: Path) -> None:
    require_mosquitto()
    if not shutil.which("mosquitto_passwd"):
        pytest.skip("mosquitto_passwd is not installed")
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(tmp_path / "passwd"), "gw1", "right"], check=True)
    with Broker(tmp_path / "broker", extra=f"password_file {tmp_path}/passwd", anonymous=False) as broker:
        source = make_source(tmp_path, port=broker.port, username="gw1", password="wrong", **JSON_MAP)
        source.open()
        fault = collect(source, lambda i: len(i) >= 1)[0]
        assert fault.message.startswith(f"MQTT broker 127.0.0.1:{broker.port} refused the connection: ")  # type: ignore[union-attr]
        assert "Not authorized; check username and password (or password_file)" in fault.message  # type: ignore[union-attr]
        with pytest.raises(ConfigError, match="refused the connection"):
            source.probe(1.0)
        source.close()


def test_probe_shows_what_a_message_maps_to_or_that_none_came(broker: Broker, tmp_path: Path) -> None:
    keys = {"port": broker.port, "topic": "plant/pump2/state"}
    fields = {"temperature": {"field": "temp_c", "unit": "degC"}, "vibration": "vib.rms"}
    quiet = opened(make_source(tmp_path, checking=True, **keys, fields=fields))
    assert quiet.probe(0.3) == "subscribed to plant/pump2/state; no message within 0.3 s (the subscription works)"
    quiet.close()
    publish(broker.port, ("plant/pump2/state", {"temp_c": 21.5, "vib": {"rms": 0.25}}), retain=True)
    checked = make_source(tmp_path, checking=True, **keys, fields=fields)
    checked.open()
    assert checked.probe(3.0) == "temperature=21.5 degC, vibration=0.25"  # the retained value is enough for a check
    checked.close()
    wrong = make_source(tmp_path, checking=True, **keys, fields={**fields, "vibration": "vib.peak"})
    wrong.open()
    with pytest.raises(ConfigError, match=r"none fits the map: plant/pump2/state: no field 'vib.peak'"):
        wrong.probe(1.0)
    wrong.close()
    running = opened(make_source(tmp_path, **keys, fields=fields))
    time.sleep(0.2)
    assert running.read(0.05) == [] and running.counters()["retained"] == 1  # the service skips it: of unknown age
    running.close()


def test_the_sample_builds_and_the_network_policy_lists_the_broker(tmp_path: Path) -> None:
    import tomllib

    from conftest import write_config

    from edge.config import load_config
    from edge.service.network_policy import config_peers
    from edge.sources.mqtt import SAMPLE

    table = tomllib.loads(SAMPLE)["sources"][0]
    source = load_spec(SOURCE_TYPES, "source", table, "sample").build(context(tmp_path))
    assert source.describe() == "mqtt localhost:1883 plant/pump3/state for pump-3" and source.units() == ("degC", "")
    body = '[[sources]]\ntype = "mqtt"\nsensor = "p"\nhost = "broker.lan"\ntopic = "t"\n'
    body += 'fields = { temperature = "a", vibration = "b" }\n'
    config = load_config(write_config(tmp_path, body))
    assert [(p.host, p.port, p.plugin) for p in config_peers(config)] == [("broker.lan", 1883, "[[sources]] #1 (mqtt)")]
