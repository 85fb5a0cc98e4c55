"""The export pipeline end to end: determinism, parity with the torch reference, the int8 gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST, synthetic_rows, write_history

from edge.core.forecaster import StreamingForecaster
from edge.model.loader import load_model
from export import pipeline
from export.errors import ParityError
from export.forecaster import Forecaster
from export.onnx_io import export_fp32
from export.parity import ParityRow, gate_int8
from export.pipeline import ExportOptions, run_export
from export.quantize import quantize_weights_int8
from export.train import TrainConfig

pytestmark = pytest.mark.workstation  # needs torch or onnx: not part of a gateway's install

# A stateful step in onnxruntime and torch's whole-sequence LSTM differ only by float rounding.
FP32_TOLERANCE = 1e-4
# int8 weights move forecasts by a few hundredths of a standard deviation of the signal.
INT8_TOLERANCE = 0.25


def _options(data: Path, out: Path, **changes) -> ExportOptions:
    return ExportOptions(data=data, out=out, quiet=True, train=TrainConfig(**{**FAST, **changes}))


def test_same_data_and_seed_give_identical_weights(history_csv: Path, tmp_path: Path) -> None:
    first = run_export(_options(history_csv, tmp_path / "a.onnx"), say=lambda _t: None)
    second = run_export(_options(history_csv, tmp_path / "b.onnx"), say=lambda _t: None)
    other = run_export(_options(history_csv, tmp_path / "c.onnx", seed=1), say=lambda _t: None)
    assert first.model.weights_sha256 == second.model.weights_sha256
    for a, b in zip(first.training.model.state_dict().values(), second.training.model.state_dict().values()):
        assert torch.equal(a, b)
    assert other.model.weights_sha256 != first.model.weights_sha256


@pytest.mark.parametrize(("precision", "tolerance"), [("int8", INT8_TOLERANCE), ("fp32", FP32_TOLERANCE)])
def test_streaming_runtime_matches_torch_reference(exported, precision: str, tolerance: float, tmp_path: Path) -> None:
    if precision != exported.model.metadata.precision:
        options = _options(exported.history.path, tmp_path / "fp32.onnx")
        exported = run_export(ExportOptions(**{**options.__dict__, "precision": precision}), say=lambda _t: None)
    meta = exported.model.metadata
    values = exported.history.values
    series = torch.from_numpy(((values - meta.norm_mean) / meta.norm_std).astype(np.float32))
    reference = exported.training.model.predict(series).numpy()  # as trained: one sequence from a zero state
    stream = StreamingForecaster.from_model(load_model(exported.model.path))
    streamed = (np.array([stream.step(v) for v in values]) - meta.norm_mean) / meta.norm_std
    rows = slice(meta.training_data.validation_rows[0], None)
    assert np.max(np.abs(streamed[rows] - reference[rows])) < tolerance
    assert stream.steps == len(values)


def test_summary_parity_rows_cover_three_paths(exported) -> None:
    names = [row.path for row in exported.parity]
    assert names == ["torch fp32", "onnxruntime fp32", "onnxruntime int8"]
    assert exported.parity[0].max_abs_diff == 0.0 and exported.parity[0].agreement == 1.0
    assert exported.parity[1].max_abs_diff < 1e-3
    assert exported.parity[2].agreement >= 0.999


def test_gate_refuses_int8_that_disagrees() -> None:
    gate_int8(ParityRow("onnxruntime int8", 0.1, 0.999, 3))
    with pytest.raises(ParityError, match=r"agrees .* on only 99\.800% .* --precision fp32"):
        gate_int8(ParityRow("onnxruntime int8", 0.1, 0.998, 3))


def test_export_refuses_an_int8_model_that_decides_differently(history_csv: Path, tmp_path: Path, monkeypatch) -> None:
    def quantize_a_different_model(fp32_path: Path, int8_path: Path) -> None:
        torch.manual_seed(123)
        stranger = tmp_path / "stranger.onnx"
        export_fp32(Forecaster(2, FAST["hidden"], FAST["layers"]), stranger)
        quantize_weights_int8(stranger, int8_path)

    monkeypatch.setattr(pipeline, "quantize_weights_int8", quantize_a_different_model)
    out = tmp_path / "model.onnx"
    with pytest.raises(ParityError, match="int8 was not written"):
        run_export(_options(history_csv, out), say=lambda _t: None)
    assert not out.exists()
    fp32 = run_export(
        ExportOptions(**{**_options(history_csv, out).__dict__, "precision": "fp32"}), say=lambda _t: None
    )
    assert fp32.model.metadata.precision == "fp32" and out.exists()


def test_only_the_prefix_is_read(tmp_path: Path) -> None:
    rows = synthetic_rows(700)
    rows[650] = (rows[650][0], "broken", "")  # beyond the prefix: never read
    path = write_history(tmp_path / "h.csv", rows)
    result = run_export(
        ExportOptions(**{**_options(path, tmp_path / "m.onnx").__dict__, "train_rows": 600}), say=lambda _t: None
    )
    data = result.model.metadata.training_data
    assert (data.rows_read, data.total_rows) == (600, 700)
