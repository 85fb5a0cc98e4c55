"""Soak test of the serial link: the simulated firmware → a pty → ``SerialSource``, every frame accounted for.

Two phases, each with the simulator (``firmware_bridge.sim.Simulator``) in a child process of its own
(``--child SPEC``) and the receiver, a framed ``SerialSource``, in this process:

1. unplug: 1 kHz (period 1 ms, real time), the pty closed every ``--unplug-every`` frames for a random
   ``--unplug-ms`` (uniform) and reopened behind the same link, ``--cycles`` times, no corruption;
2. corruption: ``--frames`` SAMPLE frames with ``--corrupt-rate`` (one random byte flipped) and
   ``--drop-rate`` (frame lost) at ``--fps`` frames/s, the 16-bit sequence wrapping many times.

The receiver reads until the simulator has finished and the port stayed quiet, catching (and counting)
any exception out of ``SerialSource.read``. The child records the unwrapped index (HELLOs and SAMPLEs
count, as the sequence does) of every frame it lost, so the frames the receiver counts lost are
compared with the simulator's own record position by position, not just in number.

Prints a markdown table (goal and met columns) and a few context lines.

Run: ``.venv/bin/python bench/soak.py [--cycles N] [--frames N] [--fps F] [--corrupt-rate R] ...``
(quick: ``--cycles 5 --frames 20000``)
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import math
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from common import command_line, machine_line, note, peak_rss_mib, verdict

from edge.core.events import Reading, SourceFault
from edge.plugins import PluginContext
from edge.protocol.stream import SequenceCounter
from edge.sources.serial import Config, SerialSource
from firmware_bridge.signals import sine_signal
from firmware_bridge.sim import FaultPlan, Simulator, build_hello

CHANNELS = ("temperature", "vibration")
PERIOD_MS = 1
QUIET_S = 0.5  # the port must stay quiet this long after the simulator finished
MAX_CRASHES = 1000  # give a phase up after this many exceptions out of read


@dataclass(frozen=True)
class Phase:
    """What one phase's simulator does."""

    name: str
    count: int  # SAMPLE frames to generate
    rate: float  # frames per second the simulator paces itself at; 0: as fast as it can
    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    unplug_every: int = 0
    unplug_ms: tuple[float, float] = (0.0, 0.0)  # each outage drawn uniformly from this range
    seed: int = 1
    link: str = ""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100, help="unplug/replug cycles of the 1 kHz phase (100)")
    parser.add_argument("--unplug-every", type=int, default=1000, help="frames between unplugs (1000, i.e. 1 s)")
    parser.add_argument("--unplug-ms", default="50:200", help="outage in ms, MIN:MAX drawn uniformly (50:200)")
    parser.add_argument("--reconnect-initial", type=float, default=0.01, help="receiver's first back-off, s (0.01)")
    parser.add_argument("--reconnect-max", type=float, default=0.2, help="receiver's back-off cap, s (0.2)")
    parser.add_argument("--frames", type=int, default=1_000_000, help="SAMPLE frames of the corruption phase (1e6)")
    parser.add_argument(
        "--fps",
        type=float,
        default=50_000.0,
        help="frames/s of the corruption phase (50000; 0: as fast as the simulator can, "
        "and what the pty cannot take is lost as overflow)",
    )
    parser.add_argument("--corrupt-rate", type=float, default=0.01, help="share of frames with a byte flipped (0.01)")
    parser.add_argument("--drop-rate", type=float, default=0.005, help="share of frames lost whole (0.005)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (1)")
    parser.add_argument("--only", choices=("unplug", "corruption"), help="run one phase only")
    parser.add_argument("--child", metavar="SPEC", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- child: the simulated firmware ------------------------------------------------------------------------


class LostRecord(list):
    """``SimStats.lost_sequences`` that also records the unwrapped index of each lost SAMPLE."""

    def __init__(self, sim: SoakSimulator) -> None:
        super().__init__()
        self.sim = sim

    def append(self, sequence: int) -> None:
        index = self.sim.numbered - 1  # the simulator loses a SAMPLE right after numbering it
        if index & 0xFFFF != sequence:
            raise AssertionError(f"lost sequence {sequence} is not frame {index}'s")
        self.sim.lost_index.append(index)
        super().append(sequence)


class SoakSimulator(Simulator):
    """A Simulator that counts frames without wrapping, records HELLOs it failed to write, and draws each
    outage's length at random; the simulator itself is unchanged."""

    def __init__(self, *args: Any, outage_ms: tuple[float, float], outage_seed: int, **keys: Any) -> None:
        super().__init__(*args, **keys)
        self.numbered = 0  # frames given a sequence number: the next frame's unwrapped index
        self.lost_index: list[int] = []
        self.lost_hellos: list[int] = []
        self.unplugged_at: list[int] = []  # ``numbered`` when the pty closed (its last frame is lost)
        self.plugged_at: list[int] = []  # ``numbered`` when a new pty opened (the next frame is its HELLO)
        self.outages: list[float] = []
        self.outage_ms = outage_ms
        self.outage_rng = random.Random(outage_seed)
        self.running = False
        self._down_since: float | None = None
        self._wrote = True
        self.stats.lost_sequences = LostRecord(self)

    def _next_sequence(self) -> int:
        self.numbered += 1
        return super()._next_sequence()

    def _write(self, data: bytes) -> bool:
        self._wrote = super()._write(data)
        return self._wrote

    def _send_hello(self) -> None:
        super()._send_hello()
        if not self._wrote:
            self.lost_hellos.append(self.numbered - 1)

    def unplug(self) -> None:
        if self.running:
            self.unplugged_at.append(self.numbered)
            self._down_since = time.monotonic()
            low, high = self.outage_ms
            # run() reads faults.unplug_ms right after unplug() to time the outage
            self.faults = replace(self.faults, unplug_ms=self.outage_rng.uniform(low, high))
        super().unplug()

    def plug(self) -> None:
        if self._down_since is not None:
            self.outages.append(time.monotonic() - self._down_since)
            self.plugged_at.append(self.numbered)
            self._down_since = None
        super().plug()


def child_main(spec_path: Path) -> int:
    """Plug, print ``ready``, stream, write the stats JSON next to the spec, print ``done``, then keep the
    pty open (unread bytes stay readable) until stdin closes."""
    spec = json.loads(spec_path.read_text())
    phase = Phase(**{**spec, "unplug_ms": tuple(spec["unplug_ms"])})
    faults = FaultPlan(phase.corrupt_rate, phase.drop_rate, 0.0, phase.unplug_every, phase.unplug_ms[0])
    hello = build_hello(CHANNELS, ["degC", "mm/s"], PERIOD_MS, "soak-1")
    sim = SoakSimulator(
        hello,
        sine_signal(len(CHANNELS), phase.seed, 0.2),
        rate=phase.rate or 1e12,
        link=Path(phase.link),
        faults=faults,
        seed=phase.seed,
        count=phase.count,
        start_on_request=True,
        outage_ms=phase.unplug_ms,
        outage_seed=phase.seed + 1000,
    )
    sim.plug()
    print("ready", flush=True)
    sim.running = True
    began = time.perf_counter()
    stats = sim.run()
    seconds = time.perf_counter() - began
    sim.running = False
    result = {f.name: getattr(stats, f.name) for f in fields(stats) if f.name != "lost_sequences"}
    result.update(
        run_seconds=seconds,
        numbered=sim.numbered,
        lost_index=sim.lost_index,
        lost_hellos=sim.lost_hellos,
        unplugged_at=sim.unplugged_at,
        plugged_at=sim.plugged_at,
        outages=sim.outages,
    )
    out = spec_path.with_suffix(".stats.json")
    out.with_suffix(".tmp").write_text(json.dumps(result))
    out.with_suffix(".tmp").replace(out)
    print("done", flush=True)
    sys.stdin.read()
    sim.close()
    return 0


# --- parent: the receiver ---------------------------------------------------------------------------------


class PositionTracker:
    """Which unwrapped positions the receiver's SequenceCounter assigned to the frames it decoded."""

    def __init__(self, counter: SequenceCounter) -> None:
        self.counter, self.seen, self.duplicates = counter, bytearray(), 0
        self._observe = counter.observe
        counter.observe = self.observe  # type: ignore[method-assign]

    def observe(self, sequence: int, timestamp_ms: int) -> int:
        missing = self._observe(sequence, timestamp_ms)
        position = self.counter.position
        if position >= len(self.seen):
            self.seen.extend(bytes(position - len(self.seen) + (1 << 16)))
        if self.seen[position]:
            self.duplicates += 1
        self.seen[position] = 1
        return missing


@dataclass
class Received:
    """What the receiver saw in one phase."""

    readings: int = 0
    out_of_order: int = 0  # readings whose timestamp went back
    faults: int = 0
    cleared: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # why the port was lost, as the faults say
    crashes: list[str] = field(default_factory=list)
    timed_out: bool = False


def receive(source: SerialSource, done: threading.Event, deadline: float) -> Received:
    """Read until the simulator is done and no byte came for ``QUIET_S``, counting what escapes ``read``."""
    got = Received()
    last_time = -math.inf
    last_bytes, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            items = source.read(0.05)
        except Exception as exc:  # noqa: BLE001 - a crash is what this benchmark counts
            got.crashes.append(f"{type(exc).__name__}: {exc}")
            if len(got.crashes) >= MAX_CRASHES:
                break
            continue
        for item in items:
            if isinstance(item, Reading):
                got.readings += 1
                got.out_of_order += item.timestamp < last_time
                last_time = item.timestamp
            elif isinstance(item, SourceFault):
                got.cleared += item.cleared
                got.faults += not item.cleared
                if not item.cleared:
                    got.reasons[item.message.replace(f"serial port {source.config.port} ", "")] += 1
        now, received = time.monotonic(), source.counts["bytes"]
        if received != last_bytes:
            last_bytes, quiet_since = received, now
        elif done.is_set() and now - quiet_since >= QUIET_S:
            return got
    got.timed_out = len(got.crashes) < MAX_CRASHES
    return got


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux ≥ 4.0); False when that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Result:
    """One phase, measured."""

    phase: Phase
    sim: dict[str, Any]
    counts: dict[str, int]
    received: Received
    first: int
    last: int
    span: int
    duplicates: int
    reconnect_seconds: list[float]
    wall: float
    rss_mib: float
    rss_reset: bool
    check: dict[str, Any] = field(default_factory=dict)
    child_code: int = 0


def check_positions(seen: bytearray, first: int, last: int, sim: dict[str, Any]) -> dict[str, Any]:
    """Compare, position by position within the receiver's span, what it counted lost with what the
    simulator lost, and sort the difference by where it happened."""
    rx_lost: list[int] = []
    position = first
    while position <= last:
        position = seen.find(0, position, last + 1)
        if position < 0:
            break
        rx_lost.append(position)
        position += 1
    sim_lost = {i for i in sim["lost_index"] + sim["lost_hellos"] if first <= i <= last}
    decoded_anyway = sum(1 for i in sim_lost if seen[i])  # the simulator lost it, yet a frame decoded there
    outages = [(down - 1, up) for down, up in zip(sim["unplugged_at"], sim["plugged_at"])]  # [first lost, HELLO)
    downs = [down for down, _ in outages]
    runs: list[tuple[int, int]] = []  # contiguous stretches of positions the receiver counted lost
    for p in rx_lost:
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    starts = [a for a, _ in runs]
    flushed = unread = unexplained = 0
    for p in rx_lost:
        if p in sim_lost:
            continue
        a, b = runs[bisect.bisect_right(starts, p) - 1]
        k = bisect.bisect_right(downs, b) - 1  # the last outage starting within or before this run
        down, up = outages[k] if k >= 0 else (0, 0)
        if k < 0 or up <= a:
            unexplained += 1
        elif p < down:
            unread += 1  # written before the unplug, still in the pty when it closed
        elif p >= up:
            flushed += 1  # written into the new pty before the receiver opened it: pyserial flushes on open
        else:
            unexplained += 1
    return {
        "rx_lost": len(rx_lost),
        "sim_lost": len(sim_lost),
        "decoded_anyway": decoded_anyway,
        "flushed": flushed,
        "unread": unread,
        "unexplained": unexplained,
    }


def run_phase(phase: Phase, args: argparse.Namespace, tmp: Path) -> Result:
    """One phase: the simulator child, the receiver here, then the position-by-position check."""
    link = tmp / phase.name / "tty"
    phase = replace(phase, link=str(link))
    spec = tmp / f"{phase.name}.json"
    spec.write_text(json.dumps(asdict(phase)))
    log = tmp / f"{phase.name}.log"
    note("soak", f"{phase.name} phase: {phase.count:,} frames at {phase.rate or 'max'} frames/s")
    rss_reset = reset_peak_rss()
    config = Config(
        sensor="soak", port=str(link), reconnect_initial_s=args.reconnect_initial, reconnect_max_s=args.reconnect_max
    )
    source = SerialSource(config, PluginContext(CHANNELS, PERIOD_MS / 1000.0, "0" * 64, tmp, tmp))
    tracker = PositionTracker(source.session.sequence)
    ready, done = threading.Event(), threading.Event()
    began = time.perf_counter()
    with log.open("w") as errors:
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )

    def watch() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            (ready if line.strip() == "ready" else done).set()
        ready.set()
        done.set()  # the child ended, whatever it said

    threading.Thread(target=watch, daemon=True).start()
    expected = phase.count / (phase.rate or 20_000.0)
    deadline = time.monotonic() + 2 * expected + 120.0
    try:
        ready.wait(30.0)
        source.open()
        received = receive(source, done, deadline)
    finally:
        source.close()
        if child.stdin is not None:
            child.stdin.close()
        try:
            code = child.wait(30.0)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
    wall = time.perf_counter() - began
    stats_file = spec.with_suffix(".stats.json")
    if not stats_file.exists():
        raise RuntimeError(
            f"the simulator of the {phase.name} phase exited {code} without stats:\n{log.read_text()[-3000:]}"
        )
    sim = json.loads(stats_file.read_text())
    counter = source.session.sequence
    first = counter.first_position if counter.first_position is not None else 0
    result = Result(
        phase,
        sim,
        source.counters(),
        received,
        first,
        counter.position,
        counter.span,
        tracker.duplicates,
        list(source.reconnect_seconds),
        wall,
        peak_rss_mib(),
        rss_reset,
        child_code=code,
    )
    result.check = check_positions(tracker.seen, first, counter.position, sim) if counter.span else {}
    return result


# --- report -----------------------------------------------------------------------------------------------


def n(value: float) -> str:
    """An integer with thousands separators."""
    return f"{value:,.0f}"


def median_max(values: Sequence[float], unit: str = "") -> str:
    """``median / max`` or a dash when there are none."""
    return f"{statistics.median(values):.3f} / {max(values):.3f}{unit}" if values else "—"


def unaccounted(r: Result) -> int:
    """Frames in the receiver's span that are neither decoded nor counted lost."""
    return r.span - r.counts["frames"] - r.counts["lost"]


def exact(r: Result) -> bool:
    """The receiver's lost positions are the simulator's plus the frames never read at a reconnect, exactly."""
    c = r.check
    return (
        bool(c)
        and c["rx_lost"] == r.counts["lost"]
        and c["decoded_anyway"] == 0
        and c["unexplained"] == 0
        and c["rx_lost"] == c["sim_lost"] + c["flushed"] + c["unread"]
    )


def rows(results: list[Result]) -> list[tuple[str, list[str], str, bool | None]]:
    """(measure, a value per phase, goal, met or None)."""

    def each(fn: Any) -> list[str]:
        return [fn(r) for r in results]

    def sim(r: Result, key: str) -> int:
        return int(r.sim[key])

    out: list[tuple[str, list[str], str, bool | None]] = [
        (
            "SAMPLE frames generated by the simulator (+ HELLOs)",
            each(lambda r: f"{n(sim(r, 'generated'))} (+ {sim(r, 'hellos')})"),
            "",
            None,
        ),
        ("written to the pty (SAMPLEs, corrupted ones included)", each(lambda r: n(sim(r, "written"))), "", None),
        (
            "lost by the simulator: dropped / corrupted / while unplugged / pty full",
            each(lambda r: " / ".join(n(sim(r, k)) for k in ("dropped", "corrupted", "unplugged_frames", "overflow"))),
            "",
            None,
        ),
        ("HELLOs the simulator could not write", each(lambda r: n(len(r.sim["lost_hellos"]))), "", None),
        (
            "frames decoded by the receiver (HELLO + SAMPLE) / readings",
            each(lambda r: f"{n(r.counts['frames'])} / {n(r.received.readings)}"),
            "",
            None,
        ),
        (
            "frames in the receiver's span (first to last seen, unwrapped; 16-bit wraps)",
            each(lambda r: f"{n(r.span)} ({r.span // 65536})"),
            "",
            None,
        ),
        ("frames counted lost by the receiver", each(lambda r: n(r.counts["lost"])), "", None),
        (
            "unaccounted: span − decoded − counted lost",
            each(lambda r: n(unaccounted(r))),
            "0",
            all(unaccounted(r) == 0 for r in results),
        ),
        (
            "lost per the simulator's own record, within the span",
            each(lambda r: n(r.check.get("sim_lost", 0))),
            "",
            None,
        ),
        (
            "counted lost − simulator's record = written intact, never read: flushed by pyserial at reopen + "
            "in the pty when it closed + unexplained",
            each(
                lambda r: (
                    f"{n(r.counts['lost'] - r.check.get('sim_lost', 0))} = {n(r.check.get('flushed', 0))} + "
                    f"{n(r.check.get('unread', 0))} + {n(r.check.get('unexplained', 0))}"
                )
            ),
            "equal, but for reconnects; unexplained 0",
            all(exact(r) for r in results),
        ),
        (
            "positions the simulator lost yet a frame decoded there / decoded twice",
            each(lambda r: f"{r.check.get('decoded_anyway', 0)} / {r.duplicates}"),
            "0 / 0",
            all(r.check.get("decoded_anyway", 1) == 0 and r.duplicates == 0 for r in results),
        ),
        (
            "crashes: exceptions out of SerialSource.read",
            each(lambda r: n(len(r.received.crashes))),
            "0",
            all(not r.received.crashes for r in results),
        ),
        (
            "readings whose timestamp went back",
            each(lambda r: n(r.received.out_of_order)),
            "0",
            all(r.received.out_of_order == 0 for r in results),
        ),
        (
            "decoder: CRC / COBS / short / malformed / other / recovered",
            each(
                lambda r: (
                    " / ".join(n(r.counts.get(k, 0)) for k in ("crc", "cobs", "short", "malformed"))
                    + f" / {n(sum(r.counts.get(k, 0) for k in ('oversize', 'version', 'unknown_type')))}"
                    + f" / {n(r.counts['recovered'])}"
                )
            ),
            "",
            None,
        ),
        ("resyncs", each(lambda r: n(r.counts["resyncs"])), "", None),
        (
            "unplugs / disconnects / reconnects (open attempts that failed)",
            each(
                lambda r: (
                    f"{sim(r, 'unplugs')} / {r.counts['disconnects']} / {r.counts['reconnects']} "
                    f"({r.counts['open_failures']})"
                )
            ),
            "all equal",
            all(sim(r, "unplugs") == r.counts["disconnects"] == r.counts["reconnects"] for r in results),
        ),
        (
            "reconnect time, loss detected → reopened: median / max, s",
            each(lambda r: median_max(r.reconnect_seconds)),
            "",
            None,
        ),
        ("outage, pty closed → new pty: median / max, s", each(lambda r: median_max(r.sim["outages"])), "", None),
        (
            "simulator run time, s / frames generated per second",
            each(lambda r: f"{r.sim['run_seconds']:.1f} / {n(sim(r, 'generated') / r.sim['run_seconds'])}"),
            "",
            None,
        ),
        (
            "phase wall time, s / frames decoded per second",
            each(lambda r: f"{r.wall:.1f} / {n(r.counts['frames'] / r.wall)}"),
            "",
            None,
        ),
        ("peak RSS of the receiver process during the phase, MiB", each(lambda r: f"{r.rss_mib:.1f}"), "", None),
    ]
    return out


def report(results: list[Result], args: argparse.Namespace, argv: Sequence[str] | None) -> None:
    names = [f"{r.phase.name} phase" for r in results]
    print("| measure | " + " | ".join(names) + " | goal | goal met? |")
    print("|---|" + "---:|" * len(results) + "---|---|")
    for measure, values, goal, met in rows(results):
        print(f"| {measure} | " + " | ".join(values) + f" | {goal} | {'' if met is None else verdict(met)} |")
    print()
    for r in results:
        p = r.phase
        faults = (
            f"unplugged every {p.unplug_every:,} frames for {p.unplug_ms[0]:g}–{p.unplug_ms[1]:g} ms "
            "(uniform), the device sampling on meanwhile"
            if p.unplug_every
            else "never unplugged"
        )
        print(
            f"- {p.name} phase: simulator in a child process, {p.count:,} SAMPLEs of 2 channels, period "
            f"{PERIOD_MS} ms, paced at {f'{p.rate:,.0f} frames/s' if p.rate else 'its full speed'}, corrupt rate "
            f"{p.corrupt_rate:g}, drop rate {p.drop_rate:g}, {faults}, seed {p.seed}; receiver: framed "
            f"SerialSource, back-off {args.reconnect_initial:g} s doubling to {args.reconnect_max:g} s; "
            f"{r.counts['hellos']} HELLO(s) decoded; simulator exit code {r.child_code}"
        )
        if r.received.reasons:
            print(
                f"- {p.name} phase, port losses as the source's faults name them: "
                + "; ".join(f"{count} × {reason!r}" for reason, count in r.received.reasons.most_common())
            )
        if r.received.crashes:
            print(f"- {p.name} phase crashes, first: {r.received.crashes[0]}")
        if r.received.timed_out:
            print(f"- **{p.name} phase timed out** before the simulator finished and the port went quiet")
    if any(r.reconnect_seconds for r in results):
        print(
            f"- reconnect time: from the read that failed to the open that worked; the receiver retries at "
            f"{', '.join(f'{t * 1000:.0f}' for t in ladder(args))} ms after the loss, so it is the first of "
            "those past the outage (the link is missing meanwhile: the failed opens)"
        )
    print(
        "- positions: the simulator's frame count (HELLOs included, never wrapped) against the receiver's "
        "SequenceCounter position (unwrapped with HELLO's period and the device's timestamps), frame by frame; "
        "'flushed at reopen' are frames the simulator wrote into a new pty before the receiver opened it: "
        "pyserial's open() flushes the input buffer, so they are lost and counted lost by sequence (a real "
        "device's bytes sent while no one has the port open are lost likewise)"
    )
    rss = (
        "reset at each phase's start (clear_refs)"
        if all(r.rss_reset for r in results)
        else "the process's peak so far (VmHWM could not be reset)"
    )
    print(f"- peak RSS: VmHWM of this process, {rss}; it includes the bench's bookkeeping (one byte per frame)")
    import serial

    print(machine_line(pyserial=serial.__version__))
    print(command_line(argv))


def ladder(args: argparse.Namespace, until: float = 1.0) -> list[float]:
    """When the receiver retries after a loss: the back-off's running sums, up to ``until`` seconds."""
    times, wait, total = [], args.reconnect_initial, 0.0
    while total + wait <= until:
        total += wait
        times.append(total)
        wait = min(wait * 2, args.reconnect_max)
    return times


def phases(args: argparse.Namespace) -> list[Phase]:
    """The phases the options ask for."""
    low, _, high = args.unplug_ms.partition(":")
    outage = (float(low), float(high or low))
    unplug = Phase(
        "unplug",
        args.cycles * args.unplug_every + args.unplug_every // 2,
        1000.0 / PERIOD_MS,
        unplug_every=args.unplug_every,
        unplug_ms=outage,
        seed=args.seed,
    )
    corruption = Phase(
        "corruption", args.frames, args.fps, corrupt_rate=args.corrupt_rate, drop_rate=args.drop_rate, seed=args.seed
    )
    return [p for p in (unplug, corruption) if args.only in (None, p.name)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(Path(args.child))
    logging.getLogger("edge").setLevel(logging.ERROR)  # a warning per unplug; the report counts them
    with tempfile.TemporaryDirectory(prefix="edge-bench-soak-") as name:
        results = [run_phase(phase, args, Path(name)) for phase in phases(args)]
    report(results, args, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
