"""The modbus source against pymodbus's RTU server: polls per second sustained, and the CPU one sensor costs.

The firmware simulator runs in a child process as a Modbus RTU slave (``python -m firmware_bridge.sim
--modbus``: pymodbus's serial server behind a pty pair, 3 channels as float32, 6 registers read in one
request) and this process runs a ``ModbusSource`` built from the table the simulator prints
(``--print-config``), so the CPU measured here is the agent's side alone.

1. **throughput**: polls back to back (``poll_s`` tiny) for ``--seconds``: polls per second and the time one
   poll takes, on a bare pty (bytes at memory speed whatever the baud rate) and with the simulator's
   ``--wire-time`` (each byte as late as 19200 Bd makes it: request 8 bytes, answer 17, 10 bits a byte at 8N1).
2. **CPU per sensor**: polling at 1 Hz and at 10 Hz over the 19200 Bd wire time for ``--cpu-seconds`` each, the
   process CPU time (``time.process_time``: user + system, every thread of this process) over the wall time, as %
   of one core.

Run: ``.venv/bin/python bench/modbus.py`` (about 30 s)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from common import ROOT, command_line, machine_line, note, wait_until

CHANNELS = ("temperature", "vibration", "pressure")
BAUD = 19200


def simulator(link: Path, *extra: str) -> list[str]:
    """The simulator's command line: slave 3, the three channels as float32."""
    return [
        sys.executable,
        "-m",
        "firmware_bridge.sim",
        "--modbus",
        "--slave",
        "3",
        "--link",
        str(link),
        "--channels",
        ",".join(CHANNELS),
        "--units",
        "degC,mm/s,bar",
        "--baudrate",
        str(BAUD),
        *extra,
    ]


def build_source(link: Path, poll_s: float):  # noqa: ANN201 (edge is imported here, not at the top)
    from edge.plugins import SOURCE_TYPES, PluginContext, load_spec

    printed = subprocess.run([*simulator(link), "--print-config"], capture_output=True, text=True, check=True, cwd=ROOT)
    table = tomllib.loads(printed.stdout)["sources"][0]
    table.update({"poll_s": poll_s, "timeout_s": 0.5})
    context = PluginContext(CHANNELS, poll_s, "0" * 64, link.parent, link.parent)
    return load_spec(SOURCE_TYPES, "source", table, "bench").build(context)


def run_for(source, seconds: float) -> tuple[int, float, float]:  # noqa: ANN001
    """Readings, wall seconds and process CPU seconds over ``seconds`` of reading."""
    from edge.core.events import Reading

    readings, wall0, cpu0 = 0, time.monotonic(), time.process_time()
    while time.monotonic() - wall0 < seconds:
        readings += sum(isinstance(item, Reading) for item in source.read(0.5))
    return readings, time.monotonic() - wall0, time.process_time() - cpu0


def wire_polls_per_s(registers: int, baud: int = BAUD) -> float:
    """What a real line allows: request and answer bytes at 10 bits each, a 3.5-character gap before each."""
    request, answer = 8, 5 + 2 * registers
    seconds = (request + answer + 2 * 3.5) * 10 / baud
    return 1 / seconds


def with_slave(folder: Path, wire_time: bool, runs: Sequence[tuple[float, float]]) -> list[tuple]:
    """Start the simulator, and for each (poll_s, seconds) poll it: (poll_s, readings, wall, CPU, counters)."""
    link = folder / ("ttyWIRE" if wire_time else "ttyPTY")
    extra = ["--rate", "100", *(["--wire-time"] if wire_time else [])]
    child = subprocess.Popen(simulator(link, *extra), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    results = []
    try:
        if not wait_until(link.exists, 10):
            raise SystemExit("the simulator did not start")
        time.sleep(0.3)  # the server opens its side just after the link appears
        for poll_s, seconds in runs:
            note("modbus", f"{'19200 Bd wire time' if wire_time else 'pty'}: poll_s {poll_s:g} for {seconds:g} s")
            source = build_source(link, poll_s)
            source.open()
            results.append((poll_s, *run_for(source, seconds), source.counters()))
            source.close()
    finally:
        child.terminate()
        child.communicate(timeout=10)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each throughput run (default: %(default)s)")
    parser.add_argument("--cpu-seconds", type=float, default=10.0, help="each CPU run (default: %(default)s)")
    args = parser.parse_args(argv)
    with TemporaryDirectory(prefix="bench-modbus-") as name:
        folder = Path(name)
        instant = with_slave(folder, False, [(1e-6, args.seconds)])
        paced = with_slave(folder, True, [(1e-6, args.seconds), (1.0, args.cpu_seconds), (0.1, args.cpu_seconds)])
    registers = 2 * len(CHANNELS)
    print("# bench/modbus.py: the modbus source against pymodbus's RTU serial server on a pty pair\n")
    print(machine_line(pymodbus=__import__("pymodbus").__version__))
    print(command_line(argv))
    print(f"- slave: {len(CHANNELS)} channels float32 = {registers} registers, one request a poll\n")
    print(
        "| line | polling | polls | per second | one poll (mean) | CPU, % of one core | timeouts / crc / exceptions |"
    )
    print("|---|---|---|---|---|---|---|")
    for line, (poll_s, polls, wall, cpu, counts) in [("pty", instant[0]), *(("19200 Bd wire time", r) for r in paced)]:
        back_to_back = poll_s < 1e-3
        how = "back to back" if back_to_back else f"{1 / poll_s:g} Hz"
        one = f"{1000 * wall / max(polls, 1):.2f} ms" if back_to_back else ""
        failed = f"{counts['timeouts']} / {counts['crc_errors']} / {counts['exceptions']}"
        cells = [line, f"{how}, {wall:.1f} s", polls, f"{polls / wall:.1f}", one, f"{100 * cpu / wall:.2f}", failed]
        print("| " + " | ".join(map(str, cells)) + " |")
    print(
        f"\nWire time is the simulator's: each byte delivered 10 bits / {BAUD} Bd late (8N1); the arithmetic "
        f"allows {wire_polls_per_s(registers):.0f} polls/s of this size (with the 3.5-character gaps), before "
        "a device's own answer delay. The CPU is this process's (the source), the slave's is not counted."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
