"""The mqtt source's throughput: messages per second it turns into readings, and its CPU per 1,000 messages/s.

A real Mosquitto on 127.0.0.1 (``bench/mosquitto.py``); a paho client in a child process (``--publish``) publishes
``--messages`` JSON objects with QoS 1 (``{"temp_c": …, "vib": {"rms": …}}``, one topic) as fast as it can; this process
runs the source (paho's network thread and a reading loop, as the agent's source thread does) until every
message became a reading. The CPU figure is this process's (``time.process_time``: both threads), so the
publisher and the broker are not in it; the rate is what the three together sustain on this machine.

Run: ``.venv/bin/python bench/mqtt_source.py [--messages 20000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from common import command_line, machine_line
from mosquitto import Broker

from edge.config_types import build_section
from edge.core.events import Reading
from edge.plugins import PluginContext
from edge.sources.mqtt import Config, MqttSource

TOPIC = "bench/pump/state"


def publish(port: int, count: int) -> int:
    """The child: publish ``count`` messages with QoS 1, at most 100 unacknowledged, and wait for every PUBACK."""
    from paho.mqtt import client as paho

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [
        client.publish(TOPIC, json.dumps({"temp_c": 20 + n % 7, "vib": {"rms": n / 1e4}}), qos=1) for n in range(count)
    ]
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--publish", type=int, metavar="PORT", help="(the child) publish the messages to PORT")
    args = parser.parse_args(argv)
    if args.publish:
        return publish(args.publish, args.messages)
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-source-") as scratch, Broker(Path(scratch)) as broker:
        keys = {"sensor": "bench", "host": "127.0.0.1", "port": broker.port, "topic": TOPIC}
        keys |= {"fields": {"temperature": "temp_c", "vibration": "vib.rms"}, "queue_max": 100_000}
        context = PluginContext(("temperature", "vibration"), 1.0, "0" * 64, Path(scratch), Path(scratch), "bench")
        source = MqttSource(build_section(Config, keys, "bench"), context)
        source.open()
        if not source._subscribed.wait(5.0):
            print("the source did not subscribe", file=sys.stderr)
            return 2
        child = subprocess.Popen(
            [sys.executable, __file__, "--publish", str(broker.port), "--messages", str(args.messages)]
        )
        got, peak, deadline = 0, 0, time.monotonic() + 120
        while not source.counters()["messages"] and time.monotonic() < deadline:  # the child's start is not timed
            time.sleep(0.001)
        cpu, start = time.process_time(), time.perf_counter()
        while got < args.messages and time.monotonic() < deadline:
            peak = max(peak, source.counters()["queued"])
            got += sum(isinstance(item, Reading) for item in source.read(0.25))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        child.wait(10)
        counters = source.counters()
        source.close()
    rate = got / wall
    print("## mqtt source throughput (bench/mqtt_source.py)")
    print(machine_line())
    print(command_line(argv))
    print(f"- readings: {got} of {args.messages} messages in {wall:.2f} s: {rate:,.0f} messages/s sustained")
    print(f"- CPU (this process): {cpu:.2f} s, {cpu / got * 1000 * 100:.1f} % of one core per 1,000 messages/s")
    print(f"- queue peak {peak}; malformed {counters['malformed']}, dropped {counters['dropped']}")
    return 0 if got == args.messages else 1


if __name__ == "__main__":
    raise SystemExit(main())
