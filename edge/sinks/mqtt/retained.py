"""The retained topics the mqtt sink leaves on the broker (discovery configs, telemetry states), remembered.

A retained message outlives the agent: a sensor taken out of the config would keep its Home Assistant entity
forever. The sink writes the topics it left to ``mqtt-retained.json`` under ``state_dir``; at the next
announcement, the ones no longer wanted are cleared with an empty retained payload (which is how MQTT
discovery removes an entity).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge.files import write_json_atomic
from edge.sinks.mqtt import discovery
from edge.sinks.mqtt.payload import encode

log = logging.getLogger(__name__)

Publish = Callable[..., int | None]  # (topic, payload, qos, retain=...) -> paho's mid, or None when refused


class RetainedTopics:
    """What this sink left retained before, and the announcement that replaces it."""

    def __init__(self, path: Path, owner: str) -> None:
        self.path = path
        self.owner = owner  # the sink, for log lines

    def before(self) -> list[str]:
        """The retained topics this sink left on the broker before, if its file says."""
        try:
            topics = json.loads(self.path.read_text()).get("topics", [])
        except FileNotFoundError:
            return []
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("%s: cannot read %s (%s); nothing is cleared", self.owner, self.path, exc)
            return []
        return [t for t in topics if isinstance(t, str)]

    def announce(self, publish: Publish, configs: Mapping[str, dict[str, Any]], states: list[str]) -> int:
        """Clear what is no longer wanted, publish ``configs`` (retained, QoS 1), remember ``configs`` and
        ``states``; returns how many configs were handed to paho."""
        wanted = [*configs, *states]
        left = self.before()
        for topic, payload in discovery.removal([t for t in left if t not in wanted]):
            publish(topic, payload, 1, retain=True)
        published = sum(publish(topic, encode(config), 1, retain=True) is not None for topic, config in configs.items())
        if sorted(left) != sorted(wanted):
            try:
                if wanted:
                    write_json_atomic(self.path, {"topics": wanted}, durable=False)
                else:
                    self.path.unlink(missing_ok=True)
            except OSError as exc:  # only the clean-up of a later change depends on it
                log.warning("%s: cannot write %s: %s", self.owner, self.path, exc)
        return published
