"""``edge-agent check``: everything that can be tried without running, every problem listed, not just the first.

Config (all its problems at once), the model file, each sensor's detector settings, each source and sink
opened and probed, the state and runtime folders, and the network policy the unit runs under. Each thing
gets one line (``ok`` or ``FAIL`` with the fix); the caller gets the list of problems.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from edge.assembly import build_detector, check_detector_section, plugin_context
from edge.config import AgentConfig, load_config
from edge.errors import EdgeError
from edge.service.network_policy import UNIT, allowances, config_peers, unit_policy

PROBE_TIMEOUT_S = 3.0
Say = Callable[[str], None]


def run_check(
    config_file: Path, say: Say = print, *, unit: Path = UNIT, probe_timeout_s: float = PROBE_TIMEOUT_S
) -> list[str]:
    """Check ``config_file`` and what it names; print a line per thing with ``say``; return the problems."""
    problems: list[str] = []
    try:
        config = load_config(config_file)
    except EdgeError as exc:
        say(f"FAIL  {exc}")
        return [str(exc)]
    say(f"ok    config {config_file}: valid")
    _check_model_and_plugins(config, say, problems, probe_timeout_s)
    for folder, what in ((config.agent.state_path(), "state_dir"), (config.agent.runtime_path(), "runtime_dir")):
        say(f"ok    {what} {folder}: {'exists' if folder.is_dir() else 'will be created'}")
    problems += check_network(config, config_file, say, unit)
    return problems


def _fail(say: Say, problems: list[str], text: str) -> None:
    say(f"FAIL  {text}")
    problems.append(text)


def _check_model_and_plugins(config: AgentConfig, say: Say, problems: list[str], timeout_s: float) -> None:
    from edge.model.loader import LoadedModel, load_model

    models: dict[str, LoadedModel] = {}
    for section in config.models:
        named = f" ({section.name})" if len(config.models) > 1 else ""
        try:
            model = models[section.name] = load_model(section.path)
        except EdgeError as exc:
            _fail(say, problems, str(exc))
            continue
        meta = model.metadata
        say(
            f"ok    model{named} {model.path}: verified ({meta.precision}, weights {model.weights_sha256[:12]}), "
            f"channels {', '.join(meta.channels)}, sample period {meta.sample_period_s:g} s"
        )
    if len(models) == len(config.models):
        try:
            check_detector_section(config, models)
        except EdgeError as exc:
            _fail(say, problems, str(exc))
    # a temporary state folder: check never touches the service's outbox (nor leaves root's files in it)
    scratch = tempfile.TemporaryDirectory(prefix="edge-agent-check-")
    try:
        for spec in config.sources:
            sensor, section = spec.config.sensor, config.model_of(spec)
            if section.name not in models:
                say(f"skip  sensor {sensor}: it is built for the channels of model {section.name}, which did not load")
                continue
            model = models[section.name]
            try:
                detector = build_detector(config, model, spec)
            except EdgeError as exc:
                _fail(say, problems, str(exc))
            else:
                d = detector.settings.decision
                say(
                    f"ok    sensor {sensor}: model {section.name}, threshold {d.threshold:.3f}, clear below "
                    f"{d.clear_at:.3f} after {d.clear_samples}, debounce {d.k} of {d.n}, cooldown {d.cooldown_s:g} s,"
                    f" warm-up {detector.settings.warmup}"
                )
            context = replace(plugin_context(config, model), state_dir=Path(scratch.name), checking=True)
            _probe(partial(spec.build, context), say, problems, timeout_s)
        context = replace(plugin_context(config, None), state_dir=Path(scratch.name), checking=True)
        for spec in config.sinks:
            _probe(partial(spec.build, context), say, problems, timeout_s)
    finally:
        scratch.cleanup()


def _probe(build: Callable[[], Any], say: Say, problems: list[str], timeout_s: float) -> None:
    """Build, open and probe one plugin; close it whatever happened."""
    try:
        plugin = build()
    except EdgeError as exc:
        _fail(say, problems, str(exc))
        return
    try:
        plugin.open()
        found = plugin.probe(timeout_s)
        say(f"ok    {plugin.describe()}: {found}")
    except (EdgeError, OSError) as exc:
        _fail(say, problems, f"{plugin.describe()}: {exc}")
    finally:
        plugin.close()


def check_network(config: AgentConfig, config_file: Path, say: Say, unit: Path = UNIT) -> list[str]:
    """The addresses the plugins need against the policy the unit and its drop-ins set."""
    problems: list[str] = []
    try:
        needed = allowances(config_peers(config))
    except EdgeError as exc:
        _fail(say, problems, f"network policy: {exc}")
        return problems
    if not needed:
        say("ok    network: no plugin connects beyond loopback, which the unit allows")
        return problems
    listed = ", ".join(a.address for a in needed)
    policy = unit_policy(unit)
    if policy is None:
        say(f"ok    network: the plugins connect to {listed} (no {unit} here, so no policy to check)")
        return problems
    fix = f"edge-agent network-policy --config {config_file} --write, then systemctl daemon-reload"
    for allowance in needed:
        if policy.refuses(allowance.address):
            _fail(
                say,
                problems,
                f"network: {unit} and its drop-ins do not allow {allowance.address} ({allowance.reason}); run {fix}",
            )
    if not problems:
        say(f"ok    network: {unit} and its drop-ins allow {listed}")
    return problems
