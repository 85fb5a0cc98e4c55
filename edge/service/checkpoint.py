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
import time
from pathlib import Path
from typing import Any

from edge.core.detector import Detector, ModelMismatch
from edge.files import write_json_atomic

log = logging.getLogger(__name__)

FILE_NAME = "checkpoint.json"
FORMAT = 1


def save_checkpoint(state_dir: Path, detectors: dict[str, Detector]) -> Path:
    """Write every detector's state atomically; returns the file."""
    path = state_dir / FILE_NAME
    write_json_atomic(path, {"format": FORMAT, "sensors": {name: d.state() for name, d in detectors.items()}})
    return path


def set_aside(path: Path, problem: str) -> None:
    """Rename a damaged checkpoint out of the way (kept for a look), logged once; the next save writes anew."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}")
    try:
        path.rename(aside)
        where = f"moved to {aside}"
    except OSError as exc:
        where = f"could not be moved aside ({exc.strerror or exc}); it is overwritten at the next checkpoint"
    log.warning("checkpoint %s %s; %s; starting with a warm-up", path, problem, where)


def read_checkpoint(state_dir: Path) -> dict[str, Any]:
    """The saved per-sensor states, or nothing when there is no usable checkpoint (a damaged one is set aside)."""
    path = state_dir / FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        set_aside(path, f"cannot be read ({exc})")
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sensors"), dict):
        set_aside(path, "has an unknown format")
        return {}
    return data["sensors"]


def restore_detectors(
    states: dict[str, Any], detectors: dict[str, Detector], origin: str, checkpoint: Path | None = None
) -> list[str]:
    """Restore each detector whose saved state fits; returns the sensors restored.

    A state of another model is skipped (an upgrade); a state that does not validate is damage: the
    ``checkpoint`` file it came from is set aside and that sensor starts with a warm-up.
    """
    restored, damaged = [], []
    for name, detector in detectors.items():
        state = states.get(name)
        if state is None:
            continue
        try:
            detector.restore(state)
        except ModelMismatch as exc:
            log.info("sensor %s: saved state from %s not used (%s); starting with a warm-up", name, origin, exc)
            continue
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            damaged.append(f"{name}: {exc}")
            continue
        restored.append(name)
    if damaged:
        if checkpoint is not None and checkpoint.exists():
            set_aside(checkpoint, f"holds state that does not validate ({'; '.join(damaged)})")
        else:
            log.warning("saved state from %s not used (%s); starting with a warm-up", origin, "; ".join(damaged))
    return restored
