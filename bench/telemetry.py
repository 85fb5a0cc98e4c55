"""The mqtt sink's score telemetry at 1 kHz: the CPU of the observer and the publishing, the messages it sends.

A real Mosquitto on 127.0.0.1 (``bench/mosquitto.py``) and the ``mqtt`` sink with ``homeassistant = true``. A
loop here plays the scoring thread: ``--rate`` readings a second per sensor (default 1,000), in blocks of
``--block`` outcomes (1: one observer call per reading, the worst case), for ``--seconds`` in real time, handed
to the sink's observer as the pipeline does. The same loop runs first with the telemetry off (the observer a
no-op), so the figure is what the telemetry adds: the observer on the loop's thread, the sink's publisher
thread and paho's network thread (``time.process_time`` of this process; the broker is not in it). Then a
tight loop times one observer call. Messages are the sink's own count of state messages published.

Run: ``.venv/bin/python bench/telemetry.py [--seconds 20] [--sensors 1] [--interval 10] [--block 1]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from common import command_line, machine_line
from mosquitto import Broker

from edge.config_types import build_section
from edge.core.events import Reading
from edge.core.outcome import Scored
from edge.plugins import PluginContext
from edge.sinks.mqtt import Config, MqttSink


def bench_detector() -> Any:
    """What the telemetry reads of a detector (channels, units, model, faults, threshold)."""
    return SimpleNamespace(
        channels=("temperature", "vibration"),
        units=("degC", "mm/s"),
        model_name="pump",
        faults=SimpleNamespace(active={}),
        settings=SimpleNamespace(decision=SimpleNamespace(threshold=0.9)),
    )


def blocks(sensor: str, block: int, count: int = 1000) -> list[list[Scored]]:
    """``count`` blocks of ``block`` scored outcomes (made once: the bench times the telemetry, not these)."""
    return [
        [
            Scored(Reading(sensor, 1e9 + n * block + k, (20.0, 1.0)), "scored", (n * 7 + k) % 100 / 100, level=0.1)
            for k in range(block)
        ]
        for n in range(count)
    ]


def feed(observe: Callable[[str, Sequence[Scored]], None], sensors: list[str], args: argparse.Namespace) -> float:
    """Play the scoring thread for ``args.seconds`` in real time; return the CPU seconds of this process."""
    made = {sensor: blocks(sensor, args.block) for sensor in sensors}
    period = args.block / args.rate
    cpu, start = time.process_time(), time.perf_counter()
    n = 0
    while (due := start + n * period) < start + args.seconds:
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        for sensor in sensors:
            observe(sensor, made[sensor][n % 1000])
        n += 1
    return time.process_time() - cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sensors", type=int, default=1)
    parser.add_argument("--rate", type=float, default=1000.0, help="readings per second per sensor")
    parser.add_argument("--block", type=int, default=1, help="outcomes per observer call")
    parser.add_argument("--interval", type=float, default=10.0, help="the sink's telemetry_interval_s")
    args = parser.parse_args(argv)
    sensors = [f"pump-{i + 1}" for i in range(args.sensors)]
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as scratch, Broker(Path(scratch) / "broker") as broker:
        keys = {"host": "127.0.0.1", "port": broker.port, "homeassistant": True, "telemetry_interval_s": args.interval}
        context = PluginContext((), 1.0, "0" * 64, Path(scratch), Path(scratch), "bench")
        sink = MqttSink(build_section(Config, keys, "bench"), context)
        sink.open()
        observe = sink.watch({sensor: bench_detector() for sensor in sensors})
        assert observe is not None
        deadline = time.monotonic() + 5
        while not sink._connected and time.monotonic() < deadline:
            time.sleep(0.01)
        baseline = feed(lambda sensor, outcomes: None, sensors, args)
        before = sink.counts["telemetry"]
        cpu = feed(observe, sensors, args)
        messages = sink.counts["telemetry"] - before
        one = blocks("pump-1", args.block, 1)[0]
        calls, start = 100_000, time.perf_counter()
        for _ in range(calls):
            observe("pump-1", one)
        per_call = (time.perf_counter() - start) / calls
        discovery = sink.counts["discovery"]
        sink.close()
    readings = args.rate * args.seconds * len(sensors)
    added = max(cpu - baseline, 0.0)
    cap = len(sensors) * (args.seconds / args.interval + 1)
    print("## mqtt telemetry at 1 kHz (bench/telemetry.py)")
    print(machine_line())
    print(command_line(argv))
    print(
        f"- input: {len(sensors)} sensor(s) x {args.rate:,.0f} readings/s in blocks of {args.block} for "
        f"{args.seconds:g} s ({readings:,.0f} readings), telemetry_interval_s {args.interval:g}"
    )
    print(
        f"- CPU the telemetry adds: {added:.3f} s in {args.seconds:g} s = {added / args.seconds * 100:.2f} % of one "
        f"core (with it {cpu:.3f} s, the feeding loop alone {baseline:.3f} s)"
    )
    print(f"- one observer call (a block of {args.block}): {per_call * 1e6:.2f} us")
    print(
        f"- state messages published: {messages} ({messages / args.seconds:.2f}/s; the cap allows {cap:.0f}), "
        f"discovery configs {discovery}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
