"""Sources and sinks are plugins chosen by the ``type`` key of their config table.

A plugin is a package folder (``edge/sinks/mqtt/``) whose ``__init__`` defines ``Config`` (a dataclass of its
keys), ``SAMPLE`` (its ``sample.toml``: a commented TOML example that builds) and ``PLUGIN`` (the class, built by
``PLUGIN(config, context)``); a short README.md beside it says what it is for.
Modules are imported only when their type is used, so a gateway without smbus2 or gpiod
can still run the plugins it has.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from edge.config_types import build_section
from edge.errors import ConfigError
from edge.files import config_relative
from edge.hardware import Hardware, RealHardware
from edge.sinks.delivery import DELIVERY_KEYS, DeliverySettings

SOURCE_TYPES = {
    "i2c": "edge.sources.i2c",
    "modbus": "edge.sources.modbus",
    "mqtt": "edge.sources.mqtt",
    "replay": "edge.sources.replay",
    "serial": "edge.sources.serial",
}
SINK_TYPES = {"gpio": "edge.sinks.gpio", "log": "edge.sinks.log", "mqtt": "edge.sinks.mqtt"}


@dataclass(frozen=True)
class PluginContext:
    """What every plugin may need to know about the agent and the model it serves."""

    channels: tuple[str, ...]
    sample_period_s: float
    model_sha256: str
    state_dir: Path
    base_dir: Path
    gateway_id: str = "gateway"
    #: built for ``edge-agent check``: probe only, beside a service that may be running (a temporary state
    #: folder; an MQTT sink connects under its own client id and publishes nothing)
    checking: bool = False
    #: where alert feedback (acks, labels) is stored: the recordings folder, ``[recorder] folder``'s default too
    feedback_dir: Path | None = None
    #: what serial ports, I²C buses, GPIO chips and the clock are opened through (the machine's, or a fake)
    hardware: Hardware = field(default_factory=RealHardware)

    def resolve(self, path: Path) -> Path:
        """A config path: relative ones are relative to the config file's folder."""
        return config_relative(path, self.base_dir)


@dataclass(frozen=True)
class PluginSpec:
    """A plugin's module and its validated config."""

    type: str
    module: ModuleType
    config: Any
    delivery: DeliverySettings | None = None

    def build(self, context: PluginContext) -> Any:
        """A new, unopened instance."""
        return self.module.PLUGIN(self.config, context)


def read_sample(package: str) -> str:
    """A plugin's ``sample.toml``, the file beside its module (one text for sample-config and the docs).

    Read from beside the package's ``__file__`` (every plugin reads it at import, so this path must not load
    ``importlib.resources`` and the zipfile and tempfile machinery it brings: 1.5 MiB of the service's memory);
    ``importlib.resources`` only for a package that is not a folder of files."""
    module = sys.modules.get(package) or importlib.import_module(package)
    if module.__file__:
        return (Path(module.__file__).parent / "sample.toml").read_text(encoding="utf-8")
    from importlib import resources  # a package without files (a zip import): rare, and worth its cost then

    return resources.files(package).joinpath("sample.toml").read_text(encoding="utf-8")


def plugin_module(registry: dict[str, str], kind: str, type_name: str) -> ModuleType:
    """Import the module registered for ``type_name``."""
    if type_name not in registry:
        raise ConfigError(f"unknown {kind} type {type_name!r}; allowed types: {', '.join(sorted(registry))}")
    return importlib.import_module(registry[type_name])


def load_spec(registry: dict[str, str], kind: str, table: Any, where: str) -> PluginSpec:
    """Check one ``[[sources]]`` or ``[[sinks]]`` table and build its config."""
    if not isinstance(table, dict) or "type" not in table:
        raise ConfigError(f"{where} needs a type; allowed types: {', '.join(sorted(registry))}")
    type_name = table["type"]
    try:
        module = plugin_module(registry, kind, type_name)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    where = f"{where} ({type_name})"
    if kind != "sink":
        return PluginSpec(type_name, module, build_section(module.Config, table, where, ("type",)))
    delivery = build_section(DeliverySettings, {k: v for k, v in table.items() if k in DELIVERY_KEYS}, where)
    return PluginSpec(type_name, module, build_section(module.Config, table, where, ("type", *DELIVERY_KEYS)), delivery)
