"""Metrics for Prometheus: our text format read back by prometheus-client's parser, the agent's series after a
replay through the service, the LSTM latency histogram, the atomic textfile and a real HTTP fetch of /metrics."""

from __future__ import annotations

import logging
import math
import re
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
from conftest import live_rows, write_config, write_history
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from test_service import HEADER, replay_body, running, wait_for

from edge.config import ConfigError, parse_config, sample_config
from edge.core.latency import BOUNDS_NS, LatencyHistogram
from edge.metrics.exposition import Buckets, Family, render
from edge.service.agent import Service
from edge.service.notify import Notifier

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "gateway-config.md"


def parsed(text: str) -> dict[str, Any]:
    """Families by name (as the parser names them: a counter without ``_total``)."""
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(text: str, sample: str, **labels: str) -> float:
    """The value of the one sample named ``sample`` whose labels include ``labels``."""
    found = [
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == sample and labels.items() <= s.labels.items()
    ]
    assert len(found) == 1, f"{sample}{labels}: {found}"
    return found[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# the text format


def test_counters_gauges_and_a_histogram_parse_with_their_values() -> None:
    counter = Family("x_events_total", "counter", 'events "seen"\\ here\nand there')
    counter.add({"sensor": "a"}, 3)
    counter.add({"sensor": "b"}, 0)
    gauge = Family("x_level", "gauge", "a level")
    gauge.add({}, math.nan)
    gauge_inf = Family("x_limit", "gauge", "a limit")
    gauge_inf.add({"side": "up"}, math.inf)
    gauge_inf.add({"side": "down"}, -math.inf)
    histogram = Family("x_seconds", "histogram", "durations")
    histogram.add({"model": "m"}, Buckets((0.001, 0.01), (2, 5, 6), 0.25))
    text = render([counter, gauge, Family("x_empty", "gauge", "left out"), gauge_inf, histogram])
    assert text.endswith("\n") and "x_empty" not in text
    families = parsed(text)
    assert families["x_events"].type == "counter"
    assert families["x_events"].documentation == 'events "seen"\\ here\nand there'
    assert [(s.name, s.labels, s.value) for s in families["x_events"].samples] == [
        ("x_events_total", {"sensor": "a"}, 3),
        ("x_events_total", {"sensor": "b"}, 0),
    ]
    assert math.isnan(families["x_level"].samples[0].value)
    assert [s.value for s in families["x_limit"].samples] == [math.inf, -math.inf]
    samples = [(s.name, s.labels.get("le"), s.value) for s in families["x_seconds"].samples]
    assert samples == [
        ("x_seconds_bucket", "0.001", 2),
        ("x_seconds_bucket", "0.01", 5),
        ("x_seconds_bucket", "+Inf", 6),
        ("x_seconds_sum", None, 0.25),
        ("x_seconds_count", None, 6),
    ]


@given(st.text(), st.text().filter(lambda t: t == t.strip()))  # a docstring's outer blanks are not its own
def test_any_label_value_and_help_text_round_trip(label: str, help: str) -> None:
    family = Family("x_total", "counter", help)
    family.add({"sensor": label, "channel": "c"}, 1)
    (read,) = text_string_to_metric_families(render([family]))
    assert read.samples[0].labels == {"sensor": label, "channel": "c"}
    assert read.documentation == help


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Family("x-y", "gauge", ""), "metric name"),
        (lambda: Family("x_events", "counter", ""), "must be named"),
        (lambda: Family("x", "gauge", "").add({"bad-name": "v"}, 1), "label name"),
        (lambda: Family("x", "gauge", "").add({"__x": "v"}, 1), "label name"),
        (lambda: Family("x", "histogram", "").add({"le": "1"}, Buckets((1.0,), (0, 0), 0.0)), "label name"),
        (lambda: Family("x", "gauge", "").add({}, Buckets((1.0,), (0, 0), 0.0)), "cannot take"),
        (lambda: Buckets((1.0, 2.0), (3, 2, 4), 0.0), "cumulative"),
        (lambda: Buckets((2.0, 1.0), (0, 0, 0), 0.0), "increase"),
        (lambda: render([Family("x", "gauge", ""), Family("x", "gauge", "")]), "twice"),
    ],
)
def test_what_prometheus_would_refuse_is_refused_where_it_is_made(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_two_samples_with_one_label_set_are_refused() -> None:
    family = Family("x", "gauge", "")
    family.add({"a": "1", "b": "2"}, 1)
    family.add({"b": "2", "a": "1"}, 2)
    with pytest.raises(ValueError, match="two samples"):
        render([family])


# the latency histogram


def test_latency_buckets_are_exponential_from_10_us_to_100_ms_and_cumulative() -> None:
    assert BOUNDS_NS[0] == 10_000 and BOUNDS_NS[-1] == 100_000_000 and len(BOUNDS_NS) == 13
    histogram = LatencyHistogram()
    for ns in (5_000, 10_000, 10_001, 300_000, 300_000, 2_000_000_000):
        histogram.observe(ns, rows=4)
    shot = histogram.snapshot()
    assert shot.count == 6 and shot.rows == 24 and shot.cumulative[-1] == 6
    assert shot.cumulative[0] == 2  # le is "at most": 10 µs itself is in the first bucket
    assert shot.cumulative[BOUNDS_NS.index(500_000)] == 5
    assert shot.cumulative[-2] == 5  # 2 s only in +Inf
    assert list(shot.cumulative) == sorted(shot.cumulative)
    assert shot.sum_s == pytest.approx(2.000625)


# the agent's series, after a replay through the service


def metrics_body(csv: Path, folder: Path, rate: float = 0.0, extra: str = "", sensor: str = "pump-1") -> str:
    return replay_body(csv, rate, sensor) + f'\n[metrics]\ntextfile = "{folder / "edge.prom"}"\n{extra}'


def test_a_replay_run_writes_every_counter_the_last_scores_and_the_lstm_calls(tmp_path: Path, monkeypatch) -> None:
    runs = []
    real_run = ort.InferenceSession.run

    def counted(self, *args, **kwargs):
        runs.append(1)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(ort.InferenceSession, "run", counted)
    rows = live_rows(300)
    t, temp, vib = rows[200]
    rows[200] = (t, temp + 40.0, vib)  # an alert on pump-b
    first = write_history(tmp_path / "a.csv", live_rows(300), HEADER)
    second = metrics_body(write_history(tmp_path / "b.csv", rows, HEADER), tmp_path, sensor="pump-b")
    body = replay_body(first, 0.0, "pump-a").split("[[sinks]]")[0] + second
    service = Service(write_config(tmp_path, body), Notifier())
    last: dict[str, Any] = {}
    service.observers.append(
        lambda sensor, outcomes: last.update({sensor: [o for o in outcomes if o.state == "scored"][-1]})
    )
    assert service.run() == 0
    text = (tmp_path / "edge.prom").read_text()
    pipeline = service.pipeline
    assert pipeline is not None
    gateway = socket.gethostname()
    for sensor in ("pump-a", "pump-b"):
        counters = pipeline.detectors[sensor].counters
        labels = {"gateway": gateway, "sensor": sensor, "model": "model"}
        assert value(text, "edge_anomaly_readings_total", **labels) == counters.readings == 300
        assert value(text, "edge_anomaly_scored_total", **labels) == counters.scored
        assert value(text, "edge_anomaly_warmup_total", **labels) == counters.warmup > 0
        assert value(text, "edge_anomaly_alerts_total", **labels) == counters.alerts
        assert value(text, "edge_anomaly_faults_total", kind="nan", **labels) == 0
        assert value(text, "edge_anomaly_score", **labels) == last[sensor].score
        assert (
            value(text, "edge_anomaly_channel_score", channel="vibration", **labels) == last[sensor].channel_scores[1]
        )
        assert value(text, "edge_anomaly_last_scored_timestamp_seconds", **labels) == last[sensor].reading.timestamp
        assert value(text, "edge_anomaly_source_rows_total", sensor=sensor, source="replay") == 300
    assert value(text, "edge_anomaly_alerts_total", sensor="pump-b") == 1
    sent = pipeline.sinks[0].totals()["sent"]
    assert value(text, "edge_anomaly_sink_sent_total", sink="log") == sent > 0
    assert value(text, "edge_anomaly_running") == 0  # the last write, at the stop
    # the histogram: one count per onnxruntime call (two sensors' blocks stepped together count once)
    families = parsed(text)
    buckets = [s for s in families["edge_anomaly_lstm_call_seconds"].samples if s.name.endswith("_bucket")]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf"
    assert value(text, "edge_anomaly_lstm_call_seconds_count") == counts[-1] == len(runs) > 0
    assert value(text, "edge_anomaly_lstm_readings_total") == sum(
        d.forecaster.steps for d in pipeline.detectors.values()
    )
    assert 0 < value(text, "edge_anomaly_lstm_call_seconds_sum") < 60
    # every series is in the guide's list (plugins' own counters by their pattern)
    listed = GUIDE.read_text(encoding="utf-8")
    for name in families:
        if not re.match(r"edge_anomaly_(source_|sink_(?!(sent|failed|dropped|retried)$))", name):
            assert f"`{name}" in listed, f"{name} is not in docs/gateway-config.md's list of series"


def test_before_the_first_scored_reading_the_scores_are_nan(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(5), HEADER)  # fewer than the warm-up
    service = Service(write_config(tmp_path, metrics_body(csv, tmp_path)), Notifier())
    assert service.run() == 0
    text = (tmp_path / "edge.prom").read_text()
    assert math.isnan(value(text, "edge_anomaly_score", sensor="pump-1"))
    assert math.isnan(value(text, "edge_anomaly_channel_score", channel="temperature"))


def test_the_textfile_is_replaced_atomically_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(40), HEADER)
    service = Service(write_config(tmp_path, metrics_body(csv, tmp_path)), Notifier())
    assert service.run() == 0
    metrics, pipeline = service.metrics, service.pipeline
    assert metrics is not None and pipeline is not None
    path = tmp_path / "edge.prom"
    assert path.stat().st_mode & 0o777 == 0o644
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(path.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            metrics.update(pipeline, {"state": "running", "uptime_s": float(i)})
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 1
    for text in seen:  # each read is one whole file, never a part of one
        assert text.endswith("\n") and "edge_anomaly_lstm_call_seconds_count" in text
        parsed(text)
    assert sorted(p.name for p in tmp_path.iterdir() if "prom" in p.name) == ["edge.prom"]


def test_an_unwritable_textfile_folder_is_logged_once_and_the_service_goes_on(tmp_path: Path, caplog) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(3000), HEADER)
    folder = tmp_path / "node-exporter"  # missing: node_exporter's folder is not the agent's to create
    body = replay_body(csv, 200.0) + f'\n[metrics]\ntextfile = "{folder / "edge.prom"}"\ninterval_s = 0.05\n'
    service = Service(write_config(tmp_path, body), Notifier())
    caplog.set_level(logging.INFO)
    with running(service) as thread:
        wait_for(lambda: "cannot write the metrics file" in caplog.text)
        wait_for(lambda: service.readings > 100)  # scoring goes on, several intervals later
        folder.mkdir()
        wait_for(lambda: (folder / "edge.prom").exists())
        assert thread.is_alive()
    failures = [r for r in caplog.records if "cannot write the metrics file" in r.getMessage()]
    assert len(failures) == 1 and r"ReadWritePaths=" in failures[0].getMessage()
    assert str(folder / "edge.prom") in failures[0].getMessage()
    assert f"the metrics file {folder / 'edge.prom'} is written again" in caplog.text


def test_metrics_are_served_over_http_on_loopback_and_other_paths_are_404(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(3000), HEADER)
    port = free_port()
    body = replay_body(csv, 200.0) + f"\n[metrics]\nhttp_port = {port}\ninterval_s = 0.05\n"
    service = Service(write_config(tmp_path, body), Notifier())
    with running(service):
        wait_for(lambda: service.metrics is not None and service.metrics.address is not None)
        assert service.metrics is not None and service.metrics.address == ("127.0.0.1", port)
        wait_for(lambda: service.readings > 50)

        def fetched() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                return response.read().decode()

        first = fetched()
        assert value(first, "edge_anomaly_running") == 1
        wait_for(lambda: value(fetched(), "edge_anomaly_readings_total") > value(first, "edge_anomaly_readings_total"))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert refused.value.code == 404
    with pytest.raises(OSError):  # stopped: the port is closed
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_a_port_in_use_is_logged_once_and_the_service_goes_on(tmp_path: Path, caplog) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(200), HEADER)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        body = replay_body(csv, 0.0) + f"\n[metrics]\nhttp_port = {port}\ninterval_s = 0.01\n"
        service = Service(write_config(tmp_path, body), Notifier())
        assert service.run() == 0
    failures = [r for r in caplog.records if "cannot serve metrics on" in r.getMessage()]
    assert len(failures) == 1 and f"127.0.0.1:{port}" in failures[0].getMessage()


# the config


def test_the_sample_config_has_the_metrics_section_and_it_is_off_by_default() -> None:
    import tomllib

    config = parse_config(tomllib.loads(sample_config()))
    assert config.metrics.interval_s == 15.0 and not config.metrics.enabled
    assert config.metrics.http_host == "127.0.0.1"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"textfile": "edge.txt"}, "must end in .prom"),
        ({"http_port": 0}, "must be a TCP port"),
        ({"http_host": "gateway.local"}, "must be an IP address"),
        ({"interval_s": 0}, "above 0"),
        ({"port": 9100}, "unknown key 'port'"),
    ],
)
def test_a_wrong_metrics_key_is_a_config_error(table: dict[str, Any], message: str) -> None:
    data = {"model": {"path": "m.onnx"}, "sources": [{"type": "replay", "sensor": "a", "path": "a.csv"}]}
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config({**data, "metrics": table})


def test_a_relative_textfile_is_relative_to_the_config_file(tmp_path: Path) -> None:
    data = {"model": {"path": "m.onnx"}, "sources": [{"type": "replay", "sensor": "a", "path": "a.csv"}]}
    config = parse_config({**data, "metrics": {"textfile": "out/edge.prom"}}, tmp_path / "agent.toml")
    assert config.metrics.textfile == tmp_path / "out" / "edge.prom"


def test_metrics_off_costs_no_observer(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(20), HEADER)
    service = Service(write_config(tmp_path, replay_body(csv, 0.0)), Notifier())
    assert service.run() == 0
    assert service.metrics is None and service.observers == []


def test_a_reload_can_turn_the_metrics_on_and_move_the_textfile(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(3000), HEADER)
    config = write_config(tmp_path, replay_body(csv, 200.0))
    service = Service(config, Notifier())
    with running(service):
        wait_for(lambda: service.readings > 20)
        assert service.metrics is None
        write_config(
            tmp_path, replay_body(csv, 200.0) + f'\n[metrics]\ntextfile = "{tmp_path / "a.prom"}"\ninterval_s = 0.05\n'
        )
        service.request_reload()
        wait_for(lambda: (tmp_path / "a.prom").exists())
        wait_for(lambda: value((tmp_path / "a.prom").read_text(), "edge_anomaly_reloads_total") == 1)
        assert value((tmp_path / "a.prom").read_text(), "edge_anomaly_last_reload_ok") == 1
        write_config(
            tmp_path, replay_body(csv, 200.0) + f'\n[metrics]\ntextfile = "{tmp_path / "b.prom"}"\ninterval_s = 0.05\n'
        )
        service.request_reload()
        wait_for(lambda: (tmp_path / "b.prom").exists())
        assert not (tmp_path / "a.prom").exists()  # node_exporter would read both
        wait_for(lambda: not math.isnan(value((tmp_path / "b.prom").read_text(), "edge_anomaly_score")))


def test_the_recorders_counters_in_the_status_summary_become_counters_and_its_queue_a_gauge(tmp_path: Path) -> None:
    csv = write_history(tmp_path / "live.csv", live_rows(20), HEADER)
    service = Service(write_config(tmp_path, metrics_body(csv, tmp_path)), Notifier())
    assert service.run() == 0
    assert service.metrics is not None and service.pipeline is not None
    recorder = {"written": 20, "bytes": 900, "queued": 3, "dropped": 0}
    text = service.metrics.update(service.pipeline, {"state": "running", "recorder": recorder})
    families = parsed(text)
    assert families["edge_anomaly_recorder_written"].type == "counter"
    assert value(text, "edge_anomaly_recorder_written_total") == 20
    assert families["edge_anomaly_recorder_queued"].type == "gauge" and value(text, "edge_anomaly_recorder_queued") == 3
