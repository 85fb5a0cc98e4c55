"""Faults while running: the state disk fills up, and the agent is reloaded over and over under load.

**disk full**: a real Mosquitto broker on 127.0.0.1 and one persistent QoS 1 subscriber; an ``MqttSink``
whose state folder is a small tmpfs of its own (root: ``mount -t tmpfs``). The sink sends alerts at
``--rate``; after ``--before`` of them a filler file takes the rest of the tmpfs and the broker stops, so the
outbox can store nothing and nothing can be published; ``--held`` alerts are sent into that; then the broker
comes back, the filler is removed and ``--before`` more alerts follow. Run twice: once holding fewer events
than the memory bound (10,000), once more, so the oldest beyond it are lost and counted.

**reload under load**: the agent (``Service``, in this process) reads the firmware simulator on a pty at
``--frames-per-s`` with a spike every 500 frames (alerts and clears), and sends events to the log and to the
broker; it is reloaded every ``--reload-every-s`` (each reload a real config change) ``--reloads`` times.

Prints, per scenario, produced / delivered / lost / at risk (the goal: produced = delivered + lost, every loss
counted, nothing at risk at the end), duplicates, and for the reloads the frames lost in each reload's
gap, every ALERT's CLEAR, and whether the counters went on across reloads.

Run (root, for the tmpfs): ``.venv/bin/python bench/faults.py``
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import ROOT, bench_alert, bench_mqtt_sink, command_line, machine_line, wait_until
from mosquitto import MOSQUITTO, Broker, Subscriber

from edge.core.events import Event
from edge.service.agent import Service
from edge.service.notify import Notifier
from edge.sinks.mqtt.holding import HOLD_LIMIT

FIXTURE_MODEL = ROOT / "tests" / "fixtures" / "model.onnx"  # the committed 2-channel int8 model of the tests
RECONNECT_MAX_S = 0.5


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system with one file."""
    filler = folder / "filler"
    handle = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(handle, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(handle)
    return filler


def disk_full(folder: Path, before: int, held: int, rate: float) -> dict[str, Any]:
    """One disk-full run; returns its figures."""
    mount = folder / "state"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    logging.getLogger("edge").setLevel(logging.ERROR)
    try:
        with (
            Broker(folder / "broker", persistence=True) as broker,
            Subscriber(
                broker.port, "edge-anomaly/bench/alerts", persistent=True, client_id="faults-bench"
            ).start() as watcher,
        ):
            sink = bench_mqtt_sink(broker.port, mount, RECONNECT_MAX_S)
            peak_held, sent = 0, 0

            def send(count: int) -> None:
                nonlocal peak_held, sent
                started = time.monotonic()
                for i in range(count):
                    delay = started + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    sink.send(bench_alert(f"f{sent:06d}", sent))
                    sent += 1
                    peak_held = max(peak_held, sink.counters()["held_in_memory"])

            send(before)
            wait_until(lambda: sink.counters()["pending"] == 0, 10)
            filler = fill(mount)
            broker.stop()
            send(held)
            at_risk = sink.counters()["held_in_memory"]
            broker.start()
            filler.unlink()
            freed = time.monotonic()
            send(before)
            expected = sent - sink.counters()["lost"]
            wait_until(lambda: len({m.json()["id"] for m in watcher.received()}) >= expected, 60)
            delivered_after = time.monotonic() - freed
            counters = sink.counters()
            sink.close()
            ids = [m.json()["id"] for m in watcher.received()]
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)
    unique = set(ids)
    lost_ids = {f"f{n:06d}" for n in range(sent)} - unique
    return {
        "produced": sent,
        "delivered": len(unique),
        "lost": counters["lost"],
        "unaccounted": len(lost_ids) - counters["lost"],
        "at_risk_peak": peak_held,
        "at_risk_full": at_risk,
        "at_risk_end": counters["held_in_memory"],
        "duplicates": len(ids) - len(unique),
        "drained_s": delivered_after,
    }


# -- reload under load ------------------------------------------------------------------------------------


def agent_config(folder: Path, link: Path, port: int, interval: float) -> str:
    return (
        f'[agent]\ngateway_id = "bench"\nstate_dir = "{folder / "state"}"\n'
        f'runtime_dir = "{folder / "run"}"\nlog_target = "stderr"\n'
        f'log_level = "error"\nstatus_interval_s = 0.5\ncounters_log_interval_s = {interval}\n\n'
        f'[model]\npath = "{FIXTURE_MODEL}"\n\n[detector]\nstale_after_s = 30.0\n\n'
        f'[[sources]]\ntype = "serial"\nsensor = "pump-1"\nport = "{link}"\n\n'
        f'[[sinks]]\ntype = "log"\n\n'
        f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {port}\n'
        f"reconnect_min_s = 0.1\nreconnect_max_s = {RECONNECT_MAX_S}\n"
    )


def reload_under_load(folder: Path, frames_per_s: float, reloads: int, every_s: float) -> dict[str, Any]:
    """Reload the running agent ``reloads`` times while the simulator streams; returns the figures."""
    link = folder / "tty"
    frames = int(frames_per_s * (reloads * every_s + 4))
    spikes = [arg for at in range(300, frames - 100, 500) for arg in ("--spike", f"{at}:temperature:12:3")]
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "firmware_bridge.sim",
            "--link",
            str(link),
            "--period-ms",
            "300000",
            "--rate",
            str(frames_per_s),
            "--count",
            str(frames),
            "--channels",
            "temperature,vibration",
            "--device-id",
            "bench",
            "--start-on-request",
            "--linger-s",
            "5",
            *spikes,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert sim.stdout is not None
    sim.stdout.readline()
    produced: Counter[str] = Counter()
    with Broker(folder / "broker") as broker, Subscriber(broker.port, "edge-anomaly/#").start() as watcher:
        config = folder / "agent.toml"
        config.write_text(agent_config(folder, link, broker.port, 3600.0))
        service = Service(config, Notifier())
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        assert wait_until(lambda: service.pipeline is not None, 30), "the agent did not start"
        original = type(service.pipeline).dispatch

        def counting(pipeline: Any, events: list[Event]) -> None:
            for event in events:
                produced[event.kind] += 1
            original(pipeline, events)

        type(service.pipeline).dispatch = counting  # type: ignore[method-assign]
        durations = []
        try:
            for i in range(reloads):
                time.sleep(every_s)
                old, new = 3600.0 + i % 2, 3600.0 + (i + 1) % 2
                config.write_text(
                    config.read_text().replace(f"counters_log_interval_s = {old}", f"counters_log_interval_s = {new}")
                )
                count = (service.last_reload or {}).get("count", 0)
                started = time.monotonic()
                service.request_reload()
                wait_until(lambda count=count: (service.last_reload or {}).get("count", 0) > count, 30)
                durations.append(time.monotonic() - started)
            sim.wait(timeout=frames / frames_per_s + 30)
            time.sleep(1.0)
            pipeline = service.pipeline
            detector = pipeline.detectors["pump-1"]
            source = pipeline.source_counters(pipeline.sources[0])
            readings, alerts = detector.counters.readings, detector.counters.alerts
            fault_kinds = dict(detector.faults.counts)
            gap_readings = detector.counters.bridged if hasattr(detector.counters, "bridged") else None
            open_alert = detector.alert is not None
            service.request_stop()
            thread.join(30)
        finally:
            type(service.pipeline).dispatch = original  # type: ignore[method-assign]
            sim.terminate()
        last = (sim.stdout.read().strip().splitlines() or [""])[-1]
        sim_stats = json.loads(last.removeprefix("stats ")) if last.startswith("stats ") else {}
        wait_until(lambda: len(watcher.received("/alerts")) >= produced["alert"] + produced["clear"], 10)
        alerts_seen = [m.json() for m in watcher.received("/alerts")]
        faults_seen = [m.json() for m in watcher.received("/faults")]
    kinds = Counter(m["event"] for m in alerts_seen)
    unique = {(m["id"], m["event"]) for m in alerts_seen}
    ok_reloads = sum(1 for _ in durations)
    return {
        "frames": frames,
        "sim": sim_stats,
        "readings": readings,
        "fault_kinds": fault_kinds,
        "bridged": gap_readings,
        "source": source,
        "reloads": ok_reloads,
        "reload_median_ms": 1e3 * sorted(durations)[len(durations) // 2],
        "reload_max_ms": 1e3 * max(durations),
        "alerts": alerts,
        "produced_alert_clear": produced["alert"] + produced["clear"],
        "produced_faults": produced["fault"] + produced["fault_cleared"],
        "delivered_alert_clear": len(unique),
        "delivered_faults": len(faults_seen),
        "alert_events": kinds["alert"],
        "clear_events": kinds["clear"],
        "open_at_end": open_alert,
        "duplicates": len(alerts_seen) - len(unique),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=int, default=1000, help="alerts before and after the disk is full")
    parser.add_argument("--held", type=int, nargs="+", default=[3000, 12000], help="alerts sent while it is full")
    parser.add_argument("--rate", type=float, default=2000.0, help="alerts per second")
    parser.add_argument("--frames-per-s", type=float, default=200.0)
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--reload-every-s", type=float, default=0.5)
    args = parser.parse_args(argv)
    if not MOSQUITTO.exists():
        print(f"faults: {MOSQUITTO} is needed (apt-get install mosquitto)", file=sys.stderr)
        return 2
    print(machine_line())
    print(command_line(argv))
    with tempfile.TemporaryDirectory(prefix="edge-faults-") as tmp:
        folder = Path(tmp)
        if os.geteuid() == 0:
            print(
                f"\ndisk full while running (tmpfs of 4 MiB as the state folder; broker down meanwhile; "
                f"{args.rate:g} alerts/s; memory bound {HOLD_LIMIT:,})"
            )
            print(
                "| held while full | produced | delivered | lost (counted) | unaccounted | "
                "at risk: peak / at the end | duplicates | all delivered, after the disk was freed |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for i, held in enumerate(args.held):
                run = folder / f"disk-{i}"
                run.mkdir()
                f = disk_full(run, args.before, held, args.rate)
                print(
                    f"| {held:,} | {f['produced']:,} | {f['delivered']:,} | {f['lost']:,} | {f['unaccounted']} "
                    f"| {f['at_risk_peak']:,} / {f['at_risk_end']} | {f['duplicates']} "
                    f"| {f['drained_s']:.1f} s |"
                )
        else:
            print("\ndisk full: skipped (a tmpfs of its own needs root)")
        run = folder / "reload"
        run.mkdir()
        r = reload_under_load(run, args.frames_per_s, args.reloads, args.reload_every_s)
        print(
            f"\nreload under load ({args.reloads} reloads every {args.reload_every_s:g} s, each a config change; "
            f"firmware simulator on a pty at {args.frames_per_s:g} frames/s, a spike every 500 frames)"
        )
        source, sim = r["source"], r["sim"]
        print(
            "| frames the simulator wrote | readings the agent got | lost across the reloads (uncounted) | "
            "counted as lost (sequence gaps) | reloads: done, median / max | faults by kind | events produced "
            "(alert+clear / faults) | delivered over MQTT | duplicates | ALERTs without CLEAR |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(
            f"| {sim.get('written', 0):,} | {r['readings']:,} | {sim.get('written', 0) - source.get('samples', 0)} "
            f"| {source.get('lost', 0)} | {r['reloads']}, {r['reload_median_ms']:.0f} / {r['reload_max_ms']:.0f} ms "
            f"| {json.dumps(r['fault_kinds'])} | {r['produced_alert_clear']} / {r['produced_faults']} "
            f"| {r['delivered_alert_clear']} / {r['delivered_faults']} | {r['duplicates']} "
            f"| {r['alert_events'] - r['clear_events'] - int(r['open_at_end'])} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
