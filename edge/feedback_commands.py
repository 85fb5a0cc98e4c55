"""``edge-agent ack`` and ``edge-agent label``: a technician's word on an alert, stored with the recordings."""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from edge import recording
from edge.core.timestamps import parse_timestamp
from edge.errors import ConfigError
from edge.feedback import AlertRecord, Verdict, add_feedback, find_alert, read_verdicts

DEFAULT_CONFIG = Path("/etc/edge-anomaly/config.toml")
WHAT_LABELS_DO = {
    "false-alarm": "edge-export keeps its readings for training (they are normal), and says if the new model "
    "would still alert on them",
    "confirmed": "edge-export leaves its readings out of training, and says if the new model would alert on them",
}


def _unix(text: str | None) -> float | None:
    return None if text is None else parse_timestamp(text)


def recent_alerts(runtime_dir: Path) -> list[AlertRecord]:
    """The status file's last alerts (its latest entry per id), or none when there is no readable status file."""
    from edge.service.status import read_status

    try:
        summary = read_status(runtime_dir)
    except (OSError, ValueError):
        return []
    found: dict[str, AlertRecord] = {}
    for entry in summary.get("last_alerts", []):
        try:
            start = _unix(entry["start"])
            found[entry["id"]] = AlertRecord(
                entry["id"],
                entry["sensor"],
                start or 0.0,
                _unix(entry.get("end")),
                float(entry.get("score", 0.0)),
                tuple(entry.get("channels", ())),
            )
        except (KeyError, TypeError, ValueError):
            continue
    return list(found.values())


def annotate_alerts(summary: dict[str, Any]) -> None:
    """Add to each of the status file's last alerts what was said of it (``acked by ann, false-alarm``), when
    the recordings folder is readable here (it is the agent's own: with sudo)."""
    folder = summary.get("recordings")
    if not folder:
        return
    verdicts: dict[str, Verdict] = {}
    for sensor in {a.get("sensor", "") for a in summary.get("last_alerts", [])}:
        try:
            verdicts.update(read_verdicts(Path(folder) / recording.sensor_folder(sensor)))
        except OSError:
            return  # not readable by this user
    for alert in summary.get("last_alerts", []):
        verdict = verdicts.get(alert.get("id", ""))
        if verdict is not None:
            said = [f"acked by {verdict.acked_by}"] if verdict.acked_at is not None else []
            said += [verdict.label] if verdict.label else []
            alert["feedback"] = ", ".join(said)


def _who() -> str:
    """The person: sudo's caller, else the login."""
    import getpass  # here, not at the top: it loads termios, for no other command

    return os.environ.get("SUDO_USER") or getpass.getuser()


def give_feedback(args: argparse.Namespace) -> int:
    """``ack`` (``args.label`` None) and ``label``: find the alert, append the feedback, say what it does."""
    from edge.config import load_config

    config = load_config(args.config)
    root = config.recorder.folder_path(config.agent)
    try:
        alert = find_alert(root, args.alert_id, recent_alerts(config.agent.runtime_path()))
    except LookupError as exc:
        raise ConfigError(str(exc)) from None
    label: Any = getattr(args, "label", None)
    note = getattr(args, "note", None) or ""
    path = add_feedback(root, alert, at=time.time(), by=args.by or _who(), via="cli", label=label, note=note)
    when = datetime.fromtimestamp(alert.start).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    where = f"{alert.sensor}/{'+'.join(alert.channels) or '?'}"
    said = "acknowledged" if label is None else f"labelled {label}"
    print(f"alert {alert.id} ({where}, since {when}, peak score {alert.score:.3f}) {said}; stored in {path}")
    if label is not None:
        print(f"  {WHAT_LABELS_DO[label]}")
    if not config.recorder.enabled:
        print("  note: [recorder] is off, so no readings are kept to retrain on; enable it to close the loop")
    return 0


def add_parsers(command: Any) -> None:
    """The ``ack`` and ``label`` subcommands (``command(name, help)`` makes a subparser)."""
    from edge.feedback import LABELS, MIN_PREFIX

    for name, text in (
        ("ack", "acknowledge an alert: someone has seen it (stored with the recordings)"),
        ("label", "say whether an alert was a false alarm or a confirmed anomaly, for the next model's training"),
    ):
        parser = command(name, text)
        parser.add_argument(
            "alert_id", metavar="ALERT_ID", help=f"the id of its ALERT line (or its first {MIN_PREFIX}+ characters)"
        )
        if name == "label":
            parser.add_argument("label", choices=LABELS, help="false-alarm: it was normal; confirmed: it was real")
            parser.add_argument("--note", metavar="TEXT", help="what was found (kept with the label)")
        parser.add_argument(
            "--config",
            type=Path,
            default=DEFAULT_CONFIG,
            metavar="TOML",
            help="the agent's config: where its recordings are (default: %(default)s)",
        )
        parser.add_argument("--by", metavar="NAME", help="who says so (default: sudo's caller, else your login)")
        parser.set_defaults(run=give_feedback)
