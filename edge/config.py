"""The agent's TOML config, read with tomllib into typed, validated dataclasses.

Sections: ``[agent]`` (directories, intervals, logging), ``[model]``, ``[detector]``
(decisions, faults, adaptation), and arrays of ``[[sources]]`` and ``[[sinks]]`` whose
``type`` picks the plugin. Every unknown key or type is an error listing what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from edge.config_sections import AgentSection, DetectorSection, ModelSection
from edge.config_types import Problems, build_section
from edge.errors import ConfigError
from edge.files import config_relative
from edge.plugins import SINK_TYPES, SOURCE_TYPES, PluginSpec, load_spec, read_sample

__all__ = [
    "AgentConfig",
    "AgentSection",
    "DetectorSection",
    "ModelSection",
    "load_config",
    "minimal_config",
    "parse_config",
    "sample_config",
]

SECTIONS = ("agent", "model", "detector", "sources", "sinks")


@dataclass(frozen=True)
class AgentConfig:
    """A whole, validated config file."""

    source_file: Path | None
    agent: AgentSection
    model: ModelSection
    detector: DetectorSection
    sources: tuple[PluginSpec, ...]
    sinks: tuple[PluginSpec, ...]

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config are relative to the config file's folder."""
        return self.source_file.parent if self.source_file else Path.cwd()


def _plugins(
    data: dict[str, Any], key: str, registry: dict[str, str], kind: str, problems: Problems
) -> tuple[PluginSpec, ...]:
    tables = data.get(key, [])
    if not isinstance(tables, list):
        problems.add(f"{key} must be an array of tables, written [[{key}]]")
        return ()
    specs = [
        problems.attempt(partial(load_spec, registry, kind, t, f"[[{key}]] #{i + 1}")) for i, t in enumerate(tables)
    ]
    return tuple(spec for spec in specs if spec is not None)


def _check_sensors(config: AgentConfig, problems: Problems) -> None:
    """Per-sensor tables name existing sensors; sensor names are unique."""
    sensors = [s.config.sensor for s in config.sources]
    for name, table in config.detector.sensors.items():
        where = f"[detector.sensors.{name}]"
        if not isinstance(table, dict):
            problems.add(f"{where} must be a table of [detector] keys")
            continue
        if "sensors" in table:
            problems.add(f"{where}: sensors cannot be nested")
            continue
        threshold = table.get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1
        ):
            problems.add(f"{where}: threshold = {threshold!r} must be a number in (0, 1]")
        problems.attempt(partial(config.detector.for_sensor, name))
        if config.sources and name not in sensors:
            problems.add(f"{where}: no source has sensor = {name!r}; sensors: {', '.join(sensors)}")
    repeated = sorted({s for s in sensors if sensors.count(s) > 1})
    if repeated:
        problems.add(f"sensor name {repeated[0]!r} is used by more than one source; give each a unique sensor")


def parse_config(data: dict[str, Any], source_file: Path | None = None, *, for_replay: bool = False) -> AgentConfig:
    """Validate a parsed TOML document; a ``ConfigError`` names every problem found, not just the first.

    ``for_replay``: replay takes its model and input from the command line, so ``[model] path`` and
    ``[[sources]]`` may be left out (the rest is checked as for the service).
    """
    problems = Problems()
    for unknown in (k for k in data if k not in SECTIONS):
        problems.add(f"unknown section {unknown!r}; allowed sections: {', '.join(SECTIONS)}")
    if for_replay:
        data = {**data, "model": {"path": "replay.onnx", **data.get("model", {})}}
    model = None
    if "model" not in data:
        problems.add('missing [model] section; it needs path = "/path/to/model.onnx"')
    else:
        model = problems.attempt(lambda: build_section(ModelSection, data["model"], "[model]"))
    base = source_file.parent if source_file else Path.cwd()
    agent = problems.attempt(lambda: build_section(AgentSection, data.get("agent", {}), "[agent]"))
    if agent is not None:
        state_dir, runtime_dir = agent.state_dir, agent.runtime_dir
        agent = replace(
            agent,
            state_dir=None if state_dir is None else config_relative(state_dir, base),
            runtime_dir=None if runtime_dir is None else config_relative(runtime_dir, base),
        )
    if model is not None:
        model = replace(model, path=config_relative(model.path, base))
    detector = problems.attempt(lambda: build_section(DetectorSection, data.get("detector", {}), "[detector]"))
    sources = _plugins(data, "sources", SOURCE_TYPES, "source", problems)
    sinks = _plugins(data, "sinks", SINK_TYPES, "sink", problems)
    if not data.get("sources") and not for_replay:
        problems.add(f'no [[sources]]; add one, for example type = "replay" (types: {", ".join(SOURCE_TYPES)})')
    if agent is None or model is None or detector is None:
        problems.raise_any()  # each section that did not build recorded its problem
        raise ConfigError("the config is incomplete")
    config = AgentConfig(
        source_file=source_file,
        agent=agent,
        model=model,
        detector=detector,
        sources=sources,
        sinks=sinks,
    )
    _check_sensors(config, problems)
    problems.raise_any()
    return config


def load_config(path: str | Path, *, for_replay: bool = False) -> AgentConfig:
    """Read and validate a config file; errors name the file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config {path} cannot be read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    try:
        return parse_config(data, path.resolve(), for_replay=for_replay)
    except ConfigError as exc:
        raise ConfigError(f"config {path}: {exc}") from None


def minimal_config() -> str:
    """The smallest first config that runs (``edge/minimal.toml``): the model, a replay source, the log sink."""
    return resources.files("edge").joinpath("minimal.toml").read_text(encoding="utf-8")


def sample_config() -> str:
    """A commented example of every section and every plugin; it parses as it is."""
    import importlib

    parts = [read_sample("edge")]
    for registry in (SOURCE_TYPES, SINK_TYPES):
        for module_name in registry.values():
            parts.append(importlib.import_module(module_name).SAMPLE)
    return "\n".join(parts)
