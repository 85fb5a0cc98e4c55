"""The model's self-description, stored as ONNX ``metadata_props`` (all values JSON).

Two checksums make the file self-verifying: ``weights_sha256`` over the graph's
serialized bytes (nodes and weights) and ``metadata_sha256`` over every other key.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from edge.core.calibration import Calibration
from edge.digest import sha256_hex

FORMAT_VERSION = 1
PREFIX = "edge_anomaly."
WEIGHTS_KEY = PREFIX + "weights_sha256"
METADATA_KEY = PREFIX + "metadata_sha256"


class MetadataError(ValueError):
    """The metadata is missing, malformed or of another format version."""


@dataclass(frozen=True)
class TrainingData:
    """Where the model's training and calibration rows came from."""

    file: str
    sha256: str
    total_rows: int
    rows_read: int
    train_rows: tuple[int, int]
    validation_rows: tuple[int, int]


@dataclass(frozen=True)
class ModelMetadata:
    """What the runtime needs to reproduce training's scores, plus provenance."""

    channels: tuple[str, ...]
    window: int
    warmup: int
    sample_period_s: float
    norm_mean: tuple[float, ...]
    norm_std: tuple[float, ...]
    hidden: int
    layers: int
    calibration: Calibration
    threshold: float
    precision: str
    opset: int
    package_version: str
    torch_version: str
    onnx_version: str
    onnxruntime_version: str
    training_data: TrainingData
    created: str
    format_version: int = FORMAT_VERSION
    # channels that never moved in the training rows: kept, and any departure from the constant is rare
    constant_channels: tuple[str, ...] = ()
    # per channel, how far a mean of ``short_mean_window`` training readings strayed (normalised units; RMS)
    short_mean_sd: tuple[float, ...] = ()
    short_mean_window: int = 0
    # per channel, the most readings in a row with one unchanged value in the training rows (flatline faults)
    flat_run_samples: tuple[int, ...] = ()

    def to_props(self) -> dict[str, str]:
        """Metadata entries without the two checksums (see :func:`with_checksums`)."""
        props: dict[str, str] = {}
        for field in fields(self):
            value: Any = getattr(self, field.name)
            if isinstance(value, Calibration):
                value = value.to_dict()
            elif isinstance(value, TrainingData):
                value = asdict(value)
            props[PREFIX + field.name] = json.dumps(value, sort_keys=True)
        return props

    @classmethod
    def from_props(cls, props: dict[str, str]) -> ModelMetadata:
        """Parse entries written by :meth:`to_props`; raise :class:`MetadataError` if unusable."""
        raw_version = props.get(PREFIX + "format_version")
        if raw_version is None:
            raise MetadataError("it has no edge-anomaly metadata (was it written by edge-export?)")
        if json.loads(raw_version) != FORMAT_VERSION:
            raise MetadataError(
                f"its metadata format is version {raw_version}, this runtime reads version "
                f"{FORMAT_VERSION}; export the model again or upgrade edge-anomaly"
            )
        values: dict[str, Any] = {}
        for field in fields(cls):
            key = PREFIX + field.name
            if key not in props:
                if field.default is not MISSING:  # added after format 1 was first written
                    continue
                raise MetadataError(f"its metadata lacks {key!r}")
            values[field.name] = json.loads(props[key])
        try:
            values["calibration"] = Calibration.from_dict(values["calibration"])
            data = values["training_data"]
            data["train_rows"] = tuple(data["train_rows"])
            data["validation_rows"] = tuple(data["validation_rows"])
            values["training_data"] = TrainingData(**data)
            for name in ("channels", "norm_mean", "norm_std", "constant_channels", "short_mean_sd", "flat_run_samples"):
                if name in values:
                    values[name] = tuple(values[name])
            meta = cls(**values)
        except (TypeError, KeyError, ValueError) as exc:
            raise MetadataError(f"its metadata is malformed: {exc}") from exc
        problem = meta.problem()
        if problem:
            raise MetadataError(f"its metadata is malformed: {problem}; export it again with edge-export")
        return meta

    def problem(self) -> str:
        """What makes these values unusable for scoring (empty: nothing): each per-channel list must have one
        entry per channel, and the numbers must be in range."""
        channels = len(self.channels)
        if not channels or not all(isinstance(c, str) and c for c in self.channels):
            return f"{PREFIX}channels must be a non-empty list of names, not {list(self.channels)}"
        numbers: list[tuple[str, tuple[Any, ...], bool, bool]] = [  # name, values, may be empty, must be > 0
            ("norm_mean", self.norm_mean, False, False),
            ("norm_std", self.norm_std, False, True),
            ("short_mean_sd", self.short_mean_sd, True, True),
        ]
        for name, values, may_be_empty, positive in numbers:
            if may_be_empty and not values:
                continue
            if len(values) != channels:
                return f"{PREFIX}{name} has {len(values)} values for {channels} channels"
            if not all(_real(v) and (v > 0 if positive else True) for v in values):
                kind = "finite and above 0" if positive else "finite"
                return f"{PREFIX}{name} must be {kind}, not {list(values)}"
        runs = self.flat_run_samples
        if runs and (len(runs) != channels or not all(_count(v) for v in runs)):
            return f"{PREFIX}flat_run_samples must be {channels} counts of 0 or more, not {list(runs)}"
        if not set(self.constant_channels) <= set(self.channels):
            return f"{PREFIX}constant_channels {list(self.constant_channels)} are not all among the channels"
        for name, value in (("window", self.window), ("hidden", self.hidden), ("layers", self.layers)):
            if not _count(value) or value < 1:
                return f"{PREFIX}{name} must be a whole number of 1 or more, not {value!r}"
        if not _count(self.warmup) or not _count(self.short_mean_window):
            return f"{PREFIX}warmup and short_mean_window must be whole numbers of 0 or more"
        if not (_real(self.sample_period_s) and self.sample_period_s > 0):
            return f"{PREFIX}sample_period_s must be a number of seconds above 0, not {self.sample_period_s!r}"
        return ""


def _real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def metadata_checksum(props: dict[str, str]) -> str:
    """sha256 over all entries except the two checksums, in key order."""
    body = {k: v for k, v in props.items() if k not in (WEIGHTS_KEY, METADATA_KEY)}
    return sha256_hex(json.dumps(body, sort_keys=True).encode("utf-8"))


def with_checksums(props: dict[str, str], weights_sha256: str) -> dict[str, str]:
    """``props`` plus the weights and metadata checksums."""
    return {**props, WEIGHTS_KEY: weights_sha256, METADATA_KEY: metadata_checksum(props)}
