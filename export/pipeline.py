"""The whole workstation job: history CSV in, one verified, self-describing ONNX file out."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

from edge.config import load_config
from edge.core.calibration import Calibration, decisions, fit_calibration, score_series
from edge.core.condition import ConditionSettings, short_mean_sd
from edge.core.faults import longest_flat_runs
from edge.core.forecaster import StreamingForecaster
from edge.model.loader import LoadedModel, load_model
from edge.model.metadata import ModelMetadata, TrainingData
from edge.model.runtime import open_session
from edge.version import __version__
from export.errors import DataError, ExportError
from export.feedback import AlertDecision, Feedback, decide, read_feedback
from export.history import History, finite_segments, load_history, sample_period
from export.onnx_io import OPSET, export_fp32, stamp_metadata
from export.parity import ParityRow, compare, gate_int8
from export.quantize import quantize_weights_int8
from export.recordings import FolderRead, FolderRows, read_folder, training_history
from export.sequences import Segment, forecast_rows, scored_rows
from export.train import TrainConfig, TrainResult, torch_forecasts, train_forecaster

SHORT_MEAN_WINDOW = ConditionSettings().window  # the runtime's default short window (``likelihood_window``)

MIN_VALIDATION_SAMPLES = 50


@dataclass(frozen=True)
class ExportOptions:
    """What ``edge-export`` was asked to do."""

    data: Path
    out: Path
    columns: tuple[str, ...] | None = None
    timestamp_column: str | None = None
    delimiter: str | None = None  # None: detect , ; or tab from the header
    train_fraction: float | None = None
    train_rows: int | None = None
    validation_fraction: float = 0.2
    allow_gaps: bool = False
    allow_repeated_times: bool = False
    skip_alerts: bool = False  # a folder of recordings: leave out alert rows and the --window rows before each
    agent_config: Path | None = None  # the gateway's config: its [detector] settings decide labelled alerts
    false_alarms_per_day: float = 1.0
    error_smoothing: float = 1.0
    precision: str = "int8"
    report: Path | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    quiet: bool = False


@dataclass
class Evaluation:
    """Forecasts (original units) and decisions of one inference path on the validation rows."""

    forecasts: np.ndarray
    scores: np.ndarray
    channel_scores: np.ndarray
    alerts: np.ndarray


@dataclass
class ExportResult:
    """What was written and measured."""

    model: LoadedModel
    history: History
    training: TrainResult
    calibration: Calibration
    parity: list[ParityRow]
    sizes: dict[str, int]
    validation_rows: np.ndarray
    shipped: Evaluation
    observed: np.ndarray
    recordings: FolderRead | None = None  # what a folder of recordings held and left out
    feedback: Feedback | None = None  # the folder's alert labels (confirmed alerts were left out of training)
    decisions: list[AlertDecision] = field(default_factory=list)  # the new model on every labelled alert


def _split_at(rows: int, validation_fraction: float) -> int:
    return rows - int(round(rows * validation_fraction))


def minimum_rows(window: int, validation_fraction: float) -> int:
    """The fewest gap-free rows that leave ``2 * window + 1`` to train and 50 scored rows to validate."""
    rows = 2 * window + 2
    while True:
        split = _split_at(rows, validation_fraction)
        if split >= 2 * window + 1 and rows - max(split, window) >= MIN_VALIDATION_SAMPLES:
            return rows
        rows += 1


def _split_row(history: History, options: ExportOptions, segments: Sequence[Segment]) -> int:
    window, fraction = options.train.window, options.validation_fraction
    split = _split_at(history.rows, fraction)
    usable = len(scored_rows(segments, split, history.rows, window))
    if split >= 2 * window + 1 and usable >= MIN_VALIDATION_SAMPLES:
        return split
    needed = minimum_rows(window, fraction)
    if split < 2 * window + 1:
        problem = f"--window {window} needs {2 * window + 1} rows to train on and {split} are left"
        fixes = [f"read at least {needed} rows (--train-rows/--train-fraction)", "lower --window"]
    else:
        problem = (
            f"validation (the last {fraction:g} of them, --validation-fraction) scores {usable} rows and "
            f"needs {MIN_VALIDATION_SAMPLES}"
        )
        fixes = [f"read at least {needed} rows (--train-rows/--train-fraction)"]
        for wider in (f / 100 for f in range(int(fraction * 100) + 1, 51)):
            split_wider = _split_at(history.rows, wider)
            if (
                split_wider >= 2 * window + 1
                and len(scored_rows(segments, split_wider, history.rows, window)) >= MIN_VALIDATION_SAMPLES
            ):
                fixes.append(f"hold out more with --validation-fraction {wider:g}")
                break
    raise DataError(f"{history.path}: {history.rows} rows were read, but {problem}; {' or '.join(fixes)}")


CONSTANT_SCALE = 1e-3  # a constant channel's unit: this share of its value (at least of 1)


def _normalisation(history: History, split: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Per-channel mean and sd of the training rows, and the channels that never moved there.

    A constant channel (a sensor that sat still while history was logged) is kept: its unit is a
    thousandth of its value, so any departure from the constant is far outside what training saw.
    """
    train = history.values[:split]
    mean = np.nanmean(train, axis=0)
    std = np.nanstd(train, axis=0)
    constant = []
    for channel, (m, s) in enumerate(zip(mean, std)):
        if not s > 1e-9 * max(1.0, abs(m)):
            std[channel] = CONSTANT_SCALE * max(1.0, abs(m))
            constant.append(history.channels[channel])
    return mean, std, tuple(constant)


def _ort_forecasts(path: Path, config: TrainConfig, series: np.ndarray, segments: Sequence[Segment]) -> np.ndarray:
    channels = series.shape[1]
    stream = StreamingForecaster(
        open_session(str(path)),
        layers=config.layers,
        hidden=config.hidden,
        norm_mean=np.zeros(channels),
        norm_std=np.ones(channels),
    )
    return forecast_rows(series, segments, lambda x: stream.run_normalized(x.astype(np.float32)))


def _evaluate(
    calibration: Calibration,
    series: np.ndarray,
    forecasts: np.ndarray,
    runs: list[np.ndarray],
    std: np.ndarray,
    mean: np.ndarray,
) -> Evaluation:
    pieces = [score_series(calibration, series[rows] - forecasts[rows]) for rows in runs]
    scores = np.concatenate([p[0] for p in pieces])
    rows = np.concatenate(runs)
    return Evaluation(
        forecasts=forecasts[rows] * std + mean,
        scores=scores,
        channel_scores=np.concatenate([p[1] for p in pieces]),
        alerts=decisions(scores, calibration.threshold),
    )


def run_export(options: ExportOptions, say: Callable[[str], None] = print) -> ExportResult:
    """Train, calibrate, convert, check and write ``options.out``; raise on any refusal."""
    if options.precision not in ("int8", "fp32"):
        raise ExportError(f"--precision {options.precision!r} is not one of int8, fp32")
    config = options.train
    history, folder, found = _read(options)
    recordings = folder.read if folder is not None else None
    if found is not None and found.found:
        say(found.describe())
    if recordings is not None:
        say(recordings.describe())
    segments = finite_segments(history, allow_gaps=options.allow_gaps or history.in_folder)  # a folder has breaks
    split = _split_row(history, options, segments)
    period = sample_period(history.timestamps)
    mean, std, constant = _normalisation(history, split)
    series = (history.values - mean) / std
    say(
        f"read {history.rows} of {history.total_rows} rows of {history.path} "
        f"({len(history.channels)} channel(s): {', '.join(history.channels)}; one every {period:g} s); "
        f"training on {history.span(0, split - 1)}, validating on {history.span(split, history.rows - 1)}"
    )
    if constant:
        say(
            f"note: {', '.join(constant)} never changed in the training rows; kept, and any departure from "
            "that value will score as rare"
        )
    steps = np.diff(history.timestamps)
    long_steps = steps[steps > 1.5 * period]
    if long_steps.size:
        say(
            f"note: {long_steps.size} time gap(s) longer than 1.5 sample periods (longest "
            f"{long_steps.max() / period:.0f} periods); rows on either side are treated as consecutive"
        )
    training = train_forecaster(series, segments, split, config, quiet=options.quiet)
    runs = [r for r in (scored_rows([s], split, history.rows, config.window) for s in segments) if r.size]
    rows = np.concatenate(runs)
    with tempfile.TemporaryDirectory(prefix="edge-export-") as tmp:
        paths = {"fp32": Path(tmp) / "fp32.onnx", "int8": Path(tmp) / "int8.onnx"}
        export_fp32(training.model, paths["fp32"])
        quantize_weights_int8(paths["fp32"], paths["int8"])
        sizes = {name: path.stat().st_size for name, path in paths.items()}
        normalised = {
            "torch fp32": torch_forecasts(training.model, series, segments),
            "onnxruntime fp32": _ort_forecasts(paths["fp32"], config, series, segments),
            "onnxruntime int8": _ort_forecasts(paths["int8"], config, series, segments),
        }

        def calibrate(path_name: str) -> Calibration:
            return fit_calibration(
                series[rows] - normalised[path_name][rows],
                sample_period_s=period,
                false_alarms_per_day=options.false_alarms_per_day,
                smoothing=options.error_smoothing,
                scale_floor=[1.0 if c in constant else 0.0 for c in history.channels],
            )

        # Parity: every path decides with the reference's calibration, so a model that forecasts
        # worse cannot hide behind a calibration fitted to its own errors.
        reference_calibration = calibrate("torch fp32")
        evaluations = {
            name: _evaluate(reference_calibration, series, f, runs, std, mean) for name, f in normalised.items()
        }
        reference = evaluations["torch fp32"]
        parity = [
            compare(name, reference.forecasts, e.forecasts, reference.alerts, e.alerts)
            for name, e in evaluations.items()
        ]
        if options.precision == "int8":
            gate_int8(parity[2])
        # The shipped calibration is fitted to the errors of the path the gateway runs.
        shipped_name = f"onnxruntime {options.precision}"
        calibration = calibrate(shipped_name)
        shipped = _evaluate(calibration, series, normalised[shipped_name], runs, std, mean)
        spread = short_mean_sd(series, segments, SHORT_MEAN_WINDOW)
        flat_runs = longest_flat_runs(series, segments)
        metadata = _metadata(options, history, split, period, mean, std, calibration, constant, spread, flat_runs)
        _write_atomically(paths[options.precision], options.out, metadata)
    model = load_model(options.out)
    sizes["shipped"] = options.out.stat().st_size
    decisions: list[AlertDecision] = []
    if folder is not None and found is not None and found.alerts:
        agent = load_config(options.agent_config, for_replay=True) if options.agent_config else None
        decisions = decide(options.out, folder, found, agent)
    return ExportResult(
        model=model,
        history=history,
        training=training,
        calibration=calibration,
        parity=parity,
        sizes=sizes,
        validation_rows=rows,
        shipped=shipped,
        observed=history.values[rows],
        recordings=recordings,
        feedback=found,
        decisions=decisions,
    )


def _read(options: ExportOptions) -> tuple[History, FolderRows | None, Feedback | None]:
    """``--data``: a CSV file, or a folder of one sensor's recordings (and its alert feedback)."""
    if options.data.is_dir():
        if options.timestamp_column or options.delimiter:
            raise DataError(
                f"{options.data}: recordings have their own columns; leave out --timestamp-column and --delimiter"
            )
        rows = read_folder(options.data, options.columns)
        found = read_feedback(rows)
        history = training_history(
            rows,
            skip_alerts=options.skip_alerts,
            alert_margin=options.train.window,
            leave_out=found.confirmed_spans(),
            max_rows=options.train_rows,
            fraction=options.train_fraction,
            allow_repeated_times=options.allow_repeated_times,
        )
        return history, rows, found
    if options.agent_config:
        raise DataError(f"{options.data}: --agent-config needs a folder of edge-agent recordings with alert labels")
    if options.skip_alerts:
        raise DataError(f"{options.data}: --skip-alerts needs a folder of edge-agent recordings, which note alerts")
    history = load_history(
        options.data,
        columns=options.columns,
        timestamp_column=options.timestamp_column,
        max_rows=options.train_rows,
        fraction=options.train_fraction,
        allow_repeated_times=options.allow_repeated_times,
        delimiter=options.delimiter,
    )
    return history, None, None


def _metadata(
    options: ExportOptions,
    history: History,
    split: int,
    period: float,
    mean: np.ndarray,
    std: np.ndarray,
    calibration: Calibration,
    constant: tuple[str, ...] = (),
    spread: tuple[float, ...] = (),
    flat_runs: tuple[int, ...] = (),
) -> ModelMetadata:
    config = options.train
    return ModelMetadata(
        channels=history.channels,
        window=config.window,
        warmup=config.window,
        sample_period_s=period,
        norm_mean=tuple(float(m) for m in mean),
        norm_std=tuple(float(s) for s in std),
        hidden=config.hidden,
        layers=config.layers,
        calibration=calibration,
        threshold=calibration.threshold,
        precision=options.precision,
        opset=OPSET,
        package_version=__version__,
        torch_version=torch.__version__,
        onnx_version=onnx.__version__,
        onnxruntime_version=onnxruntime.__version__,
        training_data=TrainingData(
            file=history.path.name,
            sha256=history.sha256,
            total_rows=history.total_rows,
            rows_read=history.rows,
            train_rows=(0, split),
            validation_rows=(split, history.rows),
        ),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        constant_channels=constant,
        short_mean_sd=spread,
        short_mean_window=SHORT_MEAN_WINDOW if spread else 0,
        flat_run_samples=flat_runs,
    )


def _write_atomically(src: Path, out: Path, metadata: ModelMetadata) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        stamp_metadata(src, partial, metadata.to_props(), __version__)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def expected_false_alarms(result: ExportResult) -> tuple[float, float]:
    """Target and observed alerting samples per day on the validation rows."""
    cal = result.calibration
    days = len(result.validation_rows) * cal.sample_period_s / 86_400.0
    observed = float(np.sum(result.shipped.alerts)) / days if days > 0 else math.nan
    return cal.false_alarms_per_day, observed
