"""The agent's TOML config, read with tomllib into typed, validated dataclasses.

Sections: ``[agent]`` (directories, intervals, logging), ``[model]`` (or several ``[[models]]``, each
named, which sources pick with ``model = "NAME"``), ``[detector]`` (decisions, faults, adaptation), and
arrays of ``[[sources]]`` and ``[[sinks]]`` whose ``type`` picks the plugin. Every unknown key or type is
an error listing what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from edge.config_sections import AgentSection, DetectorSection, MetricsSection, ModelSection, RecorderSection
from edge.config_types import Problems, build_section
from edge.errors import ConfigError
from edge.files import config_relative
from edge.plugins import SINK_TYPES, SOURCE_TYPES, PluginSpec, load_spec, read_sample

__all__ = [
    "AgentConfig",
    "AgentSection",
    "DetectorSection",
    "MetricsSection",
    "ModelSection",
    "RecorderSection",
    "load_config",
    "minimal_config",
    "parse_config",
    "sample_config",
]

SECTIONS = ("agent", "model", "models", "detector", "sources", "sinks", "recorder", "metrics")


@dataclass(frozen=True)
class AgentConfig:
    """A whole, validated config file."""

    source_file: Path | None
    agent: AgentSection
    models: tuple[ModelSection, ...]
    detector: DetectorSection
    sources: tuple[PluginSpec, ...]
    sinks: tuple[PluginSpec, ...]
    recorder: RecorderSection = RecorderSection()
    metrics: MetricsSection = MetricsSection()

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config are relative to the config file's folder."""
        return self.source_file.parent if self.source_file else Path.cwd()

    @property
    def model(self) -> ModelSection:
        """The one model of a config that has one (``[model]``, or a single ``[[models]]`` table)."""
        if len(self.models) != 1:
            raise ConfigError(f"the config has {len(self.models)} models ({self.model_names()}); name one")
        return self.models[0]

    def model_names(self) -> str:
        """The models' names, for messages."""
        return ", ".join(m.name for m in self.models)

    def model_of(self, source: PluginSpec) -> ModelSection:
        """The model a source's sensor is scored with: its ``model`` key, or the only model."""
        wanted = source.config.model
        if wanted is None:
            return self.model
        for section in self.models:
            if section.name == wanted:
                return section
        raise ConfigError(f"no model named {wanted!r}; models: {self.model_names()}")

    def model_for_sensor(self, sensor: str) -> ModelSection | None:
        """The model of the source with this sensor name, if the config has that source."""
        for spec in self.sources:
            if spec.config.sensor == sensor:
                return self.model_of(spec)
        return self.models[0] if len(self.models) == 1 else None


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


def _models(data: dict[str, Any], base: Path, problems: Problems) -> tuple[ModelSection, ...]:
    """``[model]`` or ``[[models]]``, paths made absolute (relative to the config's folder), names unique."""
    if "model" in data and "models" in data:
        problems.add("the config has both [model] and [[models]]; use [model] for one model, [[models]] for several")
        return ()
    if "models" in data:
        tables = data["models"]
        if not isinstance(tables, list) or not tables:
            problems.add('models must be an array of tables, written [[models]], each with name = "..." and path')
            return ()
        wheres = [f"[[models]] #{i + 1}" for i in range(len(tables))]
        for table, where in zip(tables, wheres):
            if isinstance(table, dict) and "name" not in table:
                problems.add(f"{where}: missing 'name'; give each model a name its sources refer to (model = \"NAME\")")
    elif "model" in data:
        tables, wheres = [data["model"]], ["[model]"]
    else:
        problems.add('missing [model] section; it needs path = "/path/to/model.onnx"')
        return ()
    built = [problems.attempt(partial(build_section, ModelSection, t, w)) for t, w in zip(tables, wheres)]
    models = tuple(replace(m, path=config_relative(m.path, base)) for m in built if m is not None)
    names = [m.name for m in models]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.add(f"model name {repeated[0]!r} is used by more than one [[models]] table; give each a unique name")
    return models if len(models) == len(tables) else ()


def _check_models(config: AgentConfig, problems: Problems) -> None:
    """Each source names a model the config has (it must when there are several)."""
    for number, spec in enumerate(config.sources, 1):
        where = f"[[sources]] #{number} ({spec.type}, sensor {spec.config.sensor!r})"
        if spec.config.model is None and len(config.models) > 1:
            problems.add(f'{where}: which model scores it? add model = "NAME"; models: {config.model_names()}')
        elif spec.config.model is not None:
            try:
                config.model_of(spec)
            except ConfigError as exc:
                problems.add(f"{where}: {exc}")


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
    for name in config.recorder.sensors or []:
        if config.sources and name not in sensors:
            problems.add(f"[recorder] sensors: no source has sensor = {name!r}; sensors: {', '.join(sensors)}")
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
    if for_replay and "models" not in data:
        data = {**data, "model": {"path": "replay.onnx", **data.get("model", {})}}
    base = source_file.parent if source_file else Path.cwd()
    models = _models(data, base, problems)
    agent = problems.attempt(lambda: build_section(AgentSection, data.get("agent", {}), "[agent]"))
    if agent is not None:
        state_dir, runtime_dir = agent.state_dir, agent.runtime_dir
        agent = replace(
            agent,
            state_dir=None if state_dir is None else config_relative(state_dir, base),
            runtime_dir=None if runtime_dir is None else config_relative(runtime_dir, base),
        )
    detector = problems.attempt(lambda: build_section(DetectorSection, data.get("detector", {}), "[detector]"))
    recorder = problems.attempt(lambda: build_section(RecorderSection, data.get("recorder", {}), "[recorder]"))
    if recorder is not None and recorder.folder is not None:
        recorder = replace(recorder, folder=config_relative(recorder.folder, base))
    metrics = problems.attempt(lambda: build_section(MetricsSection, data.get("metrics", {}), "[metrics]"))
    if metrics is not None and metrics.textfile is not None:
        metrics = replace(metrics, textfile=config_relative(metrics.textfile, base))
    sources = _plugins(data, "sources", SOURCE_TYPES, "source", problems)
    sinks = _plugins(data, "sinks", SINK_TYPES, "sink", problems)
    if not data.get("sources") and not for_replay:
        problems.add(f'no [[sources]]; add one, for example type = "replay" (types: {", ".join(SOURCE_TYPES)})')
    if agent is None or not models or detector is None or recorder is None or metrics is None:
        problems.raise_any()  # each section that did not build recorded its problem
        raise ConfigError("the config is incomplete")
    config = AgentConfig(
        source_file=source_file,
        agent=agent,
        models=models,
        detector=detector,
        sources=sources,
        sinks=sinks,
        recorder=recorder,
        metrics=metrics,
    )
    _check_models(config, problems)
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
    from importlib import resources  # here, not at the top: the running service never needs it (memory)

    return resources.files("edge").joinpath("minimal.toml").read_text(encoding="utf-8")


def sample_config() -> str:
    """A commented example of every section and every plugin; it parses as it is."""
    import importlib

    parts = [read_sample("edge")]
    for registry in (SOURCE_TYPES, SINK_TYPES):
        for module_name in registry.values():
            parts.append(importlib.import_module(module_name).SAMPLE)
    return "\n".join(parts)
