"""journald's native protocol: entries as journald parses them, on real AF_UNIX sockets."""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sockets import datagram_listener
from sockets import parse_journal as parse

from edge.service.journal import JournalHandler, JournalSender, journal_fields_datagram, journal_wanted


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "journal.socket")
    with datagram_listener(path) as sock:
        yield path, sock


def test_sender_delivers_one_datagram(journal: tuple[str, socket.socket]) -> None:
    path, sock = journal
    sender = JournalSender(path)
    sender.send("pump-1 vibration high", priority=4, alert_id="a1", SCORE=0.93)
    data = sock.recv(65536)
    assert data == b"MESSAGE=pump-1 vibration high\nPRIORITY=4\nALERT_ID=a1\nSCORE=0.93\n"
    assert parse(data) == [
        ("MESSAGE", "pump-1 vibration high"),
        ("PRIORITY", "4"),
        ("ALERT_ID", "a1"),
        ("SCORE", "0.93"),
    ]
    sender.send("default priority")
    assert dict(parse(sock.recv(65536)))["PRIORITY"] == "6"
    sender.close()


def test_multiline_message_takes_the_binary_form(journal: tuple[str, socket.socket]) -> None:
    path, sock = journal
    sender = JournalSender(path)
    text = 'Traceback (most recent call last):\n  File "x.py"\nValueError: ü'
    sender.send(text, 3, detail="a=b\n")
    data = sock.recv(65536)
    raw = text.encode()
    assert data.startswith(b"MESSAGE\n" + len(raw).to_bytes(8, "little") + raw + b"\nPRIORITY=3\n")
    assert parse(data) == [("MESSAGE", text), ("PRIORITY", "3"), ("DETAIL", "a=b\n")]
    sender.close()


@pytest.mark.parametrize("name", ["_PID", "_hidden", "1st", "bad-name", "has space", "", "X" * 65, "straße", "message"])
def test_invalid_field_names_raise(name: str) -> None:
    with pytest.raises(ValueError, match="field"):
        journal_fields_datagram("m", 6, {name: "v"})


def test_longest_valid_name_is_accepted() -> None:
    assert parse(journal_fields_datagram("m", 6, {"x" * 64: 1}))[-1] == ("X" * 64, "1")


def test_handler_sends_structured_records(journal: tuple[str, socket.socket]) -> None:
    path, sock = journal
    handler = JournalHandler(JournalSender(path))
    logger = logging.getLogger("edge.test.journal")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        logger.warning("pump %s too hot", "pump-1", extra={"journal_fields": {"alert_id": "a1", "sensor": "pump-1"}})
        fields = dict(parse(sock.recv(65536)))
        assert fields["MESSAGE"] == "pump pump-1 too hot"
        assert fields["PRIORITY"] == "4"
        assert fields["SYSLOG_IDENTIFIER"] == "edge-agent"
        assert fields["ALERT_ID"] == "a1"
        assert fields["SENSOR"] == "pump-1"
        assert fields["LOGGER"] == "edge.test.journal"
        assert fields["CODE_FILE"] == __file__
        assert fields["CODE_FUNC"] == "test_handler_sends_structured_records"
        assert int(fields["CODE_LINE"]) > 0
        levels = [(logger.critical, "2"), (logger.error, "3"), (logger.info, "6"), (logger.debug, "7")]
        for log_at, priority in levels:
            log_at("x")
            assert dict(parse(sock.recv(65536)))["PRIORITY"] == priority
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
        message = dict(parse(sock.recv(65536)))["MESSAGE"]
        assert message.startswith("failed\nTraceback") and "RuntimeError: boom" in message
    finally:
        logger.removeHandler(handler)
        handler.sender.close()


def test_handler_errors_go_to_handle_error(journal: tuple[str, socket.socket], capsys: pytest.CaptureFixture) -> None:
    handler = JournalHandler(JournalSender(journal[0]))
    record = logging.LogRecord("edge.test", logging.INFO, __file__, 1, "hi", None, None)
    record.journal_fields = {"bad-name": 1}
    handler.emit(record)  # must not raise
    err = capsys.readouterr().err
    assert "Logging error" in err and "BAD-NAME" in err
    handler.sender.close()


names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", max_size=30),
).filter(lambda n: n not in {"MESSAGE", "PRIORITY"})  # [A-Z][A-Z0-9_]{0,30}, cheaper to draw than from_regex


@given(message=st.text(), priority=st.integers(0, 7), fields=st.dictionaries(names, st.text(), max_size=6))
def test_datagram_round_trips(message: str, priority: int, fields: dict[str, str]) -> None:
    data = journal_fields_datagram(message, priority, fields)
    assert parse(data) == [("MESSAGE", message), ("PRIORITY", str(priority)), *fields.items()]


@pytest.mark.skipif(
    os.environ.get("EDGE_TEST_EMULATOR") == "qemu-user",
    reason="qemu-user 7.2 drops a sendmsg whose iovec is empty (lock_iovec gives NULL for 0 entries "
    "and the call returns 0 unsent); journald's memfd protocol needs exactly that message, "
    "which a real arm64 kernel delivers",
)
def test_large_entry_goes_through_a_sealed_memfd(journal: tuple[str, socket.socket]) -> None:
    path, sock = journal
    sender = JournalSender(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as fresh:  # what the sender's socket accepts at most
        limit = fresh.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    message = "x" * max(300_000, limit + 1)
    sender.send(message, alert_id="big")
    payload, fds, _, _ = socket.recv_fds(sock, 1024, 4)
    assert payload == b"" and len(fds) == 1
    fd = fds[0]
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        assert seals & (fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL) == (
            fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
        )
        data = os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
    assert parse(data) == [("MESSAGE", message), ("PRIORITY", "6"), ("ALERT_ID", "big")]
    sender.close()


def test_available_only_for_sockets(journal: tuple[str, socket.socket], tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    assert JournalSender.available(journal[0])
    assert not JournalSender.available(str(tmp_path / "plain"))
    assert not JournalSender.available(str(tmp_path / "missing"))


def test_journal_wanted_follows_journal_stream(journal: tuple[str, socket.socket], tmp_path: Path) -> None:
    path = journal[0]
    st_ = os.fstat(2)
    stream = f"{st_.st_dev}:{st_.st_ino}"
    assert not journal_wanted({}, socket_path=path)
    assert journal_wanted({"JOURNAL_STREAM": stream}, socket_path=path)
    assert not journal_wanted({"JOURNAL_STREAM": stream}, socket_path=str(tmp_path / "missing"))
    assert not journal_wanted({"JOURNAL_STREAM": f"{st_.st_dev}:{st_.st_ino + 1}"}, socket_path=path)
    assert not journal_wanted({"JOURNAL_STREAM": "garbage"}, socket_path=path)


def test_without_af_unix_sockets_logging_falls_back_to_stderr_and_says_why(monkeypatch, capsys) -> None:
    import errno

    from edge.service.logs import setup_logging

    real_socket = socket.socket

    def no_unix_sockets(family: int = -1, *args, **kwargs):  # what RestrictAddressFamilies= without AF_UNIX does
        if family == socket.AF_UNIX:
            raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
        return real_socket(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", no_unix_sockets)
    assert setup_logging("journal") == "stderr"
    logging.getLogger("edge.test").error("ALERT still reaches the log")
    err = capsys.readouterr().err
    assert "journald's socket cannot be used ([Errno 97] Address family not supported by protocol)" in err
    assert "ALERT still reaches the log" in err
