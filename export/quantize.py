"""Weight-only int8: the weights are stored as int8, the arithmetic stays float.

Every LSTM weight matrix (``W``, ``R``) and the output layer's matrix become an int8 initializer with
one scale per output row, dequantized by a ``DequantizeLinear`` in front of the float ``LSTM`` and
``MatMul``. The file is about 3× smaller than fp32. Nothing depends on the input: the gateway's
session folds the dequantization into float weights once at load (``session.disable_quant_qdq``),
so a block of readings in one call gives exactly the forecasts of one reading per call, which
dynamic quantization (``DynamicQuantizeLSTM`` quantizes each call's input with that call's range)
cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from export.errors import ExportError

INT8_MAX = 127
DEQUANTIZE = "DequantizeLinear"


def symmetric_int8(weights: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``weights ≈ q * scale`` with ``q`` int8 in [-127, 127] and one scale per index of ``axis``."""
    others = tuple(a for a in range(weights.ndim) if a != axis)
    scale = (np.abs(weights).max(axis=others) / INT8_MAX).astype(np.float32)
    scale[scale == 0] = 1.0  # an all-zero row: any scale gives zeros
    shape = [1] * weights.ndim
    shape[axis] = -1
    q = np.clip(np.rint(weights / scale.reshape(shape)), -INT8_MAX, INT8_MAX).astype(np.int8)
    return q, scale


def _weight_axes(graph: onnx.GraphProto, initializers: set[str]) -> dict[str, int]:
    """Each weight matrix to quantize and the axis of its output rows."""
    axes: dict[str, int] = {}
    for node in graph.node:
        if node.op_type == "LSTM":  # W [dirs, 4*hidden, input], R [dirs, 4*hidden, hidden]
            axes.update({name: 1 for name in node.input[1:3] if name in initializers})
        elif node.op_type == "MatMul" and node.input[1] in initializers:  # [hidden, outputs]
            axes[node.input[1]] = 1
    return axes


def quantize_weights_int8(fp32_path: Path, int8_path: Path) -> None:
    """Write ``fp32_path`` with its LSTM and output weights as dequantized int8; refuse if none are."""
    model = onnx.load(str(fp32_path))
    graph = model.graph
    by_name = {init.name: init for init in graph.initializer}
    axes = _weight_axes(graph, set(by_name))
    lstm_weights = {name for node in graph.node if node.op_type == "LSTM" for name in node.input[1:3]}
    if not lstm_weights or not lstm_weights <= set(axes):
        raise ExportError(
            f"int8 quantization found {len(lstm_weights - set(axes))} of the LSTM's {len(lstm_weights)} "
            "weight matrices not stored as constants; the int8 file would be no smaller: "
            "use --precision fp32"
        )
    dequantize = []
    for name, axis in axes.items():
        q, scale = symmetric_int8(numpy_helper.to_array(by_name[name]), axis)
        graph.initializer.remove(by_name[name])
        graph.initializer.extend(
            [
                numpy_helper.from_array(q, f"{name}_int8"),
                numpy_helper.from_array(scale, f"{name}_scale"),
                numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), f"{name}_zero_point"),
            ]
        )
        dequantize.append(
            helper.make_node(
                DEQUANTIZE,
                [f"{name}_int8", f"{name}_scale", f"{name}_zero_point"],
                [name],
                name=f"{name}_dequantize",
                axis=axis,
            )
        )
    nodes = [*dequantize, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(int8_path))


def int8_weights(path: Path) -> list[str]:
    """The names of a model's int8 initializers."""
    model = onnx.load(str(path), load_external_data=False)
    return [
        init.name
        for init in model.graph.initializer
        if init.data_type == onnx.TensorProto.INT8 and not init.name.endswith("_zero_point")
    ]
