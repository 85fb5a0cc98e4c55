"""What each ``edge-agent`` subcommand does, given its parsed arguments; :mod:`edge.cli` builds the parser.

Heavy imports (onnxruntime, the service) happen inside the command that needs them, so ``status`` and
``sample-config`` stay light.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from edge.errors import ConfigError, EdgeError
from edge.files import config_relative


def inspect_model(args: argparse.Namespace) -> int:
    """``inspect``: verify a model file and print its metadata."""
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


def replay_csv(args: argparse.Namespace) -> int:
    """``replay``: run a CSV through the pipeline; write the scores (and a plot)."""
    from edge.config import load_config
    from edge.replay_file import DEFAULT_BLOCK, replay
    from edge.service.logs import setup_logging

    setup_logging("stderr", "warning" if args.quiet else "info")
    config = load_config(args.config, for_replay=True) if args.config else None
    if args.threshold is not None or args.scoring is not None:
        from dataclasses import replace as replaced

        from edge.config import AgentConfig, AgentSection, DetectorSection, ModelSection

        if config is None:
            config = AgentConfig(None, AgentSection(), (ModelSection(path=args.model),), DetectorSection(), (), ())
        if args.threshold is not None:  # the threshold of every model: replay scores with one
            config = replaced(config, models=tuple(replaced(m, threshold=args.threshold) for m in config.models))
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
        units=None if args.units is None else [u.strip() for u in args.units.split(",")],
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


def run_service(args: argparse.Namespace) -> int:
    """``run``: the long-running service."""
    from edge.config import load_config
    from edge.service.agent import Service
    from edge.service.logs import setup_logging

    config = load_config(args.config)
    setup_logging(config.agent.log_target, "debug" if args.debug else config.agent.log_level)
    hardware = None
    if args.fake_hardware:
        from edge.hardware.fake import FakeHardware

        hardware = FakeHardware.raspberry_pi()
    service = Service(args.config, config=config, max_readings=args.max_readings, hardware=hardware)
    service.install_signal_handlers()
    return service.run()


def check_config(args: argparse.Namespace) -> int:
    """``check``: validate config, model and plugins; a ``ConfigError`` names what failed."""
    from edge.check import run_check

    logging.basicConfig(level=logging.ERROR, format="%(message)s")  # a plugin's warnings repeat its FAIL line
    problems = run_check(args.config)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems found; each FAIL line above says what to fix")
    print("no problems found")
    return 0


def print_network_policy(args: argparse.Namespace) -> int:
    """``network-policy``: print or write the systemd drop-in for the addresses the plugins use."""
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


def print_sample_config(args: argparse.Namespace) -> int:
    """``sample-config``: print the commented sample of every section and plugin, or ``--minimal``'s."""
    from edge.config import minimal_config, sample_config

    print(minimal_config() if args.minimal else sample_config(), end="")
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
    return config_relative(folder, config.resolve().parent)


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


def show_status(args: argparse.Namespace) -> int:
    """``status``: print the running agent's status file."""
    from edge.service.status import format_status

    summary = _read_status(args)[1]
    if not args.json:
        from edge.feedback_commands import annotate_alerts

        annotate_alerts(summary)
    print(json.dumps(summary, indent=1) if args.json else format_status(summary))
    return 0


def reload_agent(args: argparse.Namespace) -> int:
    """``reload``: SIGHUP the agent and wait for its verdict in the status file (systemd's ExecReload= uses this)."""
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
