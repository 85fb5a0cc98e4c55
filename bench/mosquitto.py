"""A real Mosquitto broker on 127.0.0.1 for tests and benches, and a subscriber that records what arrives.

``Broker(folder).start()`` writes a minimal mosquitto.conf, starts ``/usr/sbin/mosquitto`` on a free
port and waits until the port accepts connections; ``stop()`` ends it by its process id (SIGTERM, then
SIGKILL), ``kill()`` sends SIGKILL at once, ``restart()`` starts it again on the same port. With
``persistence=True`` a graceful stop keeps the sessions of persistent subscribers and the messages
queued for them, so a subscriber misses nothing while the broker is down.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MOSQUITTO = Path("/usr/sbin/mosquitto")


def require_mosquitto() -> None:
    """Skip the calling test when the broker or paho is missing (``.ci/run`` installs both)."""
    import pytest

    if not MOSQUITTO.exists():
        pytest.skip(f"{MOSQUITTO} is not installed (apt-get install mosquitto; .ci/run does it)")
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed (pip install -e '.[test]')")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """One mosquitto process, started and stopped by its pid."""

    def __init__(
        self, folder: Path, port: int | None = None, persistence: bool = False, extra: str = "", anonymous: bool = True
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.persistence = persistence
        self.extra = extra
        self.anonymous = anonymous
        self.process: subprocess.Popen[bytes] | None = None
        self.conf = self.folder / "mosquitto.conf"
        self.log_path = self.folder / "mosquitto.log"

    def config_text(self) -> str:
        """A minimal config: one loopback listener (``extra`` lines apply to it); as root, stay root so the
        test's files stay readable."""
        lines = [
            f"listener {self.port} 127.0.0.1",
            *self.extra.splitlines(),
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "max_queued_messages 0",
        ]
        if getpass.getuser() == "root":
            lines.append("user root")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.folder}/", "autosave_interval 1"]
        else:
            lines.append("persistence false")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 5.0) -> Broker:
        """Start mosquitto and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"broker on port {self.port} is already running")
        self.conf.write_text(self.config_text())
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [str(MOSQUITTO), "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto did not start on port {self.port}: {self.log()[-2000:]}")
            time.sleep(0.02)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
        """End the process by its pid: ``sig`` (SIGTERM: a graceful stop), then SIGKILL after ``timeout``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: the broker dies with whatever it had not saved."""
        self.stop(signal.SIGKILL)

    def restart(self) -> Broker:
        """Start again on the same port (after ``stop`` or ``kill``)."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """What mosquitto wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()


@dataclass(frozen=True)
class Message:
    """One received message; ``at`` is ``time.monotonic()`` on arrival."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float = 0.0

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class Subscriber:
    """A paho client subscribed to ``topic`` with QoS 1, collecting messages in a thread-safe list.

    ``persistent=True`` keeps its session on the broker (clean_session false, a fixed client id), so
    messages published while it is away are queued for it.
    """

    def __init__(self, port: int, topic: str = "#", persistent: bool = False, client_id: str | None = None) -> None:
        from paho.mqtt import client as paho

        self.port, self.topic = port, topic
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-sub-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
        )
        self.client.reconnect_delay_set(0.05, 0.2)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append(
                Message(message.topic, bytes(message.payload), message.qos, bool(message.retain), time.monotonic())
            )

    def start(self, timeout: float = 5.0) -> Subscriber:
        """Connect and wait for the SUBACK."""
        self.client.connect_async("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.close()
            raise RuntimeError(f"subscriber could not subscribe on port {self.port}")
        return self

    def received(self, topic_suffix: str = "") -> list[Message]:
        """A copy of the messages so far, optionally only those whose topic ends with ``topic_suffix``."""
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(topic_suffix)]

    def wait_for(self, condition: Callable[[list[Message]], bool], timeout: float = 5.0) -> list[Message]:
        """Wait until ``condition(messages)`` holds; return the messages (raise AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if condition(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met within {timeout} s; got {len(got)} message(s): "
                    f"{[(m.topic, m.payload[:80]) for m in got[-5:]]}"
                )
            time.sleep(0.01)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Subscriber:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.close()
