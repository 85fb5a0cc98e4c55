"""Alert feedback: the recorder keeps every alert, `edge-agent ack`/`label` and MQTT store what was said of it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import live_rows, write_config, write_history
from mosquitto import Broker, Subscriber, require_mosquitto
from test_service import HEADER, replay_body

from edge import feedback
from edge.cli import main
from edge.config_types import build_section
from edge.core.events import Alert, Event
from edge.feedback import AlertRecord, add_feedback, find_alert, read_alerts, read_verdicts
from edge.plugins import PluginContext
from edge.service.agent import Service
from edge.service.notify import Notifier
from edge.sinks.mqtt import Config, MqttSink


def recorded_run(tmp_path: Path) -> tuple[Path, Path]:
    """A replay with one spike through an agent that records; returns its config and pump-1's folder."""
    rows = live_rows(300)
    t, temperature, vibration = rows[150]
    rows[150] = (t, temperature + 30.0, vibration)
    csv = write_history(tmp_path / "live.csv", rows, HEADER)
    config = write_config(
        tmp_path, replay_body(csv, 0.0) + f'\n[recorder]\nenabled = true\nfolder = "{tmp_path / "rec"}"\n'
    )
    assert Service(config, Notifier()).run() == 0
    return config, tmp_path / "rec" / "pump-1"


def test_the_recorder_keeps_every_alert_with_its_clear(tmp_path: Path) -> None:
    _, folder = recorded_run(tmp_path)
    lines = [json.loads(line) for line in (folder / feedback.ALERTS_FILE).read_text().splitlines()]
    assert [line["event"] for line in lines] == ["alert", "clear"] and lines[0]["id"] == lines[1]["id"]
    (alert,) = read_alerts(folder).values()
    assert alert.sensor == "pump-1" and alert.channels == ("temperature",) and alert.end is not None
    assert alert.start < alert.end and alert.score == lines[1]["score"]


def test_ack_and_label_on_the_gateway_are_stored_and_shown_by_status(tmp_path: Path, capsys) -> None:
    config, folder = recorded_run(tmp_path)
    (alert,) = read_alerts(folder).values()
    assert main(["ack", alert.id[:8], "--config", str(config), "--by", "ann"]) == 0
    assert f"alert {alert.id} (pump-1/temperature, since " in capsys.readouterr().out
    assert main(["label", alert.id, "false-alarm", "--note", "valve test", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "labelled false-alarm" in out and "keeps its readings for training" in out
    verdict = read_verdicts(folder)[alert.id]
    assert (verdict.acked_by, verdict.label, verdict.note) == ("ann", "false-alarm", "valve test")
    assert verdict.alert == alert  # where and when travel with the label: edge-export needs no other file
    assert main(["label", alert.id, "confirmed", "--config", str(config)]) == 0  # a second word wins
    assert read_verdicts(folder)[alert.id].label == "confirmed"
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    assert f"id={alert.id} [acked by ann, confirmed]" in capsys.readouterr().out
    assert main(["label", "abcdef0123", "confirmed", "--config", str(config)]) == 2
    assert "no alert 'abcdef0123' in " in capsys.readouterr().err
    assert main(["ack", "ab", "--config", str(config)]) == 2
    assert "too short" in capsys.readouterr().err


def test_an_alert_is_found_by_a_unique_prefix_and_a_cut_line_is_skipped(tmp_path: Path) -> None:
    one, two = AlertRecord("5c0e9f3a11", "pump-1", 10.0), AlertRecord("5c0e9f3a22", "pump-2", 20.0, 30.0)
    add_feedback(tmp_path, one, at=1.0, by="ann", via="cli")
    with (tmp_path / "pump-1" / feedback.LABELS_FILE).open("a") as handle:
        handle.write('{"id": "5c0e9f3a11", "label": "confirm')  # a crash mid-line
    assert find_alert(tmp_path, "5c0e9f3a2", [one, two]) == two
    with pytest.raises(LookupError, match="fits 2 alerts"):
        find_alert(tmp_path, "5c0e9f", [one, two])
    verdict = read_verdicts(tmp_path / "pump-1")["5c0e9f3a11"]
    assert verdict.acked_by == "ann" and verdict.label is None
    with pytest.raises(ValueError, match="must be one of false-alarm, confirmed"):
        add_feedback(tmp_path, one, at=1.0, by="ann", via="cli", label="maybe")


def test_feedback_over_mqtt_is_stored_and_answered(tmp_path: Path, caplog) -> None:
    require_mosquitto()
    caplog.set_level(logging.INFO, logger="edge")
    root = tmp_path / "rec"
    context = PluginContext((), 1.0, "", tmp_path / "state", tmp_path, gateway_id="gw-7", feedback_dir=root)
    keys = {"host": "127.0.0.1", "reconnect_min_s": 0.05, "feedback": True}
    alert = Alert("0a73ed35ae4b5461", "pump-1", ("temperature",), 100.0, 0.9, 0.3, (81.0,), (75.0,))
    with Broker(tmp_path / "broker") as broker:
        sink = MqttSink(build_section(Config, {**keys, "port": broker.port}, "[[sinks]] mqtt"), context)
        sink.open()
        try:
            sink.send(Event("alert", alert, 100.0))  # the sink remembers what it sent: no recordings needed
            with Subscriber(broker.port, "edge-anomaly/gw-7/feedback/result") as answers:
                with Subscriber(broker.port, "edge-anomaly/gw-7/status") as status:
                    status.wait_for(lambda got: bool(got))  # connected, so subscribed to its feedback topic
                publish = Subscriber(broker.port, "unused")
                with publish:
                    topic = "edge-anomaly/gw-7/feedback"
                    for message in (
                        {"id": "0a73ed35", "label": "false-alarm", "note": "valve test", "by": "ann"},
                        {"id": "0a73ed35", "label": "maybe"},
                        "not json",
                    ):
                        body = message if isinstance(message, str) else json.dumps(message)
                        publish.client.publish(topic, body, qos=1).wait_for_publish(5)
                    got = answers.wait_for(lambda m: len(m) == 3)
        finally:
            sink.close()
    results = [m.json() for m in got]
    assert results[0] == {"id": alert.id, "ok": True, "message": "labelled false-alarm by ann"}
    assert results[1]["ok"] is False and "'maybe' is not one of" in results[1]["message"]
    assert results[2]["ok"] is False
    verdict = read_verdicts(root / "pump-1")[alert.id]
    assert (verdict.label, verdict.note, verdict.acked_at) == ("false-alarm", "valve test", None)
    assert json.loads((root / "pump-1" / feedback.LABELS_FILE).read_text().splitlines()[0])["via"] == "mqtt"
    assert "alert 0a73ed35ae4b5461 (pump-1) labelled false-alarm by ann over MQTT" in caplog.text
    assert sink.counters()["feedback"] == 1 and sink.counters()["feedback_refused"] == 2
