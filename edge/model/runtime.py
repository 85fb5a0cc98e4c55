"""onnxruntime sessions tuned for a small gateway CPU."""

from __future__ import annotations

import onnxruntime as ort


def gateway_session_options(threads: int = 1) -> ort.SessionOptions:
    """One intra-op and one inter-op thread, no busy-waiting between calls, int8 weights folded at load, no
    memory arena.

    ORT's default thread pool spins after each call; on a gateway that costs far
    more than the few microseconds an LSTM step takes and keeps idle cores busy.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # Weight-only int8 files: fold DequantizeLinear into float weights once at load instead of
    # fusing it into integer kernels, so a block of readings computes exactly what one at a time does.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    # The tensors are a few KiB: ORT's arena and memory-pattern planner only hold memory for them (0.2 MiB
    # of the service's peak RSS measured, through serial at 1 kHz) and a call is no faster with them.
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.log_severity_level = 3
    return options


def open_session(model: bytes | str, threads: int = 1) -> ort.InferenceSession:
    """An ``InferenceSession`` on the CPU with :func:`gateway_session_options`."""
    return ort.InferenceSession(
        model, sess_options=gateway_session_options(threads), providers=["CPUExecutionProvider"]
    )
