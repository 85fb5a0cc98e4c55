"""Store and forward at scale: alerts through two broker outages and an agent killed with SIGKILL.

A real Mosquitto broker on 127.0.0.1 (``bench/mosquitto.py``, persistence on so that the subscriber's
session survives the broker's restarts), one persistent QoS 1 subscriber in this process, and the agent,
an ``MqttSink`` in a child process of its own (``--agent``) that sends ``--alerts`` alerts at ``--rate``
per second and reports each one after ``send`` returned. The scenario:

1. the agent streams alerts; after 20 % the broker is stopped for ``--outage-s`` and started again;
2. after 50 % the broker is stopped again; half-way through that outage the agent is killed with
   SIGKILL and a new agent process starts on the same state directory (the outbox on disk), continues
   the ids where the dead one stopped, and the broker comes back after the full ``--outage-s``;
3. the new agent produces the rest; the bench waits until the subscriber has every produced id, then
   stops the agent cleanly.

Prints produced, delivered (unique ids the subscriber got), duplicates, lost (goal 0), the outbox's
peak size, the time to drain after each return of the broker, and throughput.

Run: ``.venv/bin/python bench/mqtt_outage.py [--alerts 10000] [--rate 1000] [--outage-s 2] [--broker-stop term|kill]``
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import bench_alert, bench_mqtt_sink, command_line, machine_line, wait_until
from mosquitto import MOSQUITTO, Broker, Subscriber

from edge.sinks.mqtt import Config

RECONNECT_MAX_S = 1.0


def agent_main(port: int, state_dir: Path, first: int, count: int, rate: float) -> int:
    """The child: send alerts ``first``.. at ``rate``, print ``sent N`` after each, then wait for ``close``."""
    logging.basicConfig(level=logging.WARNING, format="agent: %(message)s")
    sink = bench_mqtt_sink(port, state_dir, RECONNECT_MAX_S)
    out = sys.stdout
    stop = threading.Event()

    def stats() -> None:
        while not stop.wait(0.1):
            out.write(f"stats {json.dumps(sink.counters())}\n")
            out.flush()

    threading.Thread(target=stats, daemon=True).start()
    started = time.monotonic()
    for i, n in enumerate(range(first, first + count)):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sink.send(bench_alert(f"b{n:06d}", n))
        out.write(f"sent {n}\n")
        out.flush()
    out.write("done\n")
    out.flush()
    sys.stdin.readline()  # "close"
    counters = sink.counters()
    stop.set()
    sink.close()
    out.write(f"stats {json.dumps(counters)}\nclosed\n")
    out.flush()
    return 0


class Agent:
    """A child agent process and what it reported."""

    def __init__(self, port: int, state_dir: Path, first: int, count: int, rate: float) -> None:
        command = [sys.executable, __file__, "--agent", str(port), str(state_dir), str(first), str(count), str(rate)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.sent: list[tuple[int, float]] = []  # (alert number, when this process heard of it)
        self.peak = 0
        self.last_stats: dict[str, int] = {}
        self.done = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "sent":
                self.sent.append((int(rest), time.monotonic()))
            elif word == "stats":
                self.last_stats = json.loads(rest)
                self.peak = max(self.peak, self.last_stats["peak_pending"])
            elif word == "done":
                self.done.set()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.reader.join(5)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("close\n")
        self.process.stdin.flush()
        self.process.wait(30)
        self.reader.join(5)


def wait(condition: Any, timeout: float, what: str) -> None:
    """Wait for ``condition``; give the bench up if it does not come."""
    if not wait_until(condition, timeout, poll=0.01):
        raise SystemExit(f"mqtt_outage: gave up waiting for {what} after {timeout} s")


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The scenario; returns the figures."""
    total, state = args.alerts, folder / "state"
    stop_broker = (lambda b: b.kill()) if args.broker_stop == "kill" else (lambda b: b.stop())
    broker = Broker(folder / "broker", persistence=True).start()
    sub = Subscriber(broker.port, "edge-anomaly/+/alerts", persistent=True, client_id="bench-subscriber").start()
    events: list[tuple[str, float]] = []
    started = time.monotonic()
    try:
        first = Agent(broker.port, state, 0, total, args.rate)
        wait(lambda: len(first.sent) >= total * 0.2, 60, "20 % of the alerts")
        stop_broker(broker)
        events.append(("outage 1: broker stopped", time.monotonic()))
        time.sleep(args.outage_s)
        broker.start()
        events.append(("outage 1: broker back", time.monotonic()))
        wait(lambda: len(first.sent) >= total * 0.5, 60, "50 % of the alerts")
        stop_broker(broker)
        events.append(("outage 2: broker stopped", time.monotonic()))
        time.sleep(args.outage_s / 2)
        first.kill()
        killed_at = first.sent[-1][0] if first.sent else -1
        events.append((f"outage 2: agent killed (SIGKILL) after alert {killed_at}", time.monotonic()))
        second = Agent(broker.port, state, killed_at + 1, total - killed_at - 1, args.rate)
        events.append(("outage 2: new agent started on the same outbox", time.monotonic()))
        time.sleep(args.outage_s / 2)
        broker.start()
        events.append(("outage 2: broker back", time.monotonic()))
        wait(second.done.is_set, 120, "the new agent to produce the rest")
        produced = {f"b{n:06d}" for agent in (first, second) for n, _at in agent.sent}
        wait(lambda: {m.json()["id"] for m in sub.received()} >= produced, 120, "every produced id to arrive")
        delivered_at = time.monotonic()
        second.close()
    finally:
        sub.close()
        broker.stop()
    got = sub.received()
    arrivals: dict[str, float] = {}
    for message in got:
        arrivals.setdefault(message.json()["id"], message.at)
    drains = []
    for label, back in [(label, at) for label, at in events if label.endswith("broker back")]:
        before = [f"b{n:06d}" for agent in (first, second) for n, at in agent.sent if at <= back]
        late = [arrivals[i] for i in before if i in arrivals and arrivals[i] > back]
        drains.append((label.split(":")[0], len(late), (max(late) - back) if late else 0.0))
    ids = Counter(message.json()["id"] for message in got)
    return {
        "produced": len(produced),
        "delivered": len(produced & set(ids)),
        "received": sum(ids.values()),
        "duplicates": sum(ids.values()) - len(ids),
        "lost": len(produced - set(ids)),
        "extra": len(set(ids) - produced),
        "peak": max(first.peak, second.peak),
        "drains": drains,
        "events": [(label, at - started) for label, at in events],
        "seconds": delivered_at - started,
        "second_stats": second.last_stats,
        "rate": args.rate,
    }


def report(figures: dict[str, Any], args: argparse.Namespace, argv: Sequence[str] | None) -> None:
    version = subprocess.run([str(MOSQUITTO), "-h"], capture_output=True, text=True).stdout.splitlines()[0]
    print(
        f"mqtt store-and-forward under outages: {args.alerts} alerts at {args.rate:g}/s, two broker outages of "
        f"{args.outage_s:g} s (broker stop: SIG{args.broker_stop.upper()}), the agent killed with SIGKILL "
        "during the second"
    )
    print(
        f"{version}; paho-mqtt {__import__('paho.mqtt').mqtt.__version__}; QoS 1, max_inflight 20, "
        f"reconnect 0.1-{RECONNECT_MAX_S:g} s"
    )
    print()
    for label, at in figures["events"]:
        print(f"  t={at:6.2f} s  {label}")
    print()
    lost = figures["lost"]
    rows = [
        ("produced (send returned)", f"{figures['produced']}", ""),
        ("delivered (unique ids at the subscriber)", f"{figures['delivered']}", "= produced"),
        ("lost", f"{lost}", "0" + ("  met" if lost == 0 else "  NOT MET")),
        ("duplicates", f"{figures['duplicates']}", "allowed (at least once; drop by id)"),
        ("received in all", f"{figures['received']}", ""),
        ("delivered but not reported (in send at the SIGKILL)", f"{figures['extra']}", ""),
        ("outbox peak size", f"{figures['peak']}", f"< outbox_max_events ({Config().outbox_max_events})"),
    ]
    for label, count, seconds in figures["drains"]:
        rows.append(
            (
                f"{label}: drain after the broker returned",
                f"{seconds:.2f} s",
                f"{count} backlog, {count / seconds if seconds else 0:,.0f} alerts/s",
            )
        )
    rows.append(
        (
            "all delivered after",
            f"{figures['seconds']:.2f} s",
            f"{figures['produced'] / figures['seconds']:,.0f} alerts/s end to end, outages included",
        )
    )
    width = max(len(r[0]) for r in rows)
    print(f"| {'figure':<{width}} | value | goal / note |")
    print(f"|{'-' * (width + 2)}|-------|-------------|")
    for label, value, note in rows:
        print(f"| {label:<{width}} | {value} | {note} |")
    print()
    print(machine_line())
    print(command_line(argv))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="alerts per second the agent produces")
    parser.add_argument("--outage-s", type=float, default=2.0, help="how long each broker outage lasts")
    parser.add_argument(
        "--broker-stop",
        choices=("term", "kill"),
        default="term",
        help="SIGTERM (the broker saves its sessions) or SIGKILL (it loses what it had not saved)",
    )
    parser.add_argument("--agent", nargs=5, metavar=("PORT", "STATE", "FIRST", "COUNT", "RATE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.agent:
        port, state, first, count, rate = args.agent
        return agent_main(int(port), Path(state), int(first), int(count), float(rate))
    if not MOSQUITTO.exists():
        print(f"mqtt_outage: {MOSQUITTO} is not installed (apt-get install mosquitto)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="edge-bench-mqtt-") as name:
        figures = run(args, Path(name))
    report(figures, args, argv)
    return 0 if figures["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
