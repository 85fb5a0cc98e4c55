"""``edge-agent``: the gateway command (run, check, replay, status, reload, network-policy, sample-config,
inspect)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edge import commands
from edge.errors import ConfigError, EdgeError, ModelError
from edge.service.network_policy import DROP_IN

PROG = "edge-agent"
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h: the config or model is wrong; restarting will not help


def _unit_threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog=PROG, description="edge-anomaly gateway runtime")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors; debug logging")
    subcommands = parser.add_subparsers(dest="command", required=True)

    run = subcommands.add_parser("run", help="run the service")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--max-readings", type=int, help="stop as on SIGTERM after this many readings (demos, tests)")
    run.set_defaults(run=commands.run_service)

    check = subcommands.add_parser("check", help="validate config, model and plugins, then exit")
    check.add_argument("--config", type=Path, required=True)
    check.set_defaults(run=commands.check_config)

    replay = subcommands.add_parser("replay", help="run a CSV through the pipeline as fast as it can")
    replay.add_argument("--model", type=Path, required=True)
    replay.add_argument("--input", type=Path, required=True)
    replay.add_argument("--output", type=Path, required=True)
    replay.add_argument("--plot", type=Path, help="draw signal, score, threshold and alerts into this PNG")
    replay.add_argument(
        "--config",
        type=Path,
        help="take [model] threshold and [detector] settings from here "
        "(its [[sources]] and [model] path are not needed)",
    )
    replay.add_argument("--threshold", type=_unit_threshold, help="alert threshold (default: the model's)")
    replay.add_argument("--scoring", choices=("likelihood", "calibrated"), help="scorer (default: the config's)")
    replay.add_argument("--sensor", help="the sensor's name in event lines (default: the input file's stem)")
    replay.add_argument("--quiet", action="store_true", help="no event lines and no summary")
    replay.add_argument(
        "--block",
        type=int,
        help="rows per LSTM call (default: edge.replay_file.DEFAULT_BLOCK, 256; "
        "1: one row per call); every output column is the same for any block",
    )
    replay.set_defaults(run=commands.replay_csv)

    status = subcommands.add_parser("status", help="print the running agent's state")
    where = status.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="find the status file through this config's runtime_dir")
    where.add_argument("--runtime-dir", type=Path)
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=commands.show_status)

    reload = subcommands.add_parser(
        "reload", help="make the running agent re-read config and model; wait for its verdict"
    )
    where = reload.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="find the status file through this config's runtime_dir")
    where.add_argument(
        "--runtime-dir", type=Path, help="the folder of status.json (default $RUNTIME_DIRECTORY or /run/edge-anomaly)"
    )
    reload.add_argument("--pid", type=int, help="the agent's process (default: the pid in the status file)")
    reload.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the verdict")
    reload.set_defaults(run=commands.reload_agent)

    policy = subcommands.add_parser(
        "network-policy",
        help="print (or write) the unit's drop-in that allows the "
        "addresses the config's plugins connect to; the unit allows only loopback",
    )
    policy.add_argument("--config", type=Path, required=True)
    policy.add_argument(
        "--write",
        type=Path,
        nargs="?",
        const=DROP_IN,
        metavar="DROP_IN",
        help=f"write it there (default {DROP_IN}) instead of printing it",
    )
    policy.set_defaults(run=commands.print_network_policy)

    sample = subcommands.add_parser("sample-config", help="print a commented example config of every plugin")
    sample.set_defaults(run=commands.print_sample_config)

    inspect = subcommands.add_parser("inspect", help="verify a model file and print its metadata")
    inspect.add_argument("model", type=Path)
    inspect.set_defaults(run=commands.inspect_model)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``edge-agent``; errors are one line on stderr and exit status 2.

    ``run`` exits with EX_CONFIG (78) when its config or model is invalid, so the systemd unit can
    stop restarting it (``RestartPreventExitStatus=78``): only a person fixing the file helps then.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except EdgeError as exc:
        if args.debug:
            raise
        from edge.service.journal import stderr_is_journal

        # <3> is syslog's "err": journald stores the line at that priority (journalctl -p err shows it)
        print(f"{'<3>' if stderr_is_journal() else ''}{PROG}: error: {exc}", file=sys.stderr)
        if args.run is commands.run_service and isinstance(exc, (ConfigError, ModelError)):
            return EXIT_CONFIG
        return 2


if __name__ == "__main__":
    sys.exit(main())
