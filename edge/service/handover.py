"""A reload's handover: what a new pipeline takes on from the one it replaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.config import AgentConfig
from edge.core.events import Event
from edge.errors import ModelError
from edge.model.loader import LoadedModel, load_model
from edge.pipeline import Pipeline
from edge.service.checkpoint import restore_detectors


def reload_models(
    config: AgentConfig, running: Mapping[str, LoadedModel]
) -> tuple[dict[str, LoadedModel], dict[str, str]]:
    """Each model of ``config``, its file verified afresh, and why the ones kept back were kept back.

    A model whose file did not change keeps its session. A model whose new file fails verification keeps
    running as it was loaded (its reason is returned by name), so one bad copy does not stop the others'
    reload; a model new to the config whose file fails raises its ``ModelError``.
    """
    models: dict[str, LoadedModel] = {}
    refused: dict[str, str] = {}
    for section in config.models:
        current = running.get(section.name)
        try:
            loaded = load_model(section.path)
        except ModelError as exc:
            if current is None:
                raise
            models[section.name] = current
            refused[section.name] = (
                f"{exc}; model {section.name}'s sensors go on with the model loaded before "
                f"(weights {current.weights_sha256[:12]})"
            )
            continue
        same = current is not None and (current.path, current.weights_sha256, current.metadata) == (
            loaded.path,
            loaded.weights_sha256,
            loaded.metadata,
        )
        models[section.name] = current if same and current is not None else loaded
    return models, refused


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
