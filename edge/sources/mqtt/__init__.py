"""``mqtt``: readings of sensors that already publish to an MQTT broker (paho-mqtt 2.x).

One topic with a JSON object per message and a field per channel, or a topic per channel carrying a plain
number (see :mod:`edge.sources.mqtt.payload` for the map, the payloads and how topics combine). The session is
persistent (``clean_session`` false, QoS 1 by default, a client id stable per gateway and sensor), so the
broker keeps what is published while the agent is stopped or disconnected, and delivers it on reconnect.

paho's network loop runs on its own thread (``loop_start``) and puts each message, stamped on arrival, in a
bounded queue that ``read`` drains (beyond ``queue_max`` messages are dropped and counted). A QoS 1 message
redelivered with the DUP flag after a reconnect, with the packet id and payload of one already taken, is
dropped as a duplicate. Retained messages (the broker's last kept value, sent at each subscribe, of unknown
age) are skipped. A lost broker is a :class:`SourceFault`, cleared on reconnect.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from edge.core.events import Reading, SourceFault
from edge.errors import ConfigError, EdgeError
from edge.mqtt_connection import ConnectionConfig, config_files, default_port, make_client, peers, refusal_hint
from edge.plugins import PluginContext, read_sample
from edge.service.reachability import why_unreachable
from edge.sources.base import Source, SourceConfig
from edge.sources.mqtt.mapping import ChannelMap, Intake
from edge.sources.mqtt.payload import BadPayload, excerpt

__all__ = ["PLUGIN", "SAMPLE", "Config", "MqttSource", "peers"]

log = logging.getLogger(__name__)

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it
BATCH = 1000  # messages one read turns into readings at most
Message = tuple[str, int, bytes, bool, bool, float]  # topic, packet id, payload, retained, dup, arrival


@dataclass(frozen=True, kw_only=True)
class Config(ConnectionConfig, SourceConfig):
    """Keys of an ``mqtt`` source: the sensor, the broker's connection (as the sink's), the map."""

    topic: str | None = None
    fields: dict[str, Any] | None = None
    topics: dict[str, Any] | None = None
    timestamp: str = "arrival"
    queue_max: int = 10_000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.queue_max < 1:
            raise ValueError(f"queue_max {self.queue_max} must be at least 1")
        named = self.fields if self.topic is not None else self.topics
        ChannelMap.build(
            tuple(named) if isinstance(named, dict) else (), self.topic, self.fields, self.topics, self.timestamp
        )


class MqttSource(Source):
    """Subscribes to the map's topics and turns their messages into readings."""

    LEVELS = frozenset({"queued"})

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config, self.sensor = config, config.sensor
        try:
            self.map = ChannelMap.build(context.channels, config.topic, config.fields, config.topics, config.timestamp)
        except ValueError as exc:
            raise ConfigError(f"mqtt source {self.sensor!r}: {exc}") from None
        self.checking = context.checking  # a probe beside the service: its own client id, a clean session
        self.client_id = (config.client_id or f"edge-agent-{context.gateway_id}-{self.sensor}") + (
            "-check" if self.checking else ""
        )
        self.port = default_port(config)
        self.where = f"{config.host}:{self.port}"
        self.files = config_files(config, context)
        self._clock = context.hardware.clock
        self._messages: queue.Queue[Message] = queue.Queue(config.queue_max)
        self._faults: queue.SimpleQueue[SourceFault] = queue.SimpleQueue()
        self._client: Any = None
        self._lock = threading.Lock()
        self._connected = self._closed = self._dropping = False
        self._subscribed = threading.Event()
        self._trouble: tuple[str, str] | None = None  # the standing fault's kind and message
        self._down_since: float | None = None
        self.intake = Intake(self.map, self._say)
        self.counts = dict.fromkeys(("messages", "dropped", "connects", "reconnects"), 0)  # paho's thread's

    # -- lifecycle and paho's callbacks (paho's thread) -------------------------------------------------

    def open(self) -> None:
        """Start connecting in the background; never waits for the broker (a fault says when it is away)."""
        if self._client is not None:
            return
        client = make_client(self.config, self.client_id, self.files, clean_session=self.checking)
        for event in ("connect", "connect_fail", "disconnect", "subscribe", "message"):
            setattr(client, f"on_{event}", getattr(self, f"_on_{event}"))
        self._client = client
        self._down_since = self._clock.monotonic()
        client.connect_async(self.config.host, self.port, keepalive=self.config.keepalive_s)
        client.loop_start()

    def _say(self, level: int, text: str) -> None:
        log.log(level, "mqtt source %r: %s", self.sensor, text)

    def _fault(self, kind: str, message: str) -> None:
        """Report a fault once per streak (a lost connection that still cannot reconnect is the same one)."""
        with self._lock:
            if self._trouble is not None and self._trouble[0] == kind:
                return
            self._trouble = (kind, message)
        self._say(logging.DEBUG, message)  # the log sink prints the fault
        self._faults.put(SourceFault(self.sensor, self._clock.time(), message))

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._fault("refused", f"MQTT broker {self.where} refused the connection: {reason}; {refusal_hint(reason)}")
            return
        client.subscribe([(topic, self.config.qos) for topic in self.map.routes])
        with self._lock:
            self._connected = True
            self.counts["reconnects"] += self.counts["connects"] > 0
            self.counts["connects"] += 1
            trouble, self._trouble = self._trouble, None
            since, self._down_since = self._down_since, None
        session = "clean" if self.checking else "resumed" if flags.session_present else "new"
        if session == "new" and self.counts["reconnects"]:  # the broker forgot the session: a restart without it
            session = "new: the broker kept nothing, messages published meanwhile are lost; set persistence true"
        level = logging.WARNING if session.startswith("new:") else logging.INFO
        self._say(level, f"connected to {self.where} as {self.client_id} (session {session})")
        if trouble is not None:
            outage = self._clock.monotonic() - (since or self._clock.monotonic())
            message = f"MQTT broker {self.where} connected again after {outage:.1f} s (session {session})"
            self._faults.put(SourceFault(self.sensor, self._clock.time(), message, cleared=True))

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        reason = why_unreachable(self.config.host, self.port)
        retry = f"{self.config.reconnect_min_s:g}-{self.config.reconnect_max_s:g} s"
        self._fault("down", f"MQTT broker {self.where} cannot be reached ({reason}); retrying every {retry}")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            was, self._connected = self._connected, False
            if was:
                self._down_since = self._clock.monotonic()
        if was and not self._closed:
            why = "the broker stopped or the network failed" if str(reason) == "Unspecified error" else reason
            self._fault("down", f"MQTT broker {self.where} connection lost ({why}); reconnecting")

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            topics = ", ".join(self.map.routes)
            hint = "the broker's ACL must let this user read them (mosquitto: topic read <topic>)"
            self._fault(
                "subscribe", f"MQTT broker {self.where} refused the subscription to {topics}: {refused[0]}; {hint}"
            )
            return
        self._subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.counts["messages"] += 1
        item = (message.topic, message.mid, bytes(message.payload), message.retain, message.dup, self._clock.time())
        try:
            self._messages.put_nowait(item)
            self._dropping = False
        except queue.Full:
            self.counts["dropped"] += 1
            if not self._dropping:
                self._say(logging.WARNING, f"{self.config.queue_max} messages wait to be read; dropping new ones")
            self._dropping = True

    def close(self) -> None:
        """Disconnect (the broker keeps the session and queues what comes meanwhile); safe to call twice."""
        client, self._client = self._client, None
        if client is not None and not self._closed:
            self._closed = True
            client.disconnect()
            client.loop_stop()

    # -- reading (the source's thread) -----------------------------------------------------------------

    def read(self, timeout: float) -> list[Reading | SourceFault]:
        """Faults and the readings of the messages that came, waiting at most ``timeout`` for the first."""
        out: list[Reading | SourceFault] = []
        while not self._faults.empty():
            out.append(self._faults.get())
        try:
            first = self._messages.get(timeout=0.0 if out else max(0.0, timeout))
        except queue.Empty:
            return out
        out += self._reading(first)
        return out + self.read_buffered()

    def read_buffered(self) -> list[Reading | SourceFault]:
        """The readings of the messages already queued, without waiting."""
        out: list[Reading | SourceFault] = []
        for _ in range(BATCH):
            try:
                out += self._reading(self._messages.get_nowait())
            except queue.Empty:
                break
        return out

    def _reading(self, message: Message) -> list[Reading | SourceFault]:
        topic, mid, payload, retained, dup, arrival = message
        taken = self.intake.take(topic, mid, payload, retained, dup)
        if taken is None:
            return []
        values, stamp = taken
        return [Reading(self.sensor, arrival if stamp is None else stamp, values)]

    # -- reporting ---------------------------------------------------------------------------------------

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check``: subscribe and show what one message (or one per topic) maps to."""
        deadline = self._clock.monotonic() + timeout
        found: dict[int, float] = {}
        problems: list[str] = []
        while len(found) < len(self.map.channels) and (left := deadline - self._clock.monotonic()) > 0:
            if self._trouble is not None and self._trouble[0] != "down":
                raise ConfigError(self._trouble[1])
            try:
                topic, _, payload, *_ = self._messages.get(timeout=min(0.1, left))
                found.update(self.map.decode(topic, payload)[0])
            except queue.Empty:
                pass
            except BadPayload as exc:
                problems.append(f"{topic}: {exc}: {excerpt(payload)}")
        if not self._subscribed.is_set():
            reason = self._trouble[1] if self._trouble else why_unreachable(self.config.host, self.port)
            raise EdgeError(f"cannot subscribe at the MQTT broker {self.where} within {timeout:g} s ({reason})")
        if not found and problems:
            raise ConfigError(f"messages came but none fits the map: {problems[0]}")
        topics = ", ".join(self.map.routes)
        if not found:
            return f"subscribed to {topics}; no message within {timeout:g} s (the subscription works)"
        return self.map.show(found, self.units())

    def units(self) -> tuple[str, ...] | None:
        """The units the map states, else the ``units`` key's."""
        return self.map.units or (tuple(self.config.units) if self.config.units else None)

    def counters(self) -> dict[str, int]:
        """messages, readings, malformed, dropped (queue full), duplicates, retained (skipped), reconnects,
        superseded (topic per channel: a newer value replaced one not yet in a reading) and queued (a level)."""
        superseded = self.intake.combiner.superseded
        return {**self.counts, **self.intake.counts, "superseded": superseded, "queued": self._messages.qsize()}

    def describe(self) -> str:
        """``mqtt 127.0.0.1:1883 plant/pump2/state for pump-2``."""
        return f"mqtt {self.where} {', '.join(self.map.routes)} for {self.sensor}" + (
            " over TLS" if self.config.tls else ""
        )


PLUGIN = MqttSource
