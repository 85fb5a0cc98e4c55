"""``edge-agent``: the gateway command (run, check, replay, status, reload, network-policy, sample-config,
inspect)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from edge.errors import ConfigError, EdgeError, ModelError
from edge.service.network_policy import DROP_IN

PROG = "edge-agent"
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h: the config or model is wrong; restarting will not help
log = logging.getLogger("edge.cli")


def _inspect(args: argparse.Namespace) -> int:
    from edge.model.loader import load_model  # here, not at the top: status and sample-config need no onnxruntime

    model = load_model(args.model)
    meta = model.metadata
    data = meta.training_data
    print(f"model {model.path}: verified (weights sha256 {model.weights_sha256})")
    print(f"  channels      {', '.join(meta.channels)}")
    print(f"  precision     {meta.precision}, opset {meta.opset}, LSTM {meta.layers}x{meta.hidden}")
    print(f"  sample period {meta.sample_period_s:g} s, warm-up {meta.warmup} samples")
    print(f"  threshold     {meta.threshold:.3f} ({meta.calibration.false_alarms_per_day:g} false alarms/day)")
    print(
        f"  trained on    {data.file} rows {data.train_rows[0]}-{data.train_rows[1] - 1} of {data.total_rows} "
        f"(sha256 {data.sha256[:12]}), {meta.created}"
    )
    print(
        f"  versions      edge-anomaly {meta.package_version}, torch {meta.torch_version}, "
        f"onnx {meta.onnx_version}, onnxruntime {meta.onnxruntime_version}"
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from edge.config import load_config
    from edge.replay_file import DEFAULT_BLOCK, replay
    from edge.service.logs import setup_logging

    setup_logging("stderr", "warning" if args.quiet else "info")
    config = load_config(args.config, for_replay=True) if args.config else None
    if args.threshold is not None or args.scoring is not None:
        from dataclasses import replace as replaced

        from edge.config import AgentConfig, AgentSection, DetectorSection, ModelSection

        if config is None:
            config = AgentConfig(None, AgentSection(), ModelSection(path=args.model), DetectorSection(), (), ())
        if args.threshold is not None:
            config = replaced(config, model=replaced(config.model, threshold=args.threshold))
        if args.scoring is not None:
            config = replaced(config, detector=replaced(config.detector, scoring=args.scoring))
    summary = replay(
        args.model,
        args.input,
        args.output,
        config=config,
        keep_trace=args.plot is not None,
        log_events=not args.quiet,
        sensor=args.sensor,
        block=DEFAULT_BLOCK if args.block is None else args.block,
    )
    if args.plot:
        from edge.plot import plot_replay

        plot_replay(summary, args.plot, args.input.name)
    if not args.quiet:
        rate = summary.rows / summary.seconds if summary.seconds else 0.0
        c = summary.counters
        print(
            f"replayed {summary.rows} rows of {args.input} in {summary.seconds:.2f} s ({rate:,.0f} rows/s): "
            f"{c.scored} scored, {c.warmup} warm-up, {c.unscored_faulty} faulty, {summary.dropped} dropped; "
            f"{c.alerts} alert(s) at threshold {summary.threshold:.3f}, {c.faults} sensor fault(s), "
            f"{c.bridged} value(s) bridged; wrote {args.output}" + (f" and {args.plot}" if args.plot else ""),
            file=sys.stderr,
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    from edge.config import load_config
    from edge.service.agent import Service
    from edge.service.logs import setup_logging

    config = load_config(args.config)
    setup_logging(config.agent.log_target, "debug" if args.debug else config.agent.log_level)
    service = Service(args.config, config=config, max_readings=args.max_readings)
    service.install_signal_handlers()
    return service.run()


def _check(args: argparse.Namespace) -> int:
    from edge.check import run_check

    logging.basicConfig(level=logging.ERROR, format="%(message)s")  # a plugin's warnings repeat its FAIL line
    problems = run_check(args.config)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems found; each FAIL line above says what to fix")
    print("no problems found")
    return 0


def _network_policy(args: argparse.Namespace) -> int:
    from edge.config import load_config
    from edge.files import write_text_atomic
    from edge.service.network_policy import allowances, config_peers, drop_in_text

    config = load_config(args.config)
    text = drop_in_text(args.config.resolve(), allowances(config_peers(config)))
    if args.write is None:
        print(text, end="")
        return 0
    write_text_atomic(args.write, text, mode=0o644, private_parent=False)
    print(f"wrote {args.write}; now: systemctl daemon-reload", file=sys.stderr)
    return 0


def _sample_config(args: argparse.Namespace) -> int:
    from edge.config import sample_config

    print(sample_config(), end="")
    return 0


def _runtime_dir_leniently(config: Path) -> Path:
    """``[agent] runtime_dir`` of a config that may not validate (else the default), to find a running agent."""
    import re
    import tomllib

    from edge.files import runtime_path_default

    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return runtime_path_default()
    try:
        value = tomllib.loads(text).get("agent", {}).get("runtime_dir")
    except (tomllib.TOMLDecodeError, AttributeError):  # not even TOML: the line itself, if it is there
        found = re.search(r'^\s*runtime_dir\s*=\s*"([^"]+)"', text, re.MULTILINE)
        value = found.group(1) if found else None
    if not isinstance(value, str):
        return runtime_path_default()
    folder = Path(value)
    return folder if folder.is_absolute() else config.resolve().parent / folder


def _read_status(args: argparse.Namespace) -> tuple[Path, dict]:
    from edge.files import runtime_path_default
    from edge.service.status import read_status

    if args.runtime_dir:
        folder = args.runtime_dir
    elif args.config and args.command == "reload":
        folder = _runtime_dir_leniently(args.config)  # a broken config is the agent's to refuse, and to report
    elif args.config:
        from edge.config import load_config

        folder = load_config(args.config).agent.runtime_path()
    else:
        folder = runtime_path_default()
    try:
        return folder, read_status(folder)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no status file in {folder}: is edge-agent running? (pass --config or --runtime-dir "
            "if it uses another runtime_dir)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"status file in {folder} cannot be read: {exc}") from exc


def _status(args: argparse.Namespace) -> int:
    from edge.service.status import format_status

    summary = _read_status(args)[1]
    print(json.dumps(summary, indent=1) if args.json else format_status(summary))
    return 0


def _reload(args: argparse.Namespace) -> int:
    """SIGHUP the agent and wait for its verdict in the status file (systemd's ExecReload= uses this)."""
    import os
    import signal
    import time

    folder, summary = _read_status(args)
    pid = args.pid or int(summary.get("pid") or 0)
    before = (summary.get("last_reload") or {}).get("count", 0)
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        raise EdgeError(f"cannot signal edge-agent (pid {pid}): {exc.strerror}") from exc
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            reload = _read_status(args)[1].get("last_reload") or {}
        except ConfigError:
            continue  # the file is being replaced
        if reload.get("count", 0) > before:
            if not reload["ok"]:
                raise EdgeError(f"reload failed, the previous configuration runs on: {reload['detail']}")
            print(f"reloaded: {reload['detail']}")
            return 0
    raise EdgeError(
        f"edge-agent (pid {pid}) did not report the reload within {args.timeout:g} s; see its log "
        f"(status file in {folder})"
    )


def _unit_threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog=PROG, description="edge-anomaly gateway runtime")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors; debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the service")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--max-readings", type=int, help="stop as on SIGTERM after this many readings (demos, tests)")
    run.set_defaults(run=_run)

    check = commands.add_parser("check", help="validate config, model and plugins, then exit")
    check.add_argument("--config", type=Path, required=True)
    check.set_defaults(run=_check)

    replay = commands.add_parser("replay", help="run a CSV through the pipeline as fast as it can")
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
    replay.set_defaults(run=_replay)

    status = commands.add_parser("status", help="print the running agent's state")
    where = status.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="find the status file through this config's runtime_dir")
    where.add_argument("--runtime-dir", type=Path)
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_status)

    reload = commands.add_parser("reload", help="make the running agent re-read config and model; wait for its verdict")
    where = reload.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="find the status file through this config's runtime_dir")
    where.add_argument(
        "--runtime-dir", type=Path, help="the folder of status.json (default $RUNTIME_DIRECTORY or /run/edge-anomaly)"
    )
    reload.add_argument("--pid", type=int, help="the agent's process (default: the pid in the status file)")
    reload.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the verdict")
    reload.set_defaults(run=_reload)

    policy = commands.add_parser(
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
    policy.set_defaults(run=_network_policy)

    sample = commands.add_parser("sample-config", help="print a commented example config of every plugin")
    sample.set_defaults(run=_sample_config)

    inspect = commands.add_parser("inspect", help="verify a model file and print its metadata")
    inspect.add_argument("model", type=Path)
    inspect.set_defaults(run=_inspect)
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
        if args.run is _run and isinstance(exc, (ConfigError, ModelError)):
            return EXIT_CONFIG
        return 2


if __name__ == "__main__":
    sys.exit(main())
