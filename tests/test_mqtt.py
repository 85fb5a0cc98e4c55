"""The mqtt sink and its outbox, against a real Mosquitto broker started on loopback for each test."""

from __future__ import annotations

import json
import logging
import math
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from mosquitto import Broker, Subscriber, free_port, require_mosquitto

from edge.config_types import build_section
from edge.core.events import Alert, Event, Fault
from edge.errors import ConfigError, EdgeError, WaitError
from edge.plugins import SINK_TYPES, PluginContext
from edge.sinks.mqtt import Config, MqttSink, event_payload
from edge.sinks.mqtt.outbox import Outbox

FAST = {"host": "127.0.0.1", "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}


def context(state_dir: Path, gateway: str = "gw1") -> PluginContext:
    return PluginContext(
        channels=("temperature", "vibration"),
        sample_period_s=300.0,
        model_sha256="ab" * 32,
        state_dir=state_dir,
        base_dir=state_dir.parent,
        gateway_id=gateway,
    )


def make_sink(state_dir: Path, **keys: Any) -> MqttSink:
    return MqttSink(build_section(Config, {**FAST, **keys}, "[[sinks]] mqtt"), context(state_dir))


def alert(number: int, kind: str = "alert") -> Event:
    subject = Alert(
        id=f"a{number:05d}",
        sensor="pump-1",
        channels=("temperature",),
        start=1_700_000_000.0 + number,
        score=0.97,
        threshold=0.9,
        observed=(81.25,),
        expected=(74.5,),
        model_sha256="ab" * 32,
        end=1_700_000_060.0 + number if kind == "clear" else None,
        ended_by="back to normal" if kind == "clear" else "",
    )
    return Event(kind, subject, subject.start)  # type: ignore[arg-type]


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def broker(tmp_path: Path):
    require_mosquitto()
    with Broker(tmp_path / "broker") as running:
        yield running


# -- payloads and config --------------------------------------------------------------------------------


def test_an_alert_payload_names_its_model_and_units() -> None:
    from dataclasses import replace

    event = alert(4)
    named = Event("alert", replace(event.subject, model="pump", units=("degC",)), event.time)
    payload = event_payload(named, "gw1")
    assert payload["model"] == "pump" and payload["units"] == ["degC"]
    assert payload["model_sha256"] == "ab" * 32


def test_payloads_follow_the_documented_schema() -> None:
    clear = alert(3, "clear")
    assert event_payload(clear, "gw1") == {
        "id": "a00003",
        "event": "clear",
        "gateway": "gw1",
        "sensor": "pump-1",
        "channels": ["temperature"],
        "score": 0.97,
        "threshold": 0.9,
        "observed": [81.25],
        "expected": [74.5],
        "start": "2023-11-14T22:13:23.000Z",
        "end": "2023-11-14T22:14:23.000Z",
        "units": None,
        "model": None,
        "model_sha256": "ab" * 32,
        "severity": "minor",
        "ended_by": "back to normal",
    }
    odd = Event(
        "alert",
        Alert(
            id="x",
            sensor="s",
            channels=("a",),
            start=0.0,
            score=math.inf,
            threshold=0.9,
            observed=(math.nan,),
            expected=(1.0,),
        ),
    )
    assert json.dumps(event_payload(odd, "gw1"), allow_nan=False)  # not-finite numbers become null
    fault = Fault(sensor="pump-1", kind="stale", start=1_700_000_000.0, detail="no reading for 61 s")
    raised = event_payload(Event("fault", fault, fault.start), "gw1")
    assert raised == {
        "id": raised["id"],
        "event": "fault",
        "gateway": "gw1",
        "sensor": "pump-1",
        "fault": "stale",
        "detail": "no reading for 61 s",
        "channels": [],
        "start": "2023-11-14T22:13:20.000Z",
        "end": None,
    }
    cleared = event_payload(
        Event("fault_cleared", Fault("pump-1", "stale", fault.start, "back", end=1.7e9 + 90)), "gw1"
    )
    assert len(raised["id"]) == 16 and cleared["id"] == raised["id"]  # one id per fault, like an alert's
    assert event_payload(Event("fault", Fault("pump-2", "stale", fault.start, "")), "gw1")["id"] != raised["id"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"username": "u", "password": "p", "password_file": "pw"}, "set password or password_file, not both"),
        ({"password": "p"}, "a password needs a username"),
        ({"ca_file": "ca.pem"}, "ca_file, cert_file and key_file need tls = true"),
        ({"tls": True, "cert_file": "c.pem"}, "cert_file and key_file go together"),
        ({"qos": 3}, "qos 3 must be 0, 1 or 2"),
        ({"topic_prefix": "plant/#"}, "topic_prefix 'plant/#' must be non-empty"),
        ({"reconnect_min_s": 5.0, "reconnect_max_s": 1.0}, "need 0 < reconnect_min_s <= reconnect_max_s"),
        ({"tls": "yes"}, "tls is 'yes'; it must be true or false"),
    ],
)
def test_bad_options_are_one_clear_error(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="mqtt") as caught:
        build_section(Config, keys, "[[sinks]] #1 (mqtt)")
    assert message in str(caught.value)


def test_registered_and_defaults(tmp_path: Path) -> None:
    assert SINK_TYPES["mqtt"] == "edge.sinks.mqtt"
    sink = make_sink(tmp_path / "state", tls=True, host="broker.example")
    assert sink.describe() == "mqtt mqtts://broker.example:8883 as edge-agent-gw1"
    assert sink.topics == {
        "alerts": "edge-anomaly/gw1/alerts",
        "faults": "edge-anomaly/gw1/faults",
        "status": "edge-anomaly/gw1/status",
    }
    assert make_sink(tmp_path / "state", name="backup").outbox_path == tmp_path / "state" / "mqtt-outbox-backup.sqlite"
    with pytest.raises(ConfigError, match="gateway id 'a/b'"):
        MqttSink(build_section(Config, {}, "x"), context(tmp_path, gateway="a/b"))
    sink.close()
    assert not (tmp_path / "state").exists()  # building and closing create nothing


def test_unreadable_password_file_is_a_clear_error_at_open(tmp_path: Path) -> None:
    pytest.importorskip("paho.mqtt.client")
    sink = make_sink(tmp_path / "state", username="gw1", password_file="missing-password")
    with pytest.raises(ConfigError, match=r"password_file .*missing-password cannot be read.*make the agent's user"):
        sink.open()
    sink.close()
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_password_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    pytest.importorskip("paho.mqtt.client")
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    secret.chmod(mode)
    sink = make_sink(tmp_path / "state", username="gw1", password_file="password")
    with pytest.raises(ConfigError) as caught:
        sink.open()
    sink.close()
    message = str(caught.value)
    assert f"mode {mode:04o}" in message and "chmod 600" in message and "s3cret" not in message


@pytest.mark.parametrize("value", [55512345, 3.5, True, ["s3cret"], {"a": "s3cret"}])
def test_a_mistyped_password_is_never_shown(tmp_path: Path, value) -> None:
    from edge.config import parse_config

    data = {
        "model": {"path": "m.onnx"},
        "sources": [{"type": "replay", "sensor": "p", "path": "x.csv"}],
        "sinks": [{"type": "mqtt", "host": "h", "username": "gw1", "password": value}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, tmp_path / "agent.toml")
    message = str(caught.value)
    assert "password is a" in message and "not shown: it is a secret" in message
    assert "55512345" not in message and "s3cret" not in message and "3.5" not in message


def test_the_outbox_and_its_folder_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    previous = os.umask(0o022)
    try:
        outbox = Outbox(tmp_path / "state" / "outbox.sqlite", max_events=10).open()
        outbox.put("t", b"x")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "state").iterdir()}
        folder = stat.S_IMODE((tmp_path / "state").stat().st_mode)
        outbox.close()
    finally:
        os.umask(previous)
    assert folder == 0o700 and modes and set(modes.values()) == {0o600}, (folder, modes)


# -- the outbox -----------------------------------------------------------------------------------------


def test_outbox_drops_the_oldest_beyond_its_bound_counts_and_logs(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, "edge.sinks.mqtt.outbox"), Outbox(tmp_path / "o.sqlite", max_events=3) as box:
        seqs = [box.put("t", f"m{i}".encode()) for i in range(5)]
        assert [p for _s, _t, p in box.pending(10)] == [b"m2", b"m3", b"m4"]
        assert box.pending(10, after=seqs[3]) == [(seqs[4], "t", b"m4")]
        assert box.counters() == {"stored": 5, "acked": 0, "dropped": 2, "peak_size": 3, "size": 3}
        assert box.ack(seqs[0], seqs[2]) == 1  # a dropped row is simply not there any more
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings  # at most one a minute, and the rest at close: not one per event
    assert "is full (3 events): dropped the 1 oldest unsent event(s), the oldest 0 s old" in warnings[0]
    assert warnings[1].endswith("o.sqlite dropped 1 more event(s) since the last warning")


def test_outbox_is_wal_survives_reopen_and_has_one_owner(tmp_path: Path) -> None:
    path = tmp_path / "state" / "o.sqlite"
    with Outbox(path) as box:
        assert box.journal_mode() == "wal"
        first = box.put("a", b"1")
        box.put("b", b"2")
        box.ack(first)
        with pytest.raises(
            WaitError,
            match="locked by another process .*: another edge-agent run or check, or a "
            "second mqtt sink with the same name",
        ):
            Outbox(path).open()
    with Outbox(path) as again:
        assert [(t, p) for _s, t, p in again.pending(10)] == [("b", b"2")]
        assert again.put("c", b"3") > first  # seqs never repeat, even after their rows are gone
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_outbox_in_an_unusable_place_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file, not a folder")
    with pytest.raises(ConfigError, match=r"cannot create the outbox .*state/o.sqlite.*set \[agent\] state_dir"):
        Outbox(tmp_path / "state" / "o.sqlite").open()
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigError, match="junk.sqlite.*move the file aside"):
        Outbox(tmp_path / "junk.sqlite").open()


# -- against the broker ---------------------------------------------------------------------------------


def test_events_reach_their_topics_with_qos1_and_status_is_retained(broker: Broker, tmp_path: Path) -> None:
    fault = Fault(sensor="pump-1", kind="flatline", start=1_700_000_000.0, detail="60 identical readings")
    with Subscriber(broker.port, "edge-anomaly/#") as sub:
        sink = make_sink(tmp_path / "state", port=broker.port)
        sink.open()
        for event in (alert(1), alert(1, "clear"), Event("fault", fault), Event("fault_cleared", fault)):
            sink.send(event)
        pump = {"state": "scoring", "model": "pump", "weights_sha256": "ab" * 32, "units": {"temperature": "degC"}}
        sink.status(
            {
                "state": "running",
                "uptime_s": 12.5,
                "sensors": {"pump-1": {**pump, "counters": {"readings": 3}}},
                "models": {"pump": {"weights_sha256": "ab" * 32, "path": "/etc/edge-anomaly/pump.onnx"}},
            }
        )
        got = sub.wait_for(
            lambda m: (
                len([x for x in m if not x.topic.endswith("status")]) == 4
                and any(x.json().get("uptime_s") == 12.5 for x in m)
            )
        )
        events = [(m.topic, m.json()["event"], m.qos) for m in got if not m.topic.endswith("status")]
        assert events == [
            ("edge-anomaly/gw1/alerts", "alert", 1),
            ("edge-anomaly/gw1/alerts", "clear", 1),
            ("edge-anomaly/gw1/faults", "fault", 1),
            ("edge-anomaly/gw1/faults", "fault_cleared", 1),
        ]
        wait_until(lambda: sink.counters()["pending"] == 0)
        assert "(connected, outbox 0 pending)" in sink.describe()
    with Subscriber(broker.port, "edge-anomaly/gw1/status") as late:  # a newcomer gets the retained status
        status = late.wait_for(lambda m: len(m) == 1)[0]
        assert status.retain and status.json()["state"] == "online"
        assert status.json()["sensors"] == {"pump-1": pump}  # per sensor: its state, model, weights and units
        assert status.json()["models"] == {"pump": "ab" * 32}
        assert set(status.json()["mqtt"]) >= {"published", "acked", "pending", "dropped", "reconnects"}
        sink.close()
        sink.close()
        offline = late.wait_for(lambda m: len(m) == 2)[1].json()
        assert (offline["state"], offline["reason"]) == ("offline", "stopped")


AGENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from edge.config_types import build_section
    from edge.core.events import Alert, Event
    from edge.plugins import PluginContext
    from edge.sinks.mqtt import Config, MqttSink

    port, state_dir, first, count = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    context = PluginContext(channels=("temperature",), sample_period_s=1.0, model_sha256="ab" * 32,
                            state_dir=state_dir, base_dir=state_dir, gateway_id="gw1")
    keys = {"host": "127.0.0.1", "port": port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
    sink = MqttSink(build_section(Config, keys, "mqtt"), context)
    sink.open()
    for n in range(first, first + count):
        sink.send(Event("alert", Alert(id=f"a{n:05d}", sensor="pump-1", channels=("temperature",), start=float(n),
                                       score=0.97, threshold=0.9, observed=(81.25,), expected=(74.5,))))
    print("sent", count, flush=True)
    time.sleep(60)
""")


def start_agent(port: int, state_dir: Path, first: int = 0, count: int = 0) -> subprocess.Popen[str]:
    """The sink in its own process: sends ``count`` alerts, prints ``sent``, then waits to be killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(port), str(state_dir), str(first), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("sent"), "the agent process did not start"
    return process


def test_last_will_says_offline_when_the_agent_dies(broker: Broker, tmp_path: Path) -> None:
    with Subscriber(broker.port, "edge-anomaly/gw1/status") as sub:
        agent = start_agent(broker.port, tmp_path / "state")
        try:
            sub.wait_for(lambda m: any(x.json()["state"] == "online" for x in m))
        finally:
            agent.send_signal(signal.SIGKILL)
            agent.wait(5)
        sub.wait_for(lambda m: m[-1].json()["state"] == "offline")
    with Subscriber(broker.port, "edge-anomaly/gw1/status") as late:
        will = late.wait_for(lambda m: len(m) == 1)[0]
        assert will.retain and will.json() == {
            "state": "offline",
            "gateway": "gw1",
            "client_id": "edge-agent-gw1",
            "reason": "connection lost",
        }


def test_send_never_waits_for_an_unreachable_broker(tmp_path: Path) -> None:
    pytest.importorskip("paho.mqtt.client")
    sink = make_sink(tmp_path / "state", port=free_port())  # nothing listens there
    started = time.perf_counter()
    sink.open()
    assert time.perf_counter() - started < 0.5
    slowest = 0.0
    for n in range(50):
        started = time.perf_counter()
        sink.send(alert(n))
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 0.05, f"send took {slowest * 1000:.1f} ms"
    assert sink.counters()["pending"] == 50 and "not connected, outbox 50 pending" in sink.describe()
    started = time.perf_counter()
    sink.close()
    assert time.perf_counter() - started < 1.5
    with Outbox(sink.outbox_path) as box:
        assert box.size() == 50  # kept for the next start


def test_password_file_and_tls_with_a_client_certificate(tmp_path: Path) -> None:
    require_mosquitto()
    if not shutil.which("openssl") or not shutil.which("mosquitto_passwd"):
        pytest.skip("openssl or mosquitto_passwd is not installed")
    pki = tmp_path / "pki"
    pki.mkdir()

    def run(*args: str) -> None:
        subprocess.run(args, cwd=pki, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
    (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        run("openssl", "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run(
            "openssl",
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        )
    run("mosquitto_passwd", "-b", "-c", "passwd", "gw1", "s3cret")
    (pki / "password").write_text("s3cret\n")  # the trailing newline of `echo` is not part of the password
    (pki / "password").chmod(0o600)  # a secret readable by the agent's user alone
    extra = (
        f"cafile {pki}/ca.pem\ncertfile {pki}/server.pem\nkeyfile {pki}/server.key\nrequire_certificate true\n"
        f"password_file {pki}/passwd"
    )
    with Broker(tmp_path / "broker", extra=extra, anonymous=False) as tls_broker:
        keys = {
            "port": tls_broker.port,
            "tls": True,
            "ca_file": str(pki / "ca.pem"),
            "cert_file": "pki/client.pem",
            "key_file": "pki/client.key",
            "username": "gw1",
            "password_file": "pki/password",
        }  # relative paths
        sink = make_sink(tmp_path / "state", **keys)
        sink.open()
        sink.send(alert(7))
        wait_until(lambda: sink.counters()["acked"] == 1)
        assert sink.describe().startswith(f"mqtt mqtts://127.0.0.1:{tls_broker.port} as edge-agent-gw1 (connected")
        sink.close()
        (pki / "password").write_text("wrong\n")
        refused = make_sink(tmp_path / "other", **keys)
        refused.open()
        refused.send(alert(8))
        time.sleep(0.3)
        assert refused.counters()["acked"] == 0 and "not connected" in refused.describe()
        refused.close()


def test_outage_every_alert_arrives_through_a_broker_outage_and_agent_restarts(tmp_path: Path) -> None:
    """Stream alerts, stop the broker, keep producing, restart the agent (cleanly, then by SIGKILL) while the
    broker is still down, bring the broker back: the subscriber gets every alert id."""
    require_mosquitto()
    state = tmp_path / "state"
    produced: list[str] = []

    def produce(sink: MqttSink, first: int, count: int, pause: float = 0.0) -> None:
        for n in range(first, first + count):
            sink.send(alert(n))
            produced.append(f"a{n:05d}")
            time.sleep(pause)

    with (
        Broker(tmp_path / "broker", persistence=True) as broker,
        Subscriber(broker.port, "edge-anomaly/+/alerts", persistent=True, client_id="outage-test") as sub,
    ):
        first = make_sink(state, port=broker.port)
        first.open()
        stream = threading.Thread(target=produce, args=(first, 0, 100, 0.002))
        stream.start()
        sub.wait_for(lambda m: len(m) >= 20)
        broker.stop()  # mid-stream: some alerts are in flight, the rest keep coming while the broker is down
        stream.join()
        assert first.counts["published"] > first.counts["acked"] or first.counters()["pending"] > 0
        first.close()  # a clean restart of the agent while the broker is down
        crashed = start_agent(broker.port, state, 100, 40)  # the next agent sends 40 and is killed with SIGKILL
        crashed.send_signal(signal.SIGKILL)
        crashed.wait(5)
        produced += [f"a{n:05d}" for n in range(100, 140)]
        last = make_sink(state, port=broker.port)
        last.open()
        assert last.counters()["pending"] == 140 - first.counts["acked"]  # on disk through both restarts
        produce(last, 140, 40)
        broker.start()  # back, on the same port
        got = sub.wait_for(lambda m: {x.json()["id"] for x in m} >= set(produced), timeout=10)
        wait_until(lambda: last.counters()["pending"] == 0)
        last.close()
    ids = Counter(m.json()["id"] for m in got)
    assert set(produced) - set(ids) == set()  # none lost
    duplicates = sum(ids.values()) - len(ids)
    assert duplicates <= 20 + 5, ids.most_common(3)  # what was in flight at the restart, and a few from the broker


def test_the_agent_publishes_its_alerts_and_status_through_the_pipeline(broker: Broker, tmp_path: Path) -> None:
    from conftest import live_rows, write_config, write_history

    from edge.service.agent import Service
    from edge.service.notify import Notifier

    rows = live_rows(120)
    t, temperature, vibration = rows[80]
    rows[80] = (t, temperature + 40.0, vibration)
    csv = write_history(tmp_path / "live.csv", rows, "timestamp,temperature,vibration")
    body = (
        f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\nrate = 0.0\n\n'
        f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {broker.port}\nreconnect_min_s = 0.05\n'
    )
    config = write_config(tmp_path, body)
    config.write_text(
        config.read_text()
        .replace("[agent]\n", '[agent]\ngateway_id = "gw-7"\n')
        .replace("[model]\n", "[model]\nthreshold = 0.6\n")
    )
    with Subscriber(broker.port, "edge-anomaly/gw-7/+") as sub:
        service = Service(config, Notifier())
        assert service.run() == 0
        alerts = [
            m.json()
            for m in sub.wait_for(lambda m: any(x.topic.endswith("/alerts") for x in m))
            if m.topic.endswith("/alerts")
        ]
        statuses = [
            m.json()
            for m in sub.wait_for(lambda m: m[-1].json().get("reason") == "stopped")
            if m.topic.endswith("/status")
        ]
    assert alerts[0]["event"] == "alert" and alerts[0]["sensor"] == "pump-1" and alerts[0]["gateway"] == "gw-7"
    assert alerts[0]["model_sha256"] == service.pipeline.model.weights_sha256
    assert statuses[0]["state"] == "online" and statuses[-1]["state"] == "offline"
    assert (tmp_path / "state" / "mqtt-outbox.sqlite").exists()


def test_check_probes_the_broker(tmp_path: Path, capsys) -> None:
    """``edge-agent check`` reports a reachable broker as connected and an unreachable one as a failure."""
    require_mosquitto()
    from conftest import write_config

    from edge.cli import main

    with Broker(tmp_path / "broker") as broker, Subscriber(broker.port).start() as watcher:
        good = write_config(
            tmp_path,
            f'[[sources]]\ntype = "replay"\nsensor = "p"\npath = "x.csv"\n\n'
            f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {broker.port}\n',
            "g.toml",
        )
        main(["check", "--config", str(good)])
        out = capsys.readouterr().out
        assert "connected, 0 event(s) waiting in the outbox" in out and "-check (connected" in out
        time.sleep(0.3)
        # beside a running service: its own client id, no status or will published, nothing in the state folder
        assert watcher.received() == [] and not (tmp_path / "state").exists()
    (tmp_path / "b").mkdir()
    bad = write_config(
        tmp_path / "b",
        f'[[sources]]\ntype = "replay"\nsensor = "p"\npath = "x.csv"\n\n'
        f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {free_port()}\n',
    )
    assert main(["check", "--config", str(bad)]) == 2
    assert "cannot connect to the MQTT broker 127.0.0.1:" in capsys.readouterr().out


def test_a_locked_outbox_at_start_is_waited_for_not_a_config_error(broker: Broker, tmp_path: Path, caplog) -> None:
    """An ``edge-agent check`` (or another agent) holding the outbox makes ``run`` wait and retry, never exit 78."""
    from conftest import live_rows, write_config, write_history

    from edge.service.agent import Service
    from edge.service.notify import Notifier

    csv = write_history(tmp_path / "live.csv", live_rows(60), "timestamp,temperature,vibration")
    body = (
        f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\nrate = 0.0\n\n'
        f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {broker.port}\nreconnect_min_s = 0.05\n'
    )
    config = write_config(tmp_path, body)
    holder = Outbox(tmp_path / "state" / "mqtt-outbox.sqlite").open()  # what a running check holds
    caplog.set_level(logging.INFO, logger="edge")
    service = Service(config, Notifier())
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(service.run()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while "cannot start yet" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    holder.close()  # the check ends
    thread.join(timeout=30)
    assert outcome == [0]
    waiting = [r.getMessage() for r in caplog.records if "cannot start yet" in r.getMessage()]
    assert waiting and "is locked by another process" in waiting[0] and "retrying in 1 s" in waiting[0]
    assert service.pipeline.detectors["pump-1"].counters.readings == 60


def test_a_full_disk_when_the_outbox_is_created_is_waited_for(tmp_path: Path, monkeypatch) -> None:
    import errno as errnos

    from edge.sinks.mqtt import outbox as outboxes

    def full(path: Path) -> None:
        raise OSError(errnos.ENOSPC, "No space left on device")

    monkeypatch.setattr(outboxes, "private_file", full)
    with pytest.raises(WaitError, match=r"is full; free space there"):
        Outbox(tmp_path / "state" / "o.sqlite").open()


# -- a full state disk while running ---------------------------------------------------------------------


class FullDisk:
    """Makes an outbox refuse to store, as sqlite does on a full disk, until ``free()``."""

    def __init__(self, outbox: Outbox, monkeypatch) -> None:
        self.full = True
        real = outbox.put

        def put(topic: str, payload: bytes) -> int:
            if self.full:
                raise EdgeError(
                    f"cannot store an event in the outbox {outbox.path}: database or disk is full (is the disk full?)"
                )
            return real(topic, payload)

        monkeypatch.setattr(outbox, "put", put)

    def free(self) -> None:
        self.full = False


def test_events_the_outbox_cannot_store_are_held_in_order_bounded_and_counted(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    from edge.sinks.mqtt.holding import MemoryHold

    with Outbox(tmp_path / "o.sqlite") as box:
        disk = FullDisk(box, monkeypatch)
        hold = MemoryHold("test outbox", limit=5)
        with caplog.at_level(logging.WARNING, "edge.sinks.mqtt.holding"):
            for i in range(8):
                hold.put(box, "t", str(i).encode())
            assert (hold.held, hold.lost, box.size()) == (5, 3, 0)
            assert hold.drain(box) == 0  # still full: nothing moves, nothing more is lost
            disk.free()
            hold.put(box, "t", b"8")  # what is held goes first: order is kept
            assert hold.held == 0 and hold.drain(box) == 0
        assert [p for _s, _t, p in box.pending(20)] == [b"3", b"4", b"5", b"6", b"7", b"8"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2  # one line when it starts, one when it ends: not one per event
    assert (
        "database or disk is full" in messages[0] and "held in memory (up to 5, lost if the agent stops)" in messages[0]
    )
    assert "stores events again; 5 held in memory moved into it, 3 lost since start" in messages[1]


def test_a_full_disk_while_running_loses_nothing_the_broker_can_still_get(
    broker: Broker, tmp_path: Path, monkeypatch
) -> None:
    with Subscriber(broker.port, "edge-anomaly/gw1/alerts") as sub:
        sink = make_sink(tmp_path / "state", port=broker.port)
        sink.open()
        disk = FullDisk(sink.outbox, monkeypatch)
        for i in range(50):
            sink.send(alert(1000 + i))
        assert sink.counters()["held_in_memory"] == 50 and sink.counters()["lost"] == 0
        disk.free()
        got = sub.wait_for(lambda m: len(m) == 50, timeout=10)
        assert [m.json()["id"] for m in got] == [alert(1000 + i).subject.id for i in range(50)]  # all, in order
        wait_until(lambda: sink.counters()["pending"] == 0)
        assert sink.counters()["held_in_memory"] == 0
        sink.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A real 2 MiB tmpfs (root only): a state partition that can fill up."""
    import os

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a tmpfs of its own needs root (the injected-ENOSPC tests cover the logic)")
    folder = tmp_path / "small"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("mount -t tmpfs is not allowed here")
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=False)


def test_the_outbox_fits_a_small_state_disk_and_recovers_once_it_is_freed(small_disk: Path) -> None:
    """Its write-ahead log stays small (a default WAL grows to 4 MB), so a full disk, once freed, works again."""
    import errno as errnos
    import os

    box = Outbox(small_disk / "mqtt-outbox.sqlite").open()
    payload = b"x" * 300
    for round_ in range(40):  # 20,000 events through, 500 waiting at a time
        seqs = [box.put("t", payload) for _ in range(500)]
        assert box.ack_many(seqs) == 500, round_
    assert (small_disk / "mqtt-outbox.sqlite-wal").stat().st_size <= 1 << 20
    handle = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    for size in (1 << 16, 4096, 1):
        while True:
            try:
                os.write(handle, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errnos.ENOSPC
                break
    os.close(handle)
    with pytest.raises(EdgeError, match="database or disk is full"):
        for _ in range(2000):
            box.put("t", payload)
    (small_disk / "filler").unlink()
    for _ in range(5):
        seqs = [box.put("t", payload) for _ in range(500)]
        box.ack_many(seqs)
    assert box.size() < 2000  # what was stored before the disk filled still waits; everything since went through
    box.close()
