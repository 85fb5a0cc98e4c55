"""``mqtt``: alerts and faults to an MQTT broker (paho-mqtt 2.x), stored on disk until the broker has them.

Topics, for ``topic_prefix = "edge-anomaly"`` and gateway ``gw-17``:

- ``edge-anomaly/gw-17/alerts``: ``alert`` and ``clear`` events, QoS 1 (``qos``), not retained;
- ``edge-anomaly/gw-17/faults``: ``fault`` and ``fault_cleared`` events, same QoS;
- ``edge-anomaly/gw-17/status``: retained; ``online`` with the agent's counters on every connect and
  status interval, ``offline`` at a clean stop and, as the last will, when the connection is lost;
- with ``telemetry = true``: ``edge-anomaly/gw-17/sensors/<sensor>/state``, each sensor's scores since its
  last message, at most one per ``telemetry_interval_s`` (:mod:`edge.sinks.mqtt.telemetry`), QoS 0, retained;
- with ``homeassistant = true`` (telemetry too): Home Assistant's discovery configs for those states under
  ``discovery_prefix`` (:mod:`edge.sinks.mqtt.discovery`), QoS 1, retained, at every connect.

Telemetry never goes through the outbox: a score is worth something only while it is current, so none is
kept for an outage (the alerts and faults are), and it is published only while connected, from the
publisher thread; the pipeline's observer (:meth:`MqttSink.watch`) only notes numbers. State messages are
retained so Home Assistant shows the last one at once after its restart; while the gateway is away its status
says ``offline`` and the entities show as unavailable rather than as that old value. The retained topics this
sink left (configs and states) are listed in ``mqtt-retained.json`` under the state directory: at the next
connect the ones no longer wanted (a sensor removed, ``homeassistant`` or ``telemetry`` turned off) are
cleared with empty retained payloads, which also removes their entities from Home Assistant.

Store and forward: ``send`` writes the event into an outbox on disk (``mqtt-outbox.sqlite`` under the
state directory, see :mod:`edge.sinks.mqtt.outbox`) and returns; a publisher thread sends the oldest rows
while connected, at most ``max_inflight`` at a time, and deletes a row only when the broker's PUBACK
for it arrives. Delivery is at least once: an event sent but not acknowledged before a restart is sent
again, with the same ``id`` and ``event``, which together identify a message for a consumer that drops
duplicates. (Across a reconnect paho itself resends the messages in flight, with the DUP flag.)

The payloads are described in :mod:`edge.sinks.mqtt.payload`; the connection keys and the paho client
(shared with the ``mqtt`` source) in :mod:`edge.mqtt_connection`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from edge.core.events import Alert, Event, Fault, iso_time
from edge.errors import ConfigError, EdgeError
from edge.mqtt_connection import config_files, make_client, peers
from edge.plugins import PluginContext, read_sample
from edge.service.reachability import why_unreachable
from edge.sinks.base import Sink, SinkObserver
from edge.sinks.mqtt import discovery
from edge.sinks.mqtt.holding import MemoryHold
from edge.sinks.mqtt.inbox import FeedbackInbox
from edge.sinks.mqtt.outbox import Outbox
from edge.sinks.mqtt.payload import encode, event_payload, online_payload
from edge.sinks.mqtt.retained import RetainedTopics
from edge.sinks.mqtt.settings import Config, default_port
from edge.sinks.mqtt.telemetry import Telemetry

if TYPE_CHECKING:
    from edge.core.detector import Detector

__all__ = ["PLUGIN", "SAMPLE", "Config", "MqttSink", "event_payload", "peers"]

log = logging.getLogger(__name__)

SAMPLE = read_sample(__name__)  # sample.toml beside this file: sample-config and the docs print it

CLOSE_WAIT_S = 2.0


class MqttSink(Sink):
    """Publishes events from a durable outbox; ``send`` never waits for the network."""

    name = "mqtt"
    store_and_forward = True  # the wrapper calls send directly: the outbox on disk is the queue
    # the outbox's own figures live in its file, so they are read as they are, not added across a reload
    LEVELS = frozenset({"pending", "dropped", "peak_pending", "held_in_memory"})

    def __init__(self, config: Config, context: PluginContext) -> None:
        self.config = config
        self.gateway = context.gateway_id
        if not self.gateway or any(c in self.gateway for c in "+#/"):
            raise ConfigError(
                f"gateway id {self.gateway!r} cannot be part of an MQTT topic; set [agent] gateway_id "
                "to a name without /, + or #"
            )
        self.checking = context.checking
        # a second connection under the service's client id would make the broker drop the service's
        self.client_id = (config.client_id or f"edge-agent-{self.gateway}") + ("-check" if self.checking else "")
        self.port = default_port(config)
        base = f"{config.topic_prefix}/{self.gateway}"
        self.topics = {"alerts": f"{base}/alerts", "faults": f"{base}/faults", "status": f"{base}/status"}
        self.outbox_path = context.state_dir / (
            f"mqtt-outbox-{config.name}.sqlite" if config.name else "mqtt-outbox.sqlite"
        )
        self.retained = RetainedTopics(
            context.state_dir / (f"mqtt-retained-{config.name}.json" if config.name else "mqtt-retained.json"),
            f"mqtt sink {config.name or config.host}",
        )
        wanted = config.publishes_telemetry and not self.checking
        self._watched = False  # the pipeline said which sensors there are: configs can be announced
        self._discover = False  # announce (and clear what is no longer wanted) at the next chance
        self.files = config_files(config, context)
        self.outbox: Outbox | None = None
        self._client: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.telemetry = Telemetry(base, self.gateway, config.telemetry_interval_s, self._wake.set) if wanted else None
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, int | None] = {}  # paho mid -> outbox seq (None: a status message)
        self._cursor = 0  # highest seq handed to paho by this instance
        self._connected = False
        self._announce = False  # publish the status at the next chance (after a connect or a status call)
        self._summary: dict[str, Any] | None = None
        self._offline_mid: int | None = None
        self._state = "new"  # new, open, closing, closed
        self._failing = False
        self._started = time.time()
        self.counts = {"published": 0, "acked": 0, "reconnects": 0, "connects": 0, "telemetry": 0, "discovery": 0}
        folder = context.feedback_dir
        takes_feedback = config.feedback and not self.checking and folder is not None
        self.inbox = FeedbackInbox(folder, f"{base}/feedback") if takes_feedback and folder else None
        self.hold = MemoryHold(f"mqtt outbox {self.outbox_path}")

    # -- lifecycle -----------------------------------------------------------------------------------

    def _make_client(self) -> Any:
        # a check must not mark the gateway offline when it ends: no last will
        will = None if self.checking else (self.topics["status"], self._offline(reason="connection lost"))
        client = make_client(self.config, self.client_id, self.files, will)  # a clean session: the outbox is the truth
        client.max_inflight_messages_set(self.config.max_inflight + 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        if self.inbox is not None:
            client.on_message = self._on_feedback
        return client

    def _offline(self, reason: str, at: float | None = None) -> bytes:
        """The retained status a stop (at a known time) or the last will leaves behind."""
        payload = {"state": "offline", "gateway": self.gateway, "client_id": self.client_id, "reason": reason}
        return encode(payload if at is None else {**payload, "time": iso_time(at)})

    def open(self) -> None:
        """Open the outbox and start connecting in the background; never waits for the broker."""
        if self._state != "new":
            raise EdgeError(f"{self.describe()} was already opened; build a new sink")
        client = self._make_client()  # config problems first, before any file is created
        self.outbox = Outbox(self.outbox_path, self.config.outbox_max_events).open()
        self._client = client
        self._state = "open"
        self._started = time.time()
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{self.client_id}", daemon=True)
        self._thread.start()
        client.connect_async(self.config.host, self.port, keepalive=self.config.keepalive_s)
        client.loop_start()

    def send(self, event: Event) -> None:
        """Store the event in the outbox (durably) and wake the publisher; raise if it cannot be stored."""
        outbox = self.outbox
        if outbox is None or self._state != "open":
            raise EdgeError(f"{self.describe()} is not open")
        topic = self.topics["alerts" if isinstance(event.subject, Alert) else "faults"]
        self.hold.put(outbox, topic, encode(event_payload(event, self.gateway)))  # in memory while it cannot store
        if self.inbox is not None:
            self.inbox.remember(event)
        if self.telemetry is not None and isinstance(event.subject, Fault):
            self.telemetry.fault_changed(event.subject.sensor)
        self._wake.set()

    def watch(self, detectors: Mapping[str, Detector]) -> SinkObserver | None:
        """The pipeline's sensors: with telemetry, the observer that notes their scores (the scoring thread:
        a few numbers under a short lock, never the network); announce the discovery configs at the next chance.
        """
        if self.checking:
            return None
        if self.telemetry is not None:
            self.telemetry.watch(detectors)
        with self._lock:
            self._watched = self._discover = True
        self._wake.set()
        return None if self.telemetry is None else self.telemetry.observe

    def status(self, summary: dict[str, Any]) -> None:
        """Publish the agent's state, retained, at the next chance; only the latest is kept (never the outbox)."""
        if self._state != "open":
            return
        with self._lock:
            self._summary = summary
            self._announce = True
        self._wake.set()

    def flush(self) -> None:
        """While connected, wait up to 2 s for the outbox to empty."""
        self._wait(
            lambda: self.outbox is not None and self.outbox.size() == 0 and not self._inflight,
            time.monotonic() + CLOSE_WAIT_S,
        )

    def close(self) -> None:
        """Publish ``offline``, wait up to 2 s for acknowledgements, disconnect; unsent events stay on disk."""
        if self._state in ("new", "closed"):
            self._state = "closed"
            return
        if self._state == "closing":
            return
        deadline = time.monotonic() + CLOSE_WAIT_S
        self._wait(lambda: self.outbox is not None and self.outbox.size() == 0 and not self._inflight, deadline - 0.5)
        self._state = "closing"
        self._wake.set()
        if not self.checking:
            self._wait(
                lambda: self._offline_mid is not None and self._offline_mid not in self._inflight,
                deadline,
                first_attempt=False,
            )
        self._state = "closed"
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self._client.disconnect()
        self._client.loop_stop()
        if self.outbox is not None:
            self.hold.drain(self.outbox)  # one last try: the disk may have room again
            self.hold.abandon()
            left = self.outbox.size()
            if left:
                log.info(
                    "%s closed with %d event(s) in its outbox; they go out after the next start", self.describe(), left
                )
            self.outbox.close()

    def _wait(self, done: Any, deadline: float, first_attempt: bool = True) -> None:
        """Wait while connected (or, with ``first_attempt``, still making the first attempt) until ``done()``
        or the deadline."""
        if self._state not in ("open", "closing"):
            return
        while (
            (self._connected or (first_attempt and self.counts["connects"] == 0 and not self._failing))
            and not done()
            and time.monotonic() < deadline
        ):
            self._wake.set()
            time.sleep(0.01)

    # -- paho callbacks (paho's thread; never call paho while holding self._lock) -----------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            with self._lock:
                first, self._failing = not self._failing, True
            if first:
                log.error(
                    "%s: the broker refused the connection: %s; check username, password, the client "
                    "certificate and client_id (retrying)",
                    self.describe(),
                    reason,
                )
            return
        with self._lock:
            self._connected = True
            self._announce = True
            self._discover = True  # a broker without persistence forgot the retained configs
            self.counts["connects"] += 1
            self.counts["reconnects"] = self.counts["connects"] - 1
            again = self.counts["connects"] > 1 or self._failing
            self._failing = False
        pending = self.outbox.size() if self.outbox else 0
        log.info("%s connected%s; %d event(s) to send", self.describe(), " again" if again else "", pending)
        if self.inbox is not None:
            client.subscribe(self.inbox.topic, qos=1)
        self._wake.set()

    def _on_feedback(self, client: Any, userdata: Any, message: Any) -> None:
        if self.inbox is not None and message.topic == self.inbox.topic and not message.retain:
            answer = self.inbox.handle(message.payload)
            self._publish(self.inbox.result_topic, encode(answer), 1)

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        with self._lock:
            first, self._failing = not self._failing, True
        if first:
            log.warning(
                "%s: cannot reach the broker (%s); events wait in the outbox, retrying every %g-%g s",
                self.describe(),
                why_unreachable(self.config.host, self.port),
                self.config.reconnect_min_s,
                self.config.reconnect_max_s,
            )

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            was, self._connected = self._connected, False
            self._failing = self._failing or self._state == "open"
        if was and self._state == "open":
            log.warning("%s: connection lost (%s); events wait in the outbox, reconnecting", self.describe(), reason)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._acks.put(mid)  # runs under paho's message lock: hand over, settle on the publisher thread
        self._wake.set()

    # -- the publisher thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while self._state != "closed":
            due = self.telemetry.next_due() if self.telemetry is not None and self._connected else None
            self._wake.wait(1.0 if due is None else min(1.0, due))
            self._wake.clear()
            try:
                self._settle()
                if self.hold.held and self.outbox is not None:
                    self.hold.drain(self.outbox)
                if self._connected:
                    self._publish_status()
                    self._publish_rows()
                    self._publish_telemetry()
            except Exception as exc:  # the thread must outlive a full disk or a broken row
                log.error("%s: publisher error: %s; retrying in 1 s", self.describe(), exc)
                time.sleep(1.0)
        self._settle()

    def _settle(self) -> None:
        seqs = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            if mid in self._inflight:
                seq = self._inflight.pop(mid)
                if seq is not None:
                    seqs.append(seq)
        if seqs and self.outbox is not None:
            self.outbox.ack_many(seqs)
            self.counts["acked"] += len(seqs)

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == 0 or (info.rc == 4 and qos > 0):  # NO_CONN: paho keeps a QoS 1/2 message for the reconnect
            return int(info.mid)
        if info.rc != 4:
            log.warning("%s: paho refused a publish (rc %s); retrying later", self.describe(), info.rc)
        return None

    def _publish_status(self) -> None:
        if self.checking:  # the service's retained status stays as it is
            return
        with self._lock:
            announce, self._announce = self._announce, False
            summary = self._summary
        if self._state == "closing" and self._offline_mid is None:
            offline = self._offline("stopped", at=time.time())
            self._offline_mid = self._publish(self.topics["status"], offline, 1, retain=True)
            if self._offline_mid is not None:
                self._inflight[self._offline_mid] = None
        elif announce and self._state == "open":
            mid = self._publish(self.topics["status"], encode(self.status_payload(summary)), 1, retain=True)
            if mid is not None:
                self._inflight[mid] = None

    def _publish_rows(self) -> None:
        room = self.config.max_inflight - len(self._inflight)
        if room <= 0 or self.outbox is None or self._state == "closed":
            return
        sent = []
        for seq, topic, payload in self.outbox.pending(room, after=self._cursor):
            mid = self._publish(topic, payload, self.config.qos)
            if mid is None:
                break
            if self.config.qos > 0:
                self._inflight[mid] = seq
            sent.append(seq)
            self._cursor = seq
            self.counts["published"] += 1
        if self.config.qos == 0 and sent:  # at most once: no acknowledgement to wait for
            self.outbox.ack_many(sent)
            self.counts["acked"] += len(sent)

    def _publish_telemetry(self) -> None:
        if not self._watched or self._state != "open":
            return
        with self._lock:
            discover, self._discover = self._discover, False
        if discover:
            self._announce_discovery()
        if self.telemetry is not None:
            for topic, payload in self.telemetry.take():
                if self._publish(topic, payload, 0, retain=True) is not None:
                    self.counts["telemetry"] += 1

    def _announce_discovery(self) -> None:
        """Publish the discovery configs (``homeassistant``), clear the retained topics no longer wanted."""
        telemetry = self.telemetry
        states = [telemetry.topic(sensor) for sensor in telemetry.windows] if telemetry is not None else []
        configs: dict[str, dict[str, Any]] = {}
        if telemetry is not None and self.config.homeassistant:
            for sensor in telemetry.windows:
                configs.update(
                    discovery.configs(
                        self.config.discovery_prefix,
                        self.gateway,
                        sensor,
                        telemetry.topic(sensor),
                        self.topics["status"],
                    )
                )
        self.counts["discovery"] += self.retained.announce(self._publish, configs, states)

    # -- reporting -------------------------------------------------------------------------------------

    def probe(self, timeout: float) -> str:
        """For ``edge-agent check``: wait up to ``timeout`` for the broker to accept the connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._connected:
            time.sleep(0.05)
        if not self._connected:
            reason = why_unreachable(self.config.host, self.port, min(timeout, 2.0))
            raise EdgeError(
                f"cannot connect to the MQTT broker {self.config.host}:{self.port} within "
                f"{timeout:g} s ({reason}); check host, port, TLS and credentials (events would wait "
                "in the outbox)"
            )
        return f"connected, {self.outbox.size() if self.outbox else 0} event(s) waiting in the outbox"

    def counters(self) -> dict[str, int]:
        """published, acked, reconnects (this run); pending and dropped from the outbox; held in memory (at risk
        while the outbox cannot store) and lost (beyond the memory bound, or held at stop)."""
        box = self.outbox.counters() if self.outbox is not None and self._state != "closed" else {}
        return {
            "published": self.counts["published"],
            "acked": self.counts["acked"],
            "pending": box.get("size", 0),
            "dropped": box.get("dropped", 0),
            "peak_pending": box.get("peak_size", 0),
            "reconnects": self.counts["reconnects"],
            "held_in_memory": self.hold.held,
            "lost": self.hold.lost,
            **(self.inbox.counts if self.inbox is not None else {}),
        }

    def status_payload(self, summary: dict[str, Any] | None) -> dict[str, Any]:
        """The retained ``online`` message (:func:`~edge.sinks.mqtt.payload.online_payload`)."""
        return online_payload(self.gateway, self.client_id, summary or {}, self.counters(), self._started)

    def describe(self) -> str:
        """``mqtt mqtts://broker:8883 as edge-agent-gw1 (connected, outbox 12 pending)``."""
        scheme = "mqtts" if self.config.tls else "mqtt"
        text = f"mqtt {scheme}://{self.config.host}:{self.port} as {self.client_id}"
        outbox = self.outbox
        if outbox is not None and self._state == "open":
            text += f" ({'connected' if self._connected else 'not connected'}, outbox {outbox.size()} pending)"
        return text


PLUGIN = MqttSink
