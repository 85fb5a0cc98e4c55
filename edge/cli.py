"""``edge-agent``: the gateway command (run, check, replay, status, reload, network-policy, sample-config,
inspect)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from edge import commands, feedback_commands
from edge.errors import ConfigError, EdgeError, ModelError

PROG = "edge-agent"
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h: the config or model is wrong; restarting will not help
# edge.service.network_policy.DROP_IN, written out: importing it would load the service's modules for replay
DROP_IN = Path("/etc/systemd/system/edge-anomaly.service.d/network.conf")
REPLAY_BLOCK = 64  # edge.replay_file.DEFAULT_BLOCK, written out: importing it would load onnxruntime for --help
CONFIG_HELP = "the agent's config file (edge-agent sample-config --minimal prints a first one)"


def terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` tells it: ``COLUMNS``, else stdout's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, its width from :func:`terminal_columns`: argparse's own imports shutil for it,
    and shutil loads bz2 and lzma, half a MiB of a gateway's memory for every command."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, terminal_columns() - 2 if width is None else width)


def _unit_threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface: one subparser per command, every option with its help."""
    parser = argparse.ArgumentParser(prog=PROG, description="edge-anomaly gateway runtime", formatter_class=Formatter)
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback on errors (and, for run, log at debug level)"
    )
    subcommands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="edge-agent COMMAND --help tells more"
    )

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return subcommands.add_parser(name, help=summary, description=summary, formatter_class=Formatter)

    run = command("run", "run the service: read the sources, score every reading, send events to the sinks")
    run.add_argument("--config", type=Path, required=True, metavar="TOML", help=CONFIG_HELP)
    run.add_argument(
        "--max-readings",
        type=int,
        metavar="N",
        help="stop as on SIGTERM after this many readings (demos, tests; default: run until stopped)",
    )
    run.add_argument(
        "--fake-hardware",
        action="store_true",
        help="open devices in memory instead of the machine's (a laptop, a demo): a Raspberry Pi's gpiochip0 "
        "(GPIO0-GPIO27, each change logged) and an empty /dev/i2c-1; no serial devices (default: the real ones)",
    )
    run.set_defaults(run=commands.run_service)

    check = command("check", "validate config, model and plugins (each opened and probed), then exit")
    check.add_argument("--config", type=Path, required=True, metavar="TOML", help=CONFIG_HELP)
    check.set_defaults(run=commands.check_config)

    replay = command("replay", "run a CSV through the service's pipeline as fast as it can; write the scores")
    replay.add_argument("--model", type=Path, required=True, metavar="ONNX", help="the model file edge-export wrote")
    replay.add_argument(
        "--input",
        type=Path,
        required=True,
        metavar="CSV",
        help="the readings: a timestamp column and one column per model channel, separated by commas, "
        "semicolons or tabs",
    )
    replay.add_argument(
        "--output",
        type=Path,
        required=True,
        metavar="CSV",
        help="written: every input column, then anomaly_score, alert, state and a score per channel",
    )
    replay.add_argument(
        "--plot", type=Path, metavar="PNG", help="also draw signal, forecast, score, threshold and alerts into this"
    )
    replay.add_argument(
        "--config",
        type=Path,
        metavar="TOML",
        help="take [model] threshold and [detector] settings from this agent config, and with --sensor the "
        "threshold of that source's model and its units (its [[sources]] and [model] path are not needed; "
        "default: the built-in [detector] defaults)",
    )
    replay.add_argument(
        "--threshold",
        type=_unit_threshold,
        metavar="LEVEL",
        help="alert threshold in (0, 1] (default: the --config's [model] threshold, else the model's own)",
    )
    replay.add_argument(
        "--scoring",
        choices=("likelihood", "calibrated"),
        help="the scorer (default: the --config's [detector] scoring, else likelihood)",
    )
    replay.add_argument("--sensor", help="the sensor's name in event lines (default: the input file's stem)")
    replay.add_argument(
        "--units",
        metavar="UNITS",
        help="each channel's unit, comma-separated in the model's channel order (\"degC,mm/s\"), for event lines "
        "and the plot (default: the --config source's units, else none)",
    )
    replay.add_argument("--quiet", action="store_true", help="print no event lines and no summary")
    replay.add_argument(
        "--block",
        type=int,
        metavar="ROWS",
        help=f"rows per LSTM call, 1 for one row per call (default: {REPLAY_BLOCK}); "
        "every output column is the same for any block",
    )
    replay.set_defaults(run=commands.replay_csv)

    status = command("status", "print the running agent's state from its status file")
    _where_the_agent_is(status)
    status.add_argument("--json", action="store_true", help="print the status file's JSON instead of a summary")
    status.set_defaults(run=commands.show_status)

    reload = command("reload", "make the running agent re-read config and model (SIGHUP); wait for its verdict")
    _where_the_agent_is(reload)
    reload.add_argument("--pid", type=int, help="the agent's process (default: the pid in the status file)")
    reload.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the verdict (default: %(default)s)",
    )
    reload.set_defaults(run=commands.reload_agent)

    policy = command(
        "network-policy",
        "print (or write) the systemd drop-in that allows the addresses the config's plugins connect to "
        "(the unit allows only loopback)",
    )
    policy.add_argument("--config", type=Path, required=True, metavar="TOML", help=CONFIG_HELP)
    policy.add_argument(
        "--write",
        type=Path,
        nargs="?",
        const=DROP_IN,
        metavar="DROP_IN",
        help=f"write the drop-in to this file instead of printing it (DROP_IN left out: {DROP_IN})",
    )
    policy.set_defaults(run=commands.print_network_policy)

    sample = command("sample-config", "print a commented example config of every section and plugin")
    sample.add_argument(
        "--minimal",
        action="store_true",
        help="print the smallest config that runs instead: the model, a replay source and the log sink",
    )
    sample.set_defaults(run=commands.print_sample_config)

    feedback_commands.add_parsers(command)

    inspect = command("inspect", "verify a model file and print its metadata")
    inspect.add_argument("model", type=Path, metavar="ONNX", help="the model file edge-export wrote")
    inspect.set_defaults(run=commands.inspect_model)
    return parser


def _where_the_agent_is(command: argparse.ArgumentParser) -> None:
    """``--config`` or ``--runtime-dir``: how status and reload find the running agent's status file."""
    where = command.add_mutually_exclusive_group()
    where.add_argument(
        "--config", type=Path, metavar="TOML", help="find the status file through this config's [agent] runtime_dir"
    )
    where.add_argument(
        "--runtime-dir",
        type=Path,
        metavar="DIR",
        help="the folder of status.json (default: $RUNTIME_DIRECTORY, else /run/edge-anomaly)",
    )


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
