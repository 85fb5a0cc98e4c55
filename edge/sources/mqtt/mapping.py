"""The ``mqtt`` source's map and intake (pure: no broker, no paho): which topic and field hold each channel,
and messages into complete readings.

Two ways to map channels: one topic with a JSON object per message and a field path per channel, or a topic
per channel, each message a plain number, combined into one reading by :class:`Combiner`.

>>> m = ChannelMap.build(("temperature", "vibration"), topic="pump/state",
...                      fields={"temperature": "temp_c", "vibration": {"field": "vib.rms", "unit": "mm/s"}})
>>> m.decode("pump/state", b'{"temp_c": 21.5, "vib": {"rms": 0.25}}'), m.units
(([(0, 21.5), (1, 0.25)], None), ('', 'mm/s'))
>>> intake = Intake(m, lambda level, text: print(text))
>>> intake.take("pump/state", 7, b'{"temp_c": "warm"}')  # doctest: +ELLIPSIS
malformed payload on pump/state: temp_c is a string, not a number: '{"temp_c": "warm"}'; skipping such ...
>>> intake.take("pump/state", 8, b'{"temp_c": 21.5, "vib": {"rms": 0.25}}')
good payloads on pump/state again, 1 malformed skipped
((21.5, 0.25), None)
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from edge.sources.mqtt.payload import (
    BadPayload,
    as_number,
    excerpt,
    kind,
    load_json,
    lookup,
    plain_number,
    split_path,
    to_seconds,
)


def map_entries(table: Any, key: str) -> dict[str, tuple[str, str | None]]:
    """``fields``/``topics``: channel -> ``"where"`` or ``{ <key> = "where", unit = "degC" }``; ValueError."""
    name = "fields" if key == "field" else "topics"
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{name} must be a table of channel = {key}, not {table!r}")
    entries = {}
    for channel, entry in table.items():
        if isinstance(entry, dict) and set(entry) <= {key, "unit"} and isinstance(entry.get(key), str):
            unit = entry.get("unit")
            if unit is not None and not isinstance(unit, str):
                raise ValueError(f"{name}.{channel}: unit must be a string, not {unit!r}")
            entries[channel] = (entry[key], unit)
        elif isinstance(entry, str):
            entries[channel] = (entry, None)
        else:
            raise ValueError(f'{name}.{channel} must be a string or {{ {key} = "...", unit = "..." }}, not {entry!r}')
    return entries


def check_topic(topic: str, where: str) -> None:
    """A topic to subscribe to: not empty, no wildcards (each maps to known channels)."""
    if not topic or any(c in topic for c in "+#\0"):
        raise ValueError(f"{where} {topic!r} must be a topic name, not empty and without the wildcards + and #")


@dataclass(frozen=True)
class ChannelMap:
    """Which model channel comes from which topic (and field); the units the map states."""

    channels: tuple[str, ...]
    routes: dict[str, tuple[tuple[int, tuple[str, ...] | None], ...]]  # topic -> (channel index, path or None)
    units: tuple[str, ...] | None
    timestamp: tuple[str, ...] | None  # a field path; None: the time of arrival
    per_topic: bool

    @staticmethod
    def build(
        channels: tuple[str, ...],
        topic: str | None = None,
        fields: Any = None,
        topics: Any = None,
        timestamp: str = "arrival",
    ) -> ChannelMap:
        """The map for the model's ``channels``; ValueError when it does not name exactly them."""
        if (topic is None) == (topics is None) or (topic is None) != (fields is None):
            raise ValueError("give either topic and fields (one JSON topic) or topics (a topic per channel)")
        entries = map_entries(fields, "field") if topic is not None else map_entries(topics, "topic")
        if set(entries) != set(channels):
            raise ValueError(
                f"the map names channels {list(entries)} but the model has {list(channels)} (missing: "
                f"{[c for c in channels if c not in entries] or 'none'}; not in the model: "
                f"{[c for c in entries if c not in channels] or 'none'}); map each model channel once"
            )
        routes: dict[str, list[tuple[int, tuple[str, ...] | None]]] = {}
        for channel, (where, _) in entries.items():
            index = channels.index(channel)
            if topic is not None:
                routes.setdefault(topic, []).append((index, split_path(where)))
            else:
                check_topic(where, f"topics.{channel}")
                routes.setdefault(where, []).append((index, None))
        if topic is not None:
            check_topic(topic, "topic")
        elif timestamp != "arrival":
            raise ValueError('timestamp must be "arrival" with a topic per channel (plain numbers carry no time)')
        stated = [entries[c][1] for c in channels]
        units = tuple(u or "" for u in stated) if any(u is not None for u in stated) else None
        stamp = None if timestamp == "arrival" else split_path(timestamp)
        return ChannelMap(channels, {t: tuple(r) for t, r in routes.items()}, units, stamp, topic is None)

    def decode(self, topic: str, payload: bytes) -> tuple[list[tuple[int, float]], float | None]:
        """(channel index, value) pairs and the payload's time (None: use the arrival); BadPayload if bad."""
        routes = self.routes.get(topic)
        if routes is None:
            raise BadPayload("a topic this source does not map")
        if self.per_topic:
            return [(index, plain_number(payload)) for index, _ in routes], None
        document = load_json(payload)
        if not isinstance(document, dict):
            raise BadPayload(f"{kind(document)}, not a JSON object")
        values = [(index, as_number(lookup(document, path), ".".join(path))) for index, path in routes if path]
        stamp = self.timestamp
        return values, None if stamp is None else to_seconds(lookup(document, stamp), ".".join(stamp))

    def show(self, found: dict[int, float], units: tuple[str, ...] | None) -> str:
        """``temperature=21.5 degC, vibration=0.25 mm/s`` (and which channels had nothing)."""
        units = units or ("",) * len(self.channels)
        shown = [f"{self.channels[i]}={v:g}{' ' + units[i] if units[i] else ''}" for i, v in sorted(found.items())]
        missing = [c for i, c in enumerate(self.channels) if i not in found]
        return ", ".join(shown) + (f"; nothing yet for {', '.join(missing)}" if missing else "")


class Combiner:
    """Topic per channel: a reading when every channel has a value that came since the last reading.

    A channel that publishes again first has its newer value kept (counted in ``superseded``); a channel
    that stops publishing stops the readings, which the detector reports as stale.
    """

    def __init__(self, size: int) -> None:
        self.latest: list[float | None] = [None] * size
        self.superseded = 0

    def feed(self, values: list[tuple[int, float]]) -> tuple[float, ...] | None:
        """Take new values; the complete reading if this completed one."""
        for index, value in values:
            self.superseded += self.latest[index] is not None
            self.latest[index] = value
        if any(v is None for v in self.latest):
            return None
        complete = tuple(v for v in self.latest if v is not None)
        self.latest = [None] * len(self.latest)
        return complete


class Recent:
    """The last ``size`` messages' keys: a QoS 1 redelivery (DUP flag) of one of them is a duplicate."""

    def __init__(self, size: int = 1024) -> None:
        self.order: deque[Hashable] = deque()
        self.count: dict[Hashable, int] = {}
        self.size = size

    def seen(self, key: Hashable) -> bool:
        """Whether ``key`` is among the last ``size``; remember it either way."""
        known = key in self.count
        self.order.append(key)
        self.count[key] = self.count.get(key, 0) + 1
        if len(self.order) > self.size:
            old = self.order.popleft()
            self.count[old] -= 1
            if not self.count[old]:
                del self.count[old]
        return known


class Intake:
    """Messages into readings' values: retained ones and QoS 1 redeliveries skipped, malformed ones counted
    and said once per streak (per topic: the first, with what was wrong; then how many, when good ones return)."""

    def __init__(self, channel_map: ChannelMap, say: Callable[[int, str], None]) -> None:
        self.map, self.say = channel_map, say
        self.combiner, self.recent = Combiner(len(channel_map.channels)), Recent()
        self.bad: dict[str, int] = {}  # topic -> malformed payloads in the streak going on
        self.counts: Counter[str] = Counter(dict.fromkeys(("readings", "malformed", "duplicates", "retained"), 0))

    def take(
        self, topic: str, mid: int, payload: bytes, retained: bool = False, dup: bool = False
    ) -> tuple[tuple[float, ...], float | None] | None:
        """A complete reading's values and its payload time (None: stamp it on arrival), or None."""
        if retained:  # the broker's last kept value, sent at each subscribe: of unknown age
            self.counts["retained"] += 1
            return None
        if self.recent.seen((topic, mid, payload)) and dup:  # a redelivery (same packet id) of one taken
            self.counts["duplicates"] += 1
            return None
        try:
            values, stamp = self.map.decode(topic, payload)
        except BadPayload as exc:
            self.counts["malformed"] += 1
            self.bad[topic] = self.bad.get(topic, 0) + 1
            if self.bad[topic] == 1:
                self.say(
                    logging.WARNING,
                    f"malformed payload on {topic}: {exc}: {excerpt(payload)}; skipping such messages "
                    "(said again when good ones come back)",
                )
            return None
        if skipped := self.bad.pop(topic, 0):
            self.say(logging.INFO, f"good payloads on {topic} again, {skipped} malformed skipped")
        complete = self.combiner.feed(values) if self.map.per_topic else tuple(v for _, v in sorted(values))
        if complete is None:
            return None
        self.counts["readings"] += 1
        return complete, stamp
