"""The status file under the runtime directory, and ``edge-agent status`` reading it back."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.core.events import Alert, iso_time
from edge.files import write_json_atomic

if TYPE_CHECKING:  # status is read by `edge-agent status`, which must not load numpy and onnxruntime
    from edge.pipeline import Pipeline

FILE_NAME = "status.json"


def summary_line(pipeline: Pipeline | None) -> str:
    """The one-line STATUS= and log summary."""
    if pipeline is None:
        return "starting"
    parts = []
    for source in pipeline.sources:
        detector = pipeline.detectors[source.sensor]
        c = detector.counters
        state = "ALERT" if detector.alert else "fault" if detector.faults.active else "ok"
        dropped = sum(v for k, v in pipeline.source_counters(source).items() if k.startswith("dropped"))
        parts.append(
            f"{source.sensor} {state} readings={c.readings} scored={c.scored} alerts={c.alerts} "
            f"faults={c.faults} dropped={dropped}"
        )
    failed = sum(guard.totals()["failed"] for guard in pipeline.sinks)
    return "; ".join(parts) + (f"; sink failures={failed}" if failed else "")


def status_summary(
    pipeline: Pipeline,
    started: float,
    config_path: Path | None,
    state: str,
    last_reload: dict[str, Any] | None = None,
    recorder: dict[str, int] | None = None,
    recordings: Path | None = None,
) -> dict[str, Any]:
    """Everything ``edge-agent status`` shows, as JSON-ready data (``recorder``: its counters, when it records)."""
    sensors: dict[str, Any] = {}
    for source in pipeline.sources:
        detector = pipeline.detectors[source.sensor]
        reading = pipeline.last_readings.get(source.sensor)
        active = ", ".join(sorted(detector.faults.active))
        sensors[source.sensor] = {
            "model": detector.model_name,
            "weights_sha256": detector.model_sha256,
            "threshold": detector.settings.decision.threshold,
            "units": dict(zip(detector.channels, detector.units)) if any(detector.units) else None,
            "state": "alert"
            if detector.alert
            else f"fault ({active})"
            if active
            else "warming up"
            if detector.counters.scored == 0
            else "scoring",
            "last_reading": None
            if reading is None
            else {
                "time": iso_time(reading.timestamp),
                "values": dict(zip(detector.channels, reading.values)),
            },
            "counters": {
                **vars(detector.counters),
                **detector.faults.counts,
                "suppressed": detector.policy.suppressed,
                "protected": detector.scorer.protected,
            },
            "source": pipeline.source_counters(source),
            "residual_scale": detector.scorer.residual_scale.round(6).tolist(),
            "scorer": detector.scorer.label,
            "condition": detector.condition.label,
        }
    alerts = []
    for event in pipeline.recent_alerts:
        alert = event.subject
        if not isinstance(alert, Alert):
            continue  # only alerts and clears are kept there
        alerts.append(
            {
                "event": event.kind,
                "id": alert.id,
                "sensor": alert.sensor,
                "channels": list(alert.channels),
                "score": round(alert.score, 6),
                "start": iso_time(alert.start),
                "end": iso_time(alert.end),
            }
        )
    return {
        "pid": os.getpid(),
        "state": state,
        "started": iso_time(started),
        "updated": iso_time(time.time()),
        "uptime_s": round(time.time() - started, 1),
        "config": None if config_path is None else str(config_path),
        "models": {
            name: {
                "path": str(model.path),
                "weights_sha256": model.weights_sha256,
                "precision": model.metadata.precision,
                "channels": list(model.metadata.channels),
                "threshold": model.metadata.threshold,
                "sensors": [sensor for sensor, of in pipeline.model_of.items() if of == name],
            }
            for name, model in pipeline.models.items()
        },
        "sensors": sensors,
        "sinks": {guard.sink.describe(): guard.totals() for guard in pipeline.sinks},
        "last_alerts": alerts,
        "last_reload": last_reload,
        "recorder": recorder,
        "recordings": None if recordings is None else str(recordings),  # where alert feedback is kept
    }


def write_status(runtime_dir: Path, summary: dict[str, Any]) -> None:
    """Replace the status file atomically (no fsync: it lives on tmpfs and is rewritten often).

    It is world-readable so that ``edge-agent status`` works without sudo; it holds no secrets.
    """
    write_json_atomic(runtime_dir / FILE_NAME, summary, durable=False, mode=0o644)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def with_unit(value: float, unit: str) -> str:
    """A value as the technician reads it: ``74.84 degC`` (4 significant digits), ``0.31`` without a unit.

    >>> with_unit(74.8412, "degC"), with_unit(0.3125, "")
    ('74.84 degC', '0.3125')
    """
    return f"{value:.4g} {unit}" if unit else f"{value:.4g}"


def format_status(summary: dict[str, Any]) -> str:
    """The human form of a status file."""
    pid = summary.get("pid", 0)
    running = summary.get("state") in ("running", "starting") and _alive(int(pid))
    lines = [
        f"edge-agent {'running' if running else 'not running'} (pid {pid}, state {summary.get('state')}), "
        f"up {summary.get('uptime_s', 0):.0f} s since {summary.get('started')}, updated {summary.get('updated')}"
    ]
    for name, model in summary.get("models", {}).items():
        weights = str(model.get("weights_sha256"))[:12]
        lines.append(
            f"model {name}: {model.get('path')} ({model.get('precision')}, weights {weights}), channels "
            f"{', '.join(model.get('channels', []))}; sensors {', '.join(model.get('sensors', [])) or 'none'}"
        )
    for name, sensor in summary.get("sensors", {}).items():
        reading = sensor.get("last_reading")
        units = sensor.get("units") or {}
        last = (
            "no reading yet"
            if reading is None
            else f"last {reading['time']}: "
            + ", ".join(f"{k}={with_unit(v, units.get(k, ''))}" for k, v in reading["values"].items())
        )
        counters = " ".join(f"{k}={v}" for k, v in sensor.get("counters", {}).items())
        source = " ".join(f"{k}={v}" for k, v in sensor.get("source", {}).items())
        scored_by = f"model {sensor.get('model')}, threshold {float(sensor.get('threshold') or 0):.3f}"
        lines.append(f"sensor {name}: {sensor.get('state')} ({scored_by}); {last}")
        lines.append(f"  counters {counters}")
        if source:
            lines.append(f"  source   {source}")
    for name, counts in summary.get("sinks", {}).items():
        lines.append(f"sink {name}: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    recorder = summary.get("recorder")
    if recorder:
        lines.append("recorder: " + " ".join(f"{k}={v}" for k, v in recorder.items()))
    reload = summary.get("last_reload")
    if reload:
        verdict = "ok" if reload["ok"] else "FAILED, the previous configuration runs on"
        lines.append(f"last reload {reload['at']}: {verdict}: {reload['detail']}")
    alerts = summary.get("last_alerts", [])
    lines.append(f"last alerts: {'none' if not alerts else ''}")
    for alert in alerts[-10:]:
        said = f" [{alert['feedback']}]" if alert.get("feedback") else ""
        lines.append(
            f"  {alert['event']:5} {alert['sensor']}/{'+'.join(alert['channels'])} score={alert['score']:.3f} "
            f"start={alert['start']} end={alert['end'] or '-'} id={alert['id']}{said}"
        )
    return "\n".join(lines)


def read_status(runtime_dir: Path) -> dict[str, Any]:
    """Load the status file; raises ``OSError``/``ValueError`` when it is missing or broken."""
    return json.loads((runtime_dir / FILE_NAME).read_text(encoding="utf-8"))
