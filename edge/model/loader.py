"""Load a model file on the gateway: verify it, read its metadata, open a session."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort

from edge.core.latency import LatencyHistogram
from edge.errors import ModelError
from edge.model.metadata import METADATA_KEY, WEIGHTS_KEY, MetadataError, ModelMetadata, metadata_checksum
from edge.model.onnx_wire import WireError, read_model_bytes
from edge.model.runtime import open_session

log = logging.getLogger(__name__)

INPUTS = ("x", "h0", "c0")
OUTPUTS = ("y", "hn", "cn")
_FIX = "copy the file again from the workstation or export it again with edge-export"


@dataclass(frozen=True)
class LoadedModel:
    """A verified model: its metadata, weights hash and an open session (and how long its calls take)."""

    path: Path
    metadata: ModelMetadata
    weights_sha256: str
    session: ort.InferenceSession
    latency: LatencyHistogram = field(default_factory=LatencyHistogram, compare=False, repr=False)


def verify_model_bytes(data: bytes, path: Path) -> tuple[ModelMetadata, str]:
    """Check the checksums and parse the metadata; raise :class:`ModelError` naming what is wrong."""
    try:
        parsed = read_model_bytes(data)
    except (WireError, UnicodeDecodeError) as exc:
        raise ModelError(f"model {path} is truncated or not an ONNX file ({exc}); {_FIX}") from exc
    props = parsed.metadata
    stored_weights = props.get(WEIGHTS_KEY)
    if stored_weights is None or METADATA_KEY not in props:
        raise ModelError(f"model {path} has no edge-anomaly checksums (was it written by edge-export?)")
    if stored_weights != parsed.graph_sha256:
        raise ModelError(
            f"model {path} was modified: its weights hash {parsed.graph_sha256[:12]} differs from the "
            f"recorded {stored_weights[:12]}; {_FIX}"
        )
    if props[METADATA_KEY] != metadata_checksum(props):
        raise ModelError(f"model {path} was modified: its metadata does not match its checksum; {_FIX}")
    try:
        return ModelMetadata.from_props(props), stored_weights
    except MetadataError as exc:
        raise ModelError(f"model {path} cannot be used: {exc}") from exc


def _check_signature(session: ort.InferenceSession, meta: ModelMetadata, path: Path) -> None:
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    if tuple(inputs) != INPUTS or tuple(outputs) != OUTPUTS:
        raise ModelError(
            f"model {path} has inputs {list(inputs)} and outputs {outputs}, expected "
            f"{list(INPUTS)} and {list(OUTPUTS)}; export it again with edge-export"
        )
    expected = {"x": len(meta.channels), "h0": meta.hidden, "c0": meta.hidden}
    for name, size in expected.items():
        if inputs[name][-1] != size:
            raise ModelError(
                f"model {path}: input {name!r} has last dimension {inputs[name][-1]} but the "
                f"metadata says {size}; export it again with edge-export"
            )


def load_model(path: str | Path) -> LoadedModel:
    """Read, verify and open ``path``; every refusal is one :class:`ModelError` line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(
            f"model {path} does not exist; copy the file edge-export wrote there, or point [model] path at it"
        ) from exc
    except IsADirectoryError as exc:
        raise ModelError(f"model {path} is a folder; [model] path must name the .onnx file edge-export wrote") from exc
    except PermissionError as exc:
        raise ModelError(
            f"model {path} cannot be read by this user ({exc.strerror}); make it readable by the "
            "agent's user (e.g. chmod 0644, or group edge-anomaly with 0640)"
        ) from exc
    except OSError as exc:
        raise ModelError(f"model {path} cannot be read: {exc.strerror or exc}; {_FIX}") from exc
    meta, weights = verify_model_bytes(data, path)
    try:
        session = open_session(data)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"onnxruntime cannot load model {path}: {exc}") from exc
    _check_signature(session, meta, path)
    log.debug("loaded model %s (weights %s, %s)", path, weights[:12], meta.precision)
    return LoadedModel(path=path, metadata=meta, weights_sha256=weights, session=session)
