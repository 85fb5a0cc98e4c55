"""A reload's handover: what a new pipeline takes on from the one it replaces."""

from __future__ import annotations

from typing import Any

from edge.core.events import Event
from edge.pipeline import Pipeline
from edge.service.checkpoint import restore_detectors


def hand_over(old: Pipeline, new: Pipeline, states: dict[str, dict[str, Any]]) -> list[Event]:
    """Give ``new`` the detectors' ``states`` (taken from ``old``), their counters, faults and open alerts.

    Returns the CLEARs of the alerts ``new``'s settings judge afresh, for the caller to dispatch once ``new``
    runs (none when ``new`` has ``old``'s settings: a fallback to the running configuration).
    """
    restore_detectors(states, new.detectors, "the previous configuration")
    closed: list[Event] = []
    for name, detector in new.detectors.items():
        if name in old.detectors:
            closed += detector.carry_over(old.detectors[name])
    new.recent_alerts.extend(old.recent_alerts)
    new.carry_over(old)
    return closed
