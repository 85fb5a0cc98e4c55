"""The gateway on the bench: the firmware simulator streams a CSV over a pty, ``edge-agent run`` scores it.

    python examples/gateway_demo.py MODEL CSV OUT_DIR

Writes OUT_DIR/agent.toml (a serial source on the simulator's link, the log sink), starts
``python -m firmware_bridge.sim`` replaying the CSV's columns at 100 readings per second with the
model's sample period as the device clock, runs ``edge-agent run`` until it has scored every
row, then prints ``edge-agent status``. Exits non-zero if any step fails or takes too long.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

from edge.model.loader import load_model

TIMEOUT_S = 30


UNITS = {"_c": "degC", "_mm_s": "mm/s", "_a": "A"}  # the demo pump's column names end in their unit


def unit_of(channel: str) -> str:
    """The unit the simulated firmware announces in its HELLO for a demo column ("1": none)."""
    return next((unit for suffix, unit in UNITS.items() if channel.endswith(suffix)), "1")


def build_parser() -> argparse.ArgumentParser:
    """The script's command line: three paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="the model file edge-export wrote")
    parser.add_argument("csv", type=Path, help="readings to stream, one column per model channel")
    parser.add_argument("out_dir", type=Path, help="where agent.toml, the agent's state and the pty link go")
    return parser


def main() -> int:
    """Stream the CSV through the simulator into edge-agent run; print its status."""
    args = build_parser().parse_args()
    model, data, out = args.model, args.csv, args.out_dir
    meta = load_model(model).metadata
    with data.open(newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    link = out / "tty-bridge"
    config = out / "agent.toml"
    config.write_text(
        f'[agent]\nstate_dir = "state"\nruntime_dir = "run"\nlog_target = "stderr"\n\n'
        f'[model]\npath = "{model.resolve()}"\n\n'
        f'[[sources]]\ntype = "serial"\nsensor = "pump-1"\nport = "{link.resolve()}"\n\n'
        '[[sinks]]\ntype = "log"\n'
    )
    shutil.rmtree(out / "state", ignore_errors=True)  # every demo starts cold
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "firmware_bridge.sim",
            "--link",
            str(link),
            "--csv",
            str(data),
            "--channels",
            ",".join(meta.channels),
            "--units",
            ",".join(unit_of(c) for c in meta.channels),
            "--period-ms",
            str(int(meta.sample_period_s * 1000)),
            "--rate",
            "100",
            "--count",
            str(rows),
            "--device-id",
            "pump-1-bridge",
            "--start-on-request",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        print(sim.stdout.readline().strip(), flush=True)
        agent = [sys.executable, "-m", "edge.cli"]
        subprocess.run(
            [*agent, "run", "--config", str(config), "--max-readings", str(rows)], check=True, timeout=TIMEOUT_S
        )
        subprocess.run([*agent, "status", "--config", str(config)], check=True, timeout=30)
    finally:
        sim.terminate()
        sim.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
