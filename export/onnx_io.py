"""Convert the forecaster to a streaming ONNX graph and stamp its metadata (int8: :mod:`export.quantize`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch

from edge.model.loader import INPUTS, OUTPUTS
from edge.model.metadata import with_checksums
from edge.model.onnx_wire import read_model_bytes
from export.forecaster import Forecaster

OPSET = 17


def export_fp32(model: Forecaster, path: Path) -> None:
    """Write the one-step-or-many streaming graph: ``(x, h0, c0) -> (y, hn, cn)``.

    Batch and time are dynamic, so the same file streams one reading at a time
    with explicit state or runs a whole window in one call.
    """
    model.eval()
    x = torch.zeros(1, 2, model.input_dim)
    h0, c0 = model.zero_state(1)
    batch_time = {0: "batch", 1: "time"}
    state = {1: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x, h0, c0),
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes={"x": batch_time, "y": batch_time, "h0": state, "c0": state, "hn": state, "cn": state},
            opset_version=OPSET,
            dynamo=False,
        )


def op_types(path: Path) -> list[str]:
    """The operator types of a model's graph, in order."""
    return [node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node]


def stamp_metadata(src: Path, dst: Path, props: dict[str, str], producer_version: str) -> str:
    """Write ``src`` to ``dst`` with ``props`` and both checksums; return the weights hash."""
    model = onnx.load(str(src))
    model.producer_name = "edge-anomaly"
    model.producer_version = producer_version
    del model.metadata_props[:]
    weights_sha256 = read_model_bytes(model.SerializeToString()).graph_sha256
    onnx.helper.set_model_props(model, with_checksums(props, weights_sha256))
    onnx.save(model, str(dst))
    return weights_sha256
