"""The mqtt sink's score telemetry and Home Assistant discovery, against a real Mosquitto broker on loopback.

What Home Assistant expects is checked by :func:`check_discovery`, written from its MQTT discovery and MQTT
sensor / binary sensor pages: the topic ``<prefix>/<component>/[<node_id>/]<object_id>/config`` with ids of
``[a-zA-Z0-9_-]``; ``state_topic`` (required by both components); ``unique_id`` and a ``device`` with
``identifiers`` (needed for the device registry); availability as a list of ``topic`` (with optional
``payload_available``, ``payload_not_available``, ``value_template``); for a binary sensor the rendered value
must be ``payload_on`` or ``payload_off``; a ``measurement`` sensor's a number. Templates are rendered by a
tiny stand-in for Jinja that knows only ``{{ value_json.<key> }}`` (what the configs use), printing values
as Jinja prints Python's (``True``, ``None``); Home Assistant takes a rendered ``None`` as unknown.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from mosquitto import Broker, Message, Subscriber, require_mosquitto

from edge.config_types import build_section
from edge.core.events import Event, Fault, Reading
from edge.core.outcome import Scored
from edge.plugins import PluginContext
from edge.sinks.mqtt import Config, MqttSink

FAST = {"host": "127.0.0.1", "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
OBJECT_ID = re.compile(r"[a-zA-Z0-9_-]+")
TEMPLATE = re.compile(r"\{\{\s*value_json\.(\w+)\s*\}\}")


def make_sink(state_dir: Path, port: int, gateway: str = "gw-7", **keys: Any) -> MqttSink:
    context = PluginContext(
        channels=(),
        sample_period_s=1.0,
        model_sha256="",
        state_dir=state_dir,
        base_dir=state_dir.parent,
        gateway_id=gateway,
    )
    return MqttSink(build_section(Config, {**FAST, "port": port, **keys}, "[[sinks]] mqtt"), context)


def detector(units: tuple[str, ...] = ("degC", "mm/s")) -> Any:
    """What the telemetry reads of a detector: channels, units, model, active faults, the threshold."""
    return SimpleNamespace(
        channels=("temperature", "vibration"),
        units=units,
        model_name="pump",
        faults=SimpleNamespace(active={}),
        settings=SimpleNamespace(decision=SimpleNamespace(threshold=0.9)),
    )


def scored(sensor: str, t: float, score: float, alerting: bool = False, state: str = "scored") -> Scored:
    return Scored(Reading(sensor, t, (20.0, 1.0)), state, score, alerting=alerting, level=score)  # type: ignore[arg-type]


def render(template: str, payload: dict[str, Any]) -> str:
    """``{{ value_json.key }}`` as Jinja renders it: Python's str() of the value."""
    match = TEMPLATE.fullmatch(template.strip())
    assert match, f"the stand-in renders only {{{{ value_json.<key> }}}}, not {template!r}"
    return str(payload[match[1]])


def check_discovery(topic: str, config: dict[str, Any], published: dict[str, Message]) -> str:
    """Assert what Home Assistant's docs require of one discovery config; return its component."""
    parts = topic.split("/")
    assert parts[-1] == "config" and len(parts) in (4, 5), topic
    component = parts[1]
    assert component in ("binary_sensor", "sensor"), topic
    assert all(OBJECT_ID.fullmatch(part) for part in parts[2:-1]), topic
    assert config["state_topic"] in published, "the state topic has a (retained) message"
    assert config["json_attributes_topic"] in published
    assert config["unique_id"] and OBJECT_ID.fullmatch(config["unique_id"])
    assert config["device"]["identifiers"] and config["device"]["name"]
    assert "availability_topic" not in config  # the list form, not both
    state = published[config["state_topic"]].json()
    for entry in config["availability"]:
        status = published[entry["topic"]].json()
        assert render(entry["value_template"], status) == entry.get("payload_available", "online")
    value = render(config["value_template"], state)
    if component == "binary_sensor":
        assert config["device_class"] == "problem"
        assert value in (config.get("payload_on", "ON"), config.get("payload_off", "OFF"), "None")
    else:
        assert config["state_class"] == "measurement"
        assert value == "None" or 0.0 <= float(value) <= 1.0
    return component


def latest(messages: list[Message]) -> dict[str, Message]:
    """The last message per topic: what a subscriber's view of the retained topics is."""
    return {m.topic: m for m in messages}


@pytest.fixture
def broker(tmp_path: Path):
    require_mosquitto()
    with Broker(tmp_path / "broker") as running:
        yield running


# -- keys ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"telemetry_interval_s": 0.01}, "telemetry_interval_s"),
        ({"discovery_prefix": "home/"}, "discovery_prefix"),
        ({"discovery_prefix": "ha/#"}, "discovery_prefix"),
        ({"discovery_prefix": ""}, "discovery_prefix"),
    ],
)
def test_bad_telemetry_keys_are_one_clear_error(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        build_section(Config, {**FAST, **keys}, "[[sinks]] mqtt")


def test_object_ids_keep_allowed_names_and_never_merge_two() -> None:
    from edge.sinks.mqtt.discovery import object_id

    assert object_id("pump-1_a") == "pump-1_a"
    assert OBJECT_ID.fullmatch(object_id("pump.1 west")) and object_id("pump.1") != object_id("pump,1")


# -- against the broker ------------------------------------------------------------------------------------


def test_off_unless_configured_no_extra_topics(broker: Broker, tmp_path: Path) -> None:
    with Subscriber(broker.port, "#") as sub:
        sink = make_sink(tmp_path / "state", broker.port)
        sink.open()
        assert sink.watch({"pump-1": detector()}) is None
        sink.status({})
        sub.wait_for(lambda got: any(m.topic.endswith("/status") for m in got))
        time.sleep(0.3)
        sink.close()
        topics = {m.topic for m in sub.received()}
    assert topics == {"edge-anomaly/gw-7/status"}
    assert not (tmp_path / "state" / "mqtt-retained.json").exists()


def test_discovery_configs_and_states_are_retained_and_parse_as_home_assistant_expects(
    broker: Broker, tmp_path: Path
) -> None:
    sink = make_sink(tmp_path / "state", broker.port, homeassistant=True, telemetry_interval_s=0.1)
    sink.open()
    pump, press = detector(), detector(units=())
    observe = sink.watch({"pump-1": pump, "press.2": press})
    assert observe is not None
    with Subscriber(broker.port, "edge-anomaly/#") as live:
        observe("pump-1", [scored("pump-1", 100.0, 0.2), scored("pump-1", 101.0, 0.95, True)])
        observe("pump-1", [scored("pump-1", 102.0, 0.5, True)])
        observe("press.2", [scored("press.2", 100.0, 0.0, state="warmup")])
        live.wait_for(lambda got: len({m.topic for m in got if m.topic.endswith("/state")}) == 2)
    # a client that comes later (Home Assistant after its restart) gets the configs, states and status retained
    with Subscriber(broker.port, "#") as late:
        got = late.wait_for(lambda got: len({m.topic for m in got}) == 7)
    sink.close()
    published = latest(got)
    assert all(m.retain for m in published.values())
    configs = {t: m.json() for t, m in published.items() if t.startswith("homeassistant/")}
    components = sorted(check_discovery(t, c, published) for t, c in configs.items())
    assert components == ["binary_sensor", "binary_sensor", "sensor", "sensor"]
    assert "homeassistant/binary_sensor/edge_anomaly_gw-7/pump-1_anomaly/config" in configs
    assert len({c["unique_id"] for c in configs.values()}) == 4
    assert len({json.dumps(c["device"]) for c in configs.values()}) == 1  # one device per gateway
    state = published["edge-anomaly/gw-7/sensors/pump-1/state"].json()
    assert state["score"] == 0.5 and state["peak"] == 0.95 and state["alerting"] is True
    assert state["readings"] == 3 and state["faults"] == [] and state["units"] == ["degC", "mm/s"]
    assert state["channels"] == ["temperature", "vibration"] and state["model"] == "pump"
    assert state["threshold"] == 0.9 and state["time"].endswith("Z")
    warming = published["edge-anomaly/gw-7/sensors/press.2/state"].json()
    assert warming["state"] == "warmup" and warming["peak"] is None and warming["units"] is None


def test_a_fault_is_in_the_next_state_message_without_readings(broker: Broker, tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "state", broker.port, telemetry=True, telemetry_interval_s=0.1)
    sink.open()
    pump = detector()
    observe = sink.watch({"pump-1": pump})
    with Subscriber(broker.port, "edge-anomaly/gw-7/sensors/#") as sub:
        observe("pump-1", [scored("pump-1", 100.0, 0.1)])
        sub.wait_for(lambda got: len(got) == 1)
        fault = Fault("pump-1", "stale", 160.0, "no reading for 60 s")
        pump.faults.active["stale"] = fault
        sink.send(Event("fault", fault, 160.0))
        got = sub.wait_for(lambda got: len(got) == 2)
    sink.close()
    assert got[-1].json()["faults"] == ["stale"] and got[-1].json()["readings"] == 0
    assert got[-1].json()["score"] == 0.1 and got[-1].json()["peak"] is None


def test_the_rate_limit_holds_under_1khz_input(broker: Broker, tmp_path: Path) -> None:
    """5,000 readings a sensor at 1 kHz (on a simulated clock): at most one message per sensor per interval,
    and together the messages count every reading."""
    interval = 0.5
    sink = make_sink(tmp_path / "state", broker.port, telemetry=True, telemetry_interval_s=interval)
    now = [0.0]
    assert sink.telemetry is not None
    sink.telemetry.clock = lambda: now[0]
    sink.open()
    sensors = ("pump-1", "pump-2")
    observe = sink.watch({s: detector() for s in sensors})
    assert observe is not None
    with Subscriber(broker.port, "edge-anomaly/gw-7/sensors/#") as sub:
        for i in range(5000):
            now[0] = i / 1000.0
            for sensor in sensors:
                observe(sensor, [scored(sensor, 1000.0 + now[0], (i % 100) / 100.0)])
            if i % 50 == 0:
                time.sleep(0.001)  # let the publisher thread run now and then, as a scoring thread does
        now[0] = 5.0 + interval  # the last window is due
        sink._wake.set()
        got = sub.wait_for(lambda got: sum(m.json()["readings"] for m in got) == 2 * 5000)
    sink.close()
    for sensor in sensors:
        mine = [m.json() for m in got if m.json()["sensor"] == sensor]
        assert 2 <= len(mine) <= 5.0 / interval + 1, len(mine)
        assert sum(m["readings"] for m in mine) == 5000
        assert max(m["peak"] for m in mine) == 0.99
    assert {m.qos for m in got} == {0}  # telemetry is QoS 0: the next message supersedes a lost one


def test_reconnects_republish_and_what_is_no_longer_wanted_is_cleared(broker: Broker, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = make_sink(state, broker.port, homeassistant=True, telemetry_interval_s=0.1)
    first.open()
    observe = first.watch({"pump-1": detector(), "pump-2": detector()})
    assert observe is not None
    with Subscriber(broker.port, "homeassistant/#") as sub:
        sub.wait_for(lambda got: len(got) == 4)
        broker.restart()  # no persistence: the broker forgot every retained config
        sub.wait_for(lambda got: len(got) >= 8)  # the sink published them again after its reconnect
        observe("pump-2", [scored("pump-2", 1.0, 0.3)])
    first.close()
    # pump-2 removed (a reload): its configs and retained state are cleared
    second = make_sink(state, broker.port, homeassistant=True)
    with Subscriber(broker.port, "#") as sub:  # before the sink: an empty payload is not kept for later ones
        second.open()
        second.watch({"pump-1": detector()})
        sub.wait_for(lambda got: any(m.topic.endswith("pump-2_anomaly/config") and not m.payload for m in got))
    second.close()
    with Subscriber(broker.port, "homeassistant/#") as sub:
        sub.wait_for(lambda got: len(got) == 2)
        time.sleep(0.2)
        assert sorted(m.topic.split("/")[-2] for m in sub.received()) == ["pump-1_anomaly", "pump-1_score"]
    # homeassistant and telemetry off: the gateway's entities go
    third = make_sink(state, broker.port)
    with Subscriber(broker.port, "homeassistant/#") as sub:
        sub.wait_for(lambda got: len(got) == 2)  # the retained configs first
        third.open()
        third.watch({"pump-1": detector()})
        sub.wait_for(lambda got: sum(1 for m in got if not m.payload) == 2)
    third.close()
    assert not (state / "mqtt-retained.json").exists()
    with Subscriber(broker.port, "#") as sub:
        time.sleep(0.3)
        assert {m.topic for m in sub.received()} == {"edge-anomaly/gw-7/status"}


def test_the_agent_publishes_telemetry_and_discovery_through_the_pipeline(broker: Broker, tmp_path: Path) -> None:
    from conftest import live_rows, write_config, write_history

    from edge.service.agent import Service
    from edge.service.notify import Notifier

    csv = write_history(tmp_path / "live.csv", live_rows(300), "timestamp,temperature,vibration")
    body = (  # a second of readings: telemetry is not stored and forwarded, so the broker must be reached meanwhile
        f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\nrate = 300.0\n\n'
        f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {broker.port}\nreconnect_min_s = 0.05\n'
        "homeassistant = true\ntelemetry_interval_s = 0.1\n"
    )
    config = write_config(tmp_path, body)
    config.write_text(config.read_text().replace("[agent]\n", '[agent]\ngateway_id = "gw-7"\n'))
    with Subscriber(broker.port, "#") as sub:
        assert Service(config, Notifier()).run() == 0
        got = sub.wait_for(lambda got: any(m.topic.endswith("/state") for m in got))
        configs = [m for m in got if m.topic.startswith("homeassistant/")]
    state = next(m.json() for m in got if m.topic == "edge-anomaly/gw-7/sensors/pump-1/state")
    assert len(configs) == 2 and state["sensor"] == "pump-1" and state["readings"] > 0
