"""sd_notify: datagrams as systemd receives them, on real AF_UNIX sockets."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sockets import datagram_listener

from edge.service.notify import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.socket")
    with datagram_listener(path) as sock:
        yield path, sock


def test_messages_arrive_as_exact_datagrams(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    with Notifier.from_environment({"NOTIFY_SOCKET": path}) as notifier:
        assert notifier.enabled
        assert notifier.ready() is True
        assert sock.recv(4096) == b"READY=1"
        notifier.ready("model loaded")
        assert sock.recv(4096) == b"READY=1\nSTATUS=model loaded"
        notifier.status("3 sensors, 0 alerts")
        assert sock.recv(4096) == b"STATUS=3 sensors, 0 alerts"
        notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
        notifier.stopping()
        assert sock.recv(4096) == b"STOPPING=1"
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        notifier.reloading()
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        first, second = sock.recv(4096).split(b"\n")
        assert first == b"RELOADING=1"
        assert second.startswith(b"MONOTONIC_USEC=")
        assert before <= int(second.removeprefix(b"MONOTONIC_USEC=")) <= after
        assert notifier.send("EXTEND_TIMEOUT_USEC=5000000", "STATUS=slow") is True
        assert sock.recv(4096) == b"EXTEND_TIMEOUT_USEC=5000000\nSTATUS=slow"
    notifier.close()  # idempotent


def test_abstract_socket() -> None:
    name = f"edge-anomaly-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready("up") is True
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"
        notifier.close()


def test_disabled_notifier_is_a_no_op() -> None:
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None
    assert notifier.ready("x") is False
    assert notifier.status("x") is False
    assert notifier.watchdog() is False
    assert notifier.stopping() is False
    assert notifier.reloading() is False
    notifier.close()
    assert not Notifier.from_environment({"NOTIFY_SOCKET": ""}).enabled


def test_non_unix_notify_socket_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="edge.service.notify"):
        assert not Notifier.from_environment({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled
    assert "vsock:2:1234" in caplog.text


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
    assert Notifier.from_environment(env).watchdog_interval_s == 15.0
    assert Notifier.from_environment({**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval_s == 15.0
    assert Notifier(watchdog_usec=1_000_000).watchdog_interval_s == 0.5
    assert Notifier.from_environment({**env, "WATCHDOG_USEC": "0"}).watchdog_interval_s is None
    assert Notifier.from_environment({**env, "WATCHDOG_USEC": "soon"}).watchdog_interval_s is None


def test_watchdog_pid_of_another_process_disables_the_watchdog() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
    assert Notifier.from_environment({**env, "WATCHDOG_PID": str(os.getpid() + 1)}).watchdog_interval_s is None
    assert Notifier.from_environment({**env, "WATCHDOG_PID": "me"}).watchdog_interval_s is None


def test_newline_in_status_is_flattened(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    with Notifier(path) as notifier:
        notifier.status("line one\nline two\r\n")
        assert sock.recv(4096) == b"STATUS=line one line two  "
        notifier.ready("a\nREADY=0")
        assert sock.recv(4096) == b"READY=1\nSTATUS=a READY=0"


def test_raw_send_refuses_embedded_newlines(listener: tuple[str, socket.socket]) -> None:
    with Notifier(listener[0]) as notifier, pytest.raises(ValueError):
        notifier.send("STATUS=a\nREADY=1")


def test_removed_socket_logs_one_warning_and_returns_false(
    listener: tuple[str, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    path, sock = listener
    notifier = Notifier(path)
    assert notifier.watchdog() is True
    sock.close()
    os.unlink(path)
    with caplog.at_level(logging.DEBUG, logger="edge.service.notify"):
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert path in warnings[0].getMessage()
    notifier.close()
