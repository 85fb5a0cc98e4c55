"""Train the forecaster with truncated backpropagation through time over long lanes.

The runtime carries the LSTM state from one reading to the next for months, so
training does the same: each lane of the training rows is walked in chunks of
``window`` steps, the state carried from chunk to chunk (detached), loss on every
step. Validation runs the model over the whole prefix from a zero state, exactly
as the gateway will, and scores only the held-out rows after it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from export.forecaster import Forecaster
from export.sequences import Segment, clip_segments, cut_lanes, forecast_rows, lane_arrays, scored_rows


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults are the seed detector's where it had them."""

    window: int = 32
    hidden: int = 64
    layers: int = 2
    epochs: int = 150
    patience: int = 15
    batch_size: int = 8
    lane_windows: int = 4
    learning_rate: float = 1e-3
    seed: int = 0


@dataclass
class TrainResult:
    """The best model by validation loss and how training went."""

    model: Forecaster
    best_epoch: int
    best_val_loss: float
    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def torch_forecasts(model: Forecaster, series: np.ndarray, segments: Sequence[Segment]) -> np.ndarray:
    """Row forecasts (see :func:`forecast_rows`) of the torch model, the reference path."""
    model.eval()
    return forecast_rows(series, segments, lambda x: model.predict(torch.from_numpy(x.astype(np.float32))).numpy())


def validation_loss(model: Forecaster, series: np.ndarray, segments: Sequence[Segment], rows: np.ndarray) -> float:
    """Mean squared forecast error over ``rows``, the model run from each segment's start."""
    forecasts = torch_forecasts(model, series, segments)
    return float(np.mean(np.square(series[rows] - forecasts[rows])))


def _epoch(
    model: Forecaster,
    optimiser: torch.optim.Optimizer,
    series: np.ndarray,
    lanes: list[Segment],
    config: TrainConfig,
    rng: np.random.Generator,
) -> float:
    model.train()
    steps = config.window * config.lane_windows
    order = rng.permutation(len(lanes))
    total, weight = 0.0, 0.0
    for first in range(0, len(order), config.batch_size):
        batch = [lanes[i] for i in order[first : first + config.batch_size]]
        inputs, targets, mask = (torch.from_numpy(a) for a in lane_arrays(series, batch, steps))
        h, c = model.zero_state(len(batch))
        for start in range(0, steps, config.window):
            chunk_mask = mask[:, start : start + config.window]
            count = float(chunk_mask.sum())
            if count == 0.0:
                break
            y, h, c = model(inputs[:, start : start + config.window], h, c)
            error = (y - targets[:, start : start + config.window]).square().mean(dim=2)
            loss = (error * chunk_mask).sum() / count
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            h, c = h.detach(), c.detach()
            total += loss.item() * count
            weight += count
    return total / max(weight, 1.0)


def train_forecaster(
    series: np.ndarray,
    segments: Sequence[Segment],
    split: int,
    config: TrainConfig,
    *,
    quiet: bool = False,
) -> TrainResult:
    """Train on the rows before ``split``, stop early on the loss of the rows from ``split`` on."""
    began = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same sums in the same order on any machine: same weights
    try:
        result = _train(series, segments, split, config, quiet)
    finally:
        torch.set_num_threads(threads)
    result.seconds = time.perf_counter() - began
    return result


def _train(
    series: np.ndarray, segments: Sequence[Segment], split: int, config: TrainConfig, quiet: bool
) -> TrainResult:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    series = np.asarray(series, dtype=np.float32)
    model = Forecaster(series.shape[1], config.hidden, config.layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    train_segments = clip_segments(segments, 0, split)
    val_rows = scored_rows(segments, split, len(series), config.window)
    lane_rows = config.window * config.lane_windows
    result = TrainResult(model=model, best_epoch=0, best_val_loss=float("inf"))
    best_state = copy.deepcopy(model.state_dict())
    progress = tqdm(range(1, config.epochs + 1), desc="training", unit="epoch", disable=quiet, leave=False)
    for epoch in progress:
        lanes = cut_lanes(train_segments, lane_rows, int(rng.integers(lane_rows)))
        result.train_losses.append(_epoch(model, optimiser, series, lanes, config, rng))
        result.val_losses.append(validation_loss(model, series, segments, val_rows))
        if result.val_losses[-1] < result.best_val_loss:
            result.best_epoch, result.best_val_loss = epoch, result.val_losses[-1]
            best_state = copy.deepcopy(model.state_dict())
        progress.set_postfix(
            train=f"{result.train_losses[-1]:.4f}", val=f"{result.val_losses[-1]:.4f}", best=result.best_epoch
        )
        if epoch - result.best_epoch >= config.patience:
            break
    progress.close()
    model.load_state_dict(best_state)
    model.eval()
    return result
