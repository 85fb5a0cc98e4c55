"""Building a :class:`~edge.pipeline.Pipeline` from a config: its models, a detector per source, the plugins.

Everything that can fail is done here, before anything is opened (model files verified, each source's
channels and units checked against its model, plugins constructed), so a reload can build a new pipeline
and swap to it only if it is sound.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from edge.config import AgentConfig
from edge.core.detector import Detector
from edge.errors import ConfigError
from edge.hardware import Hardware, RealHardware
from edge.model.loader import LoadedModel, load_model
from edge.pipeline import Pipeline
from edge.plugins import PluginContext, PluginSpec
from edge.running import RunningSink
from edge.sources.base import Source


def check_channels(configured: list[str] | None, model: LoadedModel, sensor: str, name: str = "") -> None:
    """A source's ``channels`` must be the model's, in order."""
    wanted = list(model.metadata.channels)
    if configured is not None and list(configured) != wanted:
        raise ConfigError(
            f"source {sensor!r} has channels {configured} ({len(configured)}) but model "
            f"{f'{name!r} ' if name else ''}{model.path} has {wanted} ({len(wanted)}); list the model's channels "
            "in order, point the source at the model exported for these, or export one"
        )


def check_units(configured: list[str] | None, model: LoadedModel, sensor: str) -> None:
    """A source's ``units`` give one unit per model channel."""
    channels = model.metadata.channels
    if configured is not None and len(configured) != len(channels):
        raise ConfigError(
            f"source {sensor!r} has units {configured} ({len(configured)}) for the model's {len(channels)} "
            f'channels {list(channels)}; give one unit per channel, in order ("" for none)'
        )


def _where(config: AgentConfig) -> str:
    return f"config {config.source_file}: " if config.source_file else ""


def load_models(config: AgentConfig) -> dict[str, LoadedModel]:
    """Every model of ``config``, each file verified (a ``ModelError`` names the first that is not sound)."""
    return {section.name: load_model(section.path) for section in config.models}


def check_detector_section(config: AgentConfig, models: Mapping[str, LoadedModel]) -> None:
    """``[detector]`` resolved against each model (a ``ConfigError`` naming the file otherwise)."""
    for section in config.models:
        model = models[section.name]
        try:
            config.detector.resolve(model.metadata, section.threshold)
        except ValueError as exc:
            named = f" (model {section.name!r})" if len(config.models) > 1 else ""
            raise ConfigError(
                f"{_where(config)}[detector]{named}: {exc} (the model's threshold is {model.metadata.threshold:.3f})"
            ) from exc


def plugin_context(config: AgentConfig, model: LoadedModel | None, hardware: Hardware | None = None) -> PluginContext:
    """What the plugins of ``config`` are built with: a source with its sensor's model, a sink with None (a sink
    serves every model; its context has no channels). On the machine's own hardware unless given another."""
    return PluginContext(
        hardware=hardware or RealHardware(),
        channels=model.metadata.channels if model else (),
        sample_period_s=model.metadata.sample_period_s if model else 0.0,
        model_sha256=model.weights_sha256 if model else "",
        state_dir=config.agent.state_path(),
        base_dir=config.base_dir,
        gateway_id=config.agent.gateway_id or os.uname().nodename,
        feedback_dir=config.recorder.folder_path(config.agent),
    )


def build_detector(config: AgentConfig, model: LoadedModel, spec: PluginSpec) -> Detector:
    """The detector of one source's sensor, with its per-sensor settings, scored with ``model``."""
    sensor, section = spec.config.sensor, config.model_of(spec)
    check_channels(spec.config.channels, model, sensor, section.name if len(config.models) > 1 else "")
    check_units(spec.config.units, model, sensor)
    detector_section, threshold = config.detector.for_sensor(sensor)
    try:
        settings = detector_section.resolve(model.metadata, section.threshold if threshold is None else threshold)
    except ValueError as exc:
        raise ConfigError(f"{_where(config)}[detector.sensors.{sensor}]: {exc}") from exc
    detector = Detector(sensor, model, settings, section.name)
    if spec.config.units is not None:
        detector.units = tuple(spec.config.units)
    return detector


def build_pipeline(
    config: AgentConfig, models: Mapping[str, LoadedModel] | None = None, hardware: Hardware | None = None
) -> Pipeline:
    """Load the models (unless given) and build every stage; nothing is opened yet."""
    loaded = dict(models) if models is not None else load_models(config)
    check_detector_section(config, loaded)
    hardware = hardware or RealHardware()
    detectors: dict[str, Detector] = {}
    model_of: dict[str, str] = {}
    sources: list[Source] = []
    for spec in config.sources:
        name = config.model_of(spec).name
        model = loaded[name]
        detectors[spec.config.sensor] = build_detector(config, model, spec)
        model_of[spec.config.sensor] = name
        sources.append(spec.build(plugin_context(config, model, hardware)))
    context = plugin_context(config, None, hardware)
    sinks = [RunningSink(spec.build(context), spec.delivery) for spec in config.sinks]
    fixed = frozenset(spec.config.sensor for spec in config.sources if spec.config.units is not None)
    return Pipeline(config, loaded, model_of, detectors, sources, sinks, fixed_units=fixed)
