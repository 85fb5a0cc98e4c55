"""The agent's TOML config, read with tomllib into typed, validated dataclasses.

Sections: ``[agent]`` (directories, intervals, logging), ``[model]``, ``[detector]``
(decisions, faults, adaptation), and arrays of ``[[sources]]`` and ``[[sinks]]`` whose
``type`` picks the plugin. Every unknown key or type is an error listing what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from edge.config_types import Problems, build_section
from edge.core.condition import ConditionSettings
from edge.core.decision import DecisionSettings
from edge.core.faults import FaultSettings
from edge.core.scorers.calibrated import AdaptationSettings
from edge.core.scorers.likelihood import LikelihoodSettings
from edge.core.scorers.tails import TAILS
from edge.core.settings import DetectorSettings
from edge.errors import ConfigError
from edge.files import runtime_path_default, state_path_default
from edge.model.metadata import ModelMetadata
from edge.plugins import SINK_TYPES, SOURCE_TYPES, PluginSpec, load_spec

SECTIONS = ("agent", "model", "detector", "sources", "sinks")


@dataclass(frozen=True)
class AgentSection:
    """``[agent]``: where state lives and how often things happen."""

    gateway_id: str | None = None
    state_dir: Path | None = None
    runtime_dir: Path | None = None
    status_interval_s: float = 5.0
    checkpoint_interval_s: float = 60.0
    counters_log_interval_s: float = 3600.0
    log_target: Literal["auto", "journal", "stderr"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_block_delay_ms: float = 5.0  # how long a reading may wait for others to be scored with it in one block

    def __post_init__(self) -> None:
        for name in ("status_interval_s", "checkpoint_interval_s", "counters_log_interval_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be above 0 seconds")
        if not 0 <= self.max_block_delay_ms <= 1000:
            raise ValueError(
                f"max_block_delay_ms {self.max_block_delay_ms} must be from 0 (score what has "
                "arrived, wait for nothing) to 1000"
            )

    def state_path(self) -> Path:
        """``state_dir``, else systemd's ``$STATE_DIRECTORY``, else /var/lib/edge-anomaly."""
        return self.state_dir or state_path_default()

    def runtime_path(self) -> Path:
        """``runtime_dir``, else systemd's ``$RUNTIME_DIRECTORY``, else /run/edge-anomaly."""
        return self.runtime_dir or runtime_path_default()


@dataclass(frozen=True)
class ModelSection:
    """``[model]``: the file and an optional threshold override."""

    path: Path
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold} must be in (0, 1]")


@dataclass(frozen=True)
class DetectorSection:
    """``[detector]``: debounce, hysteresis, cooldown, fault rules and online adaptation."""

    warmup: int | None = None
    debounce_k: int = 1
    debounce_n: int = 1
    clear_level: float | None = None
    clear_samples: int = 3
    cooldown_s: float = 0.0
    stale_after_s: float | None = None
    max_gap_periods: float = 6.0
    flatline_samples: int = 60
    adapt: bool = True
    adapt_half_life_samples: float = 2000.0
    adapt_max_drift: float = 4.0
    scoring: Literal["calibrated", "likelihood"] = "likelihood"
    likelihood_window: int = 10
    likelihood_half_life_samples: float = 1000.0
    likelihood_tail: Literal["student3", "gaussian"] = "student3"
    novelty_half_life_samples: float = 1000.0
    seasonal_lag_s: float = 86400.0
    seasonal_max_samples: int = 20000
    spatial_margin: float = 0.2
    hold_sd: float = 1.5
    reference_half_life_samples: float = 10000.0
    regime_sd: float = 6.0
    accept_after_s: float = 604800.0
    channel_thresholds: dict[str, float] = field(default_factory=dict)
    sensors: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-sensor overrides of any key above

    def __post_init__(self) -> None:
        if not 1 <= self.debounce_k <= self.debounce_n:
            raise ValueError(
                f"debounce needs 1 <= k <= n, got debounce_k = {self.debounce_k}, debounce_n = {self.debounce_n}"
            )
        checks = [
            ("warmup", self.warmup is None or self.warmup >= 1, "at least 1"),
            ("clear_samples", self.clear_samples >= 1, "at least 1"),
            ("cooldown_s", self.cooldown_s >= 0, "0 or more"),
            ("stale_after_s", self.stale_after_s is None or self.stale_after_s > 0, "above 0"),
            ("max_gap_periods", self.max_gap_periods > 1, "above 1"),
            ("flatline_samples", self.flatline_samples >= 0, "0 (off) or more"),
            ("adapt_half_life_samples", self.adapt_half_life_samples > 0, "above 0"),
            ("adapt_max_drift", self.adapt_max_drift >= 1, "at least 1"),
            ("likelihood_window", self.likelihood_window >= 1, "at least 1"),
            ("likelihood_half_life_samples", self.likelihood_half_life_samples > 0, "above 0"),
            ("likelihood_tail", self.likelihood_tail in TAILS, f"one of {', '.join(TAILS)}"),
            ("novelty_half_life_samples", self.novelty_half_life_samples >= 0, "0 (off) or more"),
            ("hold_sd", self.hold_sd >= 0, "0 (off) or more"),
            ("reference_half_life_samples", self.reference_half_life_samples > 0, "above 0"),
            ("regime_sd", self.regime_sd >= 0, "0 (off) or more"),
            ("accept_after_s", self.accept_after_s >= 0, "0 (never) or more"),
            ("seasonal_lag_s", self.seasonal_lag_s >= 0, "0 (off) or more"),
            ("seasonal_max_samples", self.seasonal_max_samples >= 0, "0 or more"),
            ("spatial_margin", self.spatial_margin >= 0, "0 (off) or more"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"{name} = {getattr(self, name)} must be {rule}")
        for channel, value in self.channel_thresholds.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValueError(f"channel_thresholds.{channel} = {value!r} must be a number in (0, 1]")

    def for_sensor(self, sensor: str) -> tuple[DetectorSection, float | None]:
        """This section with ``[detector.sensors.<sensor>]`` applied, and that table's ``threshold`` if set."""
        override = dict(self.sensors.get(sensor, {}))
        threshold = override.pop("threshold", None)
        if not override:
            return self, threshold
        where = f"[detector.sensors.{sensor}]"
        checked = build_section(DetectorSection, override, where)  # keys and types, as [detector]'s
        try:
            return replace(self, sensors={}, **{key: getattr(checked, key) for key in override}), threshold
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    def season_lag(self, period_s: float) -> int:
        """Samples in one season at this sample period (rounded); 0 when off or too many to keep."""
        lag = round(self.seasonal_lag_s / period_s) if self.seasonal_lag_s > 0 and period_s > 0 else 0
        return lag if 2 <= lag <= self.seasonal_max_samples else 0

    def resolve(self, meta: ModelMetadata, threshold: float | None) -> DetectorSettings:
        """Settings for one sensor of this model (defaults come from the model)."""
        if threshold is None:  # both scorers state rarity on one scale: the model's threshold means the same
            threshold = meta.threshold
        warmup = meta.warmup if self.warmup is None else self.warmup
        if warmup < 1:
            raise ValueError(f"warmup {warmup} must be at least 1 reading")
        period = meta.sample_period_s
        decision = DecisionSettings(
            threshold=threshold,
            k=self.debounce_k,
            n=self.debounce_n,
            clear_level=0.8 * threshold if self.clear_level is None else self.clear_level,
            clear_samples=self.clear_samples,
            cooldown_s=self.cooldown_s,
            accept_after_s=self.accept_after_s,
        )
        stale = max(10 * period, 30.0) if self.stale_after_s is None else self.stale_after_s
        faults = FaultSettings(
            sample_period_s=period,
            max_gap_periods=self.max_gap_periods,
            stale_after_s=stale,
            flatline_samples=self.flatline_samples,
        )
        adaptation = AdaptationSettings(self.adapt, self.adapt_half_life_samples, self.adapt_max_drift)
        likelihood = LikelihoodSettings(
            self.likelihood_window,
            self.likelihood_half_life_samples,
            season_lag=self.season_lag(period),
            spatial_margin=self.spatial_margin,
            novelty_half_life_samples=self.novelty_half_life_samples,
            tail=self.likelihood_tail,
        )
        condition = ConditionSettings(
            window=self.likelihood_window,
            hold_sd=self.hold_sd,
            reference_half_life_samples=self.reference_half_life_samples,
            regime_sd=self.regime_sd,
        )
        unknown = [c for c in self.channel_thresholds if c not in meta.channels]
        if unknown:
            raise ValueError(
                f"channel_thresholds names {unknown[0]!r}, which the model does not have; its channels: "
                f"{', '.join(meta.channels)}"
            )
        channel_thresholds = tuple(self.channel_thresholds.get(c) for c in meta.channels)
        return DetectorSettings(
            warmup=warmup,
            decision=decision,
            faults=faults,
            adaptation=adaptation,
            scoring=self.scoring,
            likelihood=likelihood,
            condition=condition,
            channel_thresholds=channel_thresholds if any(channel_thresholds) else (),
        )


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
        agent = replace(
            agent,
            **{
                name: base / getattr(agent, name)
                for name in ("state_dir", "runtime_dir")
                if getattr(agent, name) is not None and not getattr(agent, name).is_absolute()
            },
        )
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


SAMPLE_HEAD = """\
# edge-agent configuration (TOML). Relative paths are relative to this file's folder.

[agent]
# gateway_id = "gw-17"          # default: the host name
# state_dir = "/var/lib/edge-anomaly"   # checkpoints; default $STATE_DIRECTORY (systemd) or this
# runtime_dir = "/run/edge-anomaly"     # status.json for `edge-agent status`; default $RUNTIME_DIRECTORY or this
status_interval_s = 5.0         # how often status.json and systemd's STATUS= are refreshed
checkpoint_interval_s = 60.0    # how often detector state is saved (and always at stop)
counters_log_interval_s = 3600.0  # how often counters are logged
log_target = "auto"             # auto: journald when systemd connected stderr to it; or "journal", "stderr"
log_level = "info"              # debug, info, warning, error
max_block_delay_ms = 5.0        # a reading waits at most this long for others to be scored with it in one
                                # LSTM call (results are the same as one at a time); 0: score what has arrived

[model]
path = "/etc/edge-anomaly/model.onnx"   # written by edge-export; verified at every start and reload
# threshold = 0.3               # override the model's alert threshold (its --false-alarms-per-day; a level in [0, 1])

[detector]
# warmup = 32                   # readings that only feed the model after a start or a break (default: the model's)
debounce_k = 1                  # raise an alert when k of the last n scores reach the threshold
debounce_n = 1
# clear_level = 0.2             # hysteresis: clear below this level (default: 0.8 x threshold)
clear_samples = 3               # ... for this many readings in a row
cooldown_s = 0.0                # no new alert on a sensor for this long after one clears
# stale_after_s = 60.0          # a sensor silent this long is a fault (default: 10 sample periods, at least 30 s)
max_gap_periods = 6.0           # a gap up to this many periods (or lost frames, or readings with a missing value)
                                # is bridged with the model's own forecasts; a longer one re-warms
flatline_samples = 60           # this many identical readings in a row is a stuck sensor (0: off)
adapt = true                    # follow the recent error scale, learning only from non-anomalous samples
adapt_half_life_samples = 2000.0
adapt_max_drift = 4.0           # the scale stays within this factor of the calibrated one
scoring = "likelihood"          # rarity of the recent mean error under its learned distribution; or "calibrated"
likelihood_window = 10          # readings in that recent mean (and in the condition's short mean)
likelihood_half_life_samples = 1000.0  # how fast the learned distribution follows the data
likelihood_tail = "student3"    # rarity's tail: Student's t, 3 degrees of freedom (heavy, like sensors); or "gaussian"
novelty_half_life_samples = 1000.0  # anomaly_score: only rarity the recent past did not show; 0: the level itself
seasonal_lag_s = 86400.0        # likelihood also compares each reading with one season (a day) before; 0: off
seasonal_max_samples = 20000    # ... unless a season is more readings than this (memory: 8 bytes each per channel)
spatial_margin = 0.2            # likelihood: a reading beyond the range seen so far by this share of it is rare; 0: off
# channel_thresholds = { vibration = 0.4 }  # a channel's own threshold (the others keep the sensor's)
hold_sd = 1.5                   # an open alert holds while the recent readings sit this many sd (RMS over channels)
                                # from the normal it was raised from; 0: it clears on the score alone
reference_half_life_samples = 10000.0  # how slowly that normal follows the readings (only while no alert is open)
regime_sd = 6.0                 # warn once when readings sit this many training sd away (another operating point)
accept_after_s = 604800.0       # an alert open this long is closed, its condition accepted as the new normal (logged)

# [detector.sensors.pump-1]     # per-sensor overrides of any [detector] key, and its own threshold
# threshold = 0.4
# hold_sd = 2.0
"""


def sample_config() -> str:
    """A commented example of every section and every plugin; it parses as it is."""
    import importlib

    parts = [SAMPLE_HEAD]
    for registry in (SOURCE_TYPES, SINK_TYPES):
        for module_name in registry.values():
            parts.append(importlib.import_module(module_name).SAMPLE)
    return "\n".join(parts)
