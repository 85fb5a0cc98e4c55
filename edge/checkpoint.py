"""Checkpoints: each sensor's detector state under the state directory, restored at start.

Restoring is what lets a restart (an upgrade, a watchdog kick, a power cut) continue
without a long blind warm-up. The state belongs to one model: a checkpoint written for
another model's weights is ignored. If the stream did not continue (the first reading
after the restart is too late, or its sequence number skips), the fault monitor sees the
gap and only the model's short warm-up is repeated; the learned error scale stays.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from edge.detector import Detector
from edge.files import write_json_atomic

log = logging.getLogger(__name__)

FILE_NAME = "checkpoint.json"
FORMAT = 1


def save_checkpoint(state_dir: Path, detectors: dict[str, Detector]) -> Path:
    """Write every detector's state atomically; returns the file."""
    path = state_dir / FILE_NAME
    write_json_atomic(path, {"format": FORMAT, "sensors": {name: d.state() for name, d in detectors.items()}})
    return path


def read_checkpoint(state_dir: Path) -> dict[str, Any]:
    """The saved per-sensor states, or nothing when there is no usable checkpoint."""
    path = state_dir / FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("checkpoint %s cannot be read (%s); starting with a warm-up", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sensors"), dict):
        log.warning("checkpoint %s has an unknown format; starting with a warm-up", path)
        return {}
    return data["sensors"]


def restore_detectors(states: dict[str, Any], detectors: dict[str, Detector], origin: str) -> list[str]:
    """Restore each detector whose saved state fits; returns the sensors restored."""
    restored = []
    for name, detector in detectors.items():
        state = states.get(name)
        if state is None:
            continue
        try:
            detector.restore(state)
        except (KeyError, TypeError, ValueError) as exc:
            log.info("sensor %s: saved state from %s not used (%s); starting with a warm-up", name, origin, exc)
            continue
        restored.append(name)
    return restored
