"""The shipped file: metadata round trip, verification, and refusal of damaged files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import ModelError
from edge.model.loader import load_model, verify_model_bytes
from edge.model.metadata import PREFIX, ModelMetadata
from export.onnx_io import op_types
from export.quantize import DEQUANTIZE, int8_weights

pytestmark = pytest.mark.workstation  # needs torch or onnx: not part of a gateway's install


def test_shipped_graph_stores_every_weight_matrix_as_int8(exported) -> None:
    ops = op_types(exported.model.path)
    assert ops.count("LSTM") == 2 and "DynamicQuantizeLSTM" not in ops
    assert ops.count(DEQUANTIZE) == 5  # W and R of both layers, the output layer
    assert len(int8_weights(exported.model.path)) == 5


def test_default_size_int8_is_three_times_smaller(tmp_path: Path) -> None:
    from export.forecaster import Forecaster
    from export.onnx_io import export_fp32
    from export.quantize import quantize_weights_int8

    export_fp32(Forecaster(input_dim=1), tmp_path / "fp32.onnx")
    quantize_weights_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    assert (tmp_path / "fp32.onnx").stat().st_size >= 3 * (tmp_path / "int8.onnx").stat().st_size


def test_metadata_round_trips_through_onnxruntime(exported) -> None:
    session = ort.InferenceSession(str(exported.model.path), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    meta = ModelMetadata.from_props(props)
    assert meta == exported.model.metadata
    assert meta.channels == ("temperature", "vibration")
    assert meta.precision == "int8" and meta.opset == 17 and meta.format_version == 1
    assert meta.sample_period_s == 300.0
    assert meta.threshold == meta.calibration.threshold
    assert meta.training_data.rows_read == 800
    assert meta.training_data.train_rows == (0, 640) and meta.training_data.validation_rows == (640, 800)
    assert len(meta.norm_mean) == len(meta.norm_std) == 2
    for key in ("torch_version", "onnx_version", "onnxruntime_version", "package_version", "created"):
        assert getattr(meta, key)
    assert ModelMetadata.from_props(meta.to_props()) == meta


def _rewrite(src: Path, dst: Path, edit) -> Path:
    model = onnx.load(str(src))
    edit(model)
    onnx.save(model, str(dst))
    return dst


def test_tampered_weights_are_refused(exported, tmp_path: Path) -> None:
    def scale_first_weight(model: onnx.ModelProto) -> None:
        init = next(i for i in model.graph.initializer if len(i.raw_data) > 64)
        raw = bytearray(init.raw_data)
        raw[10] ^= 0x01
        init.raw_data = bytes(raw)

    path = _rewrite(exported.model.path, tmp_path / "tampered.onnx", scale_first_weight)
    with pytest.raises(ModelError, match=r"tampered.onnx was modified: its weights hash .* differs"):
        load_model(path)


def test_tampered_metadata_is_refused(exported, tmp_path: Path) -> None:
    def lower_threshold(model: onnx.ModelProto) -> None:
        for prop in model.metadata_props:
            if prop.key == PREFIX + "threshold":
                prop.value = json.dumps(0.01)

    path = _rewrite(exported.model.path, tmp_path / "meta.onnx", lower_threshold)
    with pytest.raises(ModelError, match="metadata does not match its checksum"):
        load_model(path)


def test_foreign_and_missing_files_are_refused(exported, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"absent.onnx does not exist; copy the file edge-export wrote there"):
        load_model(tmp_path / "absent.onnx")
    with pytest.raises(ModelError, match=r"is a folder; \[model\] path must name the .onnx file"):
        load_model(tmp_path)
    plain = _rewrite(exported.model.path, tmp_path / "plain.onnx", lambda m: m.ClearField("metadata_props"))
    with pytest.raises(ModelError, match="no edge-anomaly checksums"):
        load_model(plain)
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(ModelError, match="truncated or not an ONNX file"):
        load_model(text)


def test_other_format_version_is_refused(exported, tmp_path: Path) -> None:
    from edge.model.metadata import with_checksums

    model = onnx.load(str(exported.model.path))
    props = {p.key: p.value for p in model.metadata_props}
    weights = props.pop(PREFIX + "weights_sha256")
    props.pop(PREFIX + "metadata_sha256")
    props[PREFIX + "format_version"] = "99"
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, with_checksums(props, weights))
    onnx.save(model, str(tmp_path / "future.onnx"))
    with pytest.raises(ModelError, match="metadata format is version 99, this runtime reads version 1"):
        load_model(tmp_path / "future.onnx")


@settings(max_examples=60, deadline=None)
@given(fraction=st.floats(min_value=0.0, max_value=0.999))
def test_any_truncation_is_refused(exported, fraction: float) -> None:
    data = exported.model.path.read_bytes()
    cut = int(len(data) * fraction)
    with pytest.raises(ModelError, match="truncated|no edge-anomaly checksums|was modified|lacks"):
        verify_model_bytes(data[:cut], exported.model.path)


def test_copy_of_a_good_file_loads(exported, tmp_path: Path) -> None:
    copy = tmp_path / "copy.onnx"
    shutil.copy(exported.model.path, copy)
    assert load_model(copy).weights_sha256 == exported.model.weights_sha256
