"""The ``[agent]``, ``[model]``, ``[detector]`` and ``[metrics]`` sections of the agent's config, typed and checked."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from edge.config_types import build_section
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
    max_block_delay_ms: float = 20.0  # how long a reading may wait for others to be scored with it in one block

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
class RecorderSection:
    """``[recorder]``: readings with their scores and states into rotating CSV files (off by default)."""

    enabled: bool = False
    folder: Path | None = None  # default: state_dir/recordings
    sensors: list[str] | None = None  # default: every sensor
    max_total_mb: float = 1000.0
    max_age_days: float = 30.0
    rotate_mb: float = 10.0
    rotate_s: float = 3600.0
    queue_readings: int = 100_000

    def __post_init__(self) -> None:
        checks = [
            ("max_total_mb", self.max_total_mb > 0, "above 0"),
            ("max_age_days", self.max_age_days >= 0, "0 (no age limit) or more"),
            ("rotate_mb", 0 < self.rotate_mb <= self.max_total_mb, "above 0 and at most max_total_mb"),
            ("rotate_s", self.rotate_s > 0, "above 0"),
            ("queue_readings", self.queue_readings >= 1, "at least 1"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"{name} = {getattr(self, name)} must be {rule}")

    def folder_path(self, agent: AgentSection) -> Path:
        """``folder``, else ``recordings`` in the agent's state folder."""
        return self.folder or agent.state_path() / "recordings"


@dataclass(frozen=True)
class MetricsSection:
    """``[metrics]``: the counters, last scores and LSTM latency for Prometheus, as a textfile and/or on a port.

    Both are off by default. ``textfile`` is rewritten atomically every ``interval_s`` for node_exporter's
    textfile collector; ``http_port`` serves the same text at ``/metrics``, on loopback unless ``http_host``
    says otherwise (the systemd unit then also needs the scraper's address allowed).
    """

    textfile: Path | None = None
    interval_s: float = 15.0
    http_port: int | None = None
    http_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError(f"interval_s = {self.interval_s} must be above 0 seconds")
        if self.textfile is not None and self.textfile.suffix != ".prom":
            raise ValueError(
                f"textfile {str(self.textfile)!r} must end in .prom: node_exporter's textfile collector reads no other"
            )
        if self.http_port is not None and not 1 <= self.http_port <= 65535:
            raise ValueError(f"http_port = {self.http_port} must be a TCP port, 1 to 65535 (leave it out: no port)")
        if self.http_host != "localhost":
            try:
                ipaddress.ip_address(self.http_host)
            except ValueError:
                raise ValueError(
                    f"http_host = {self.http_host!r} must be an IP address of this gateway (127.0.0.1, ::1, 0.0.0.0) "
                    "or localhost"
                ) from None

    @property
    def enabled(self) -> bool:
        """Whether anything is written or served."""
        return self.textfile is not None or self.http_port is not None


MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class ModelSection:
    """``[model]`` or one of ``[[models]]``: a name, the file and an optional threshold override.

    The name is what sources give as ``model = "NAME"`` and what status, logs and MQTT messages show; a
    lone ``[model]`` may leave it out (it is then the file's stem).
    """

    path: Path
    threshold: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold} must be in (0, 1]")
        if not self.name:
            object.__setattr__(self, "name", self.path.stem or "model")
        if not MODEL_NAME.fullmatch(self.name):
            raise ValueError(
                f"name {self.name!r} must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or "
                "digit (it appears in log lines and MQTT messages)"
            )


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
    novelty_half_life_samples: float = 3000.0
    seasonal_lag_s: float = 86400.0
    seasonal_long_lag_s: float = 604800.0
    seasonal_max_samples: int = 20000
    spatial_margin: float = 0.2
    hold_sd: float = 0.0
    reference_half_life_samples: float = 10000.0
    regime_sd: float = 6.0
    condition_alerts: bool = True
    forecast_adapt_step: float = 0.003
    condition_half_life_samples: float = 1000.0
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
            ("condition_half_life_samples", self.condition_half_life_samples > 0, "above 0"),
            ("accept_after_s", self.accept_after_s >= 0, "0 (never) or more"),
            ("seasonal_lag_s", self.seasonal_lag_s >= 0, "0 (off) or more"),
            ("seasonal_long_lag_s", self.seasonal_long_lag_s >= 0, "0 (off) or more"),
            ("seasonal_max_samples", self.seasonal_max_samples >= 0, "0 or more"),
            ("spatial_margin", self.spatial_margin >= 0, "0 (off) or more"),
            ("forecast_adapt_step", 0 <= self.forecast_adapt_step < 1, "in [0, 1) (0: off)"),
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
        return self._samples(self.seasonal_lag_s, period_s)

    def long_season_lag(self, period_s: float) -> int:
        """Samples in the long season (a week); 0 when it or the season is off, when it is not longer than the
        season, or when it is too many to keep."""
        season = self.season_lag(period_s)
        lag = self._samples(self.seasonal_long_lag_s, period_s) if season else 0
        return lag if lag > season else 0

    def _samples(self, seconds: float, period_s: float) -> int:
        lag = round(seconds / period_s) if seconds > 0 and period_s > 0 else 0
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
            long_season_lag=self.long_season_lag(period),
            spatial_margin=self.spatial_margin,
            novelty_half_life_samples=self.novelty_half_life_samples,
            tail=self.likelihood_tail,
        )
        condition = ConditionSettings(
            window=self.likelihood_window,
            hold_sd=self.hold_sd,
            reference_half_life_samples=self.reference_half_life_samples,
            regime_sd=self.regime_sd,
            raises=self.condition_alerts,
            level_half_life_samples=self.condition_half_life_samples,
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
            forecast_adapt_step=self.forecast_adapt_step,
        )
