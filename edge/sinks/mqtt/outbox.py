"""A bounded, durable queue of messages on disk (SQLite in WAL mode): store first, forward later.

An event goes into the outbox before anything is sent, and leaves it only when the receiver has
acknowledged it, so it survives an outage of the receiver and a restart (or a crash, or a power cut)
of the agent. Delivery is therefore at least once: a message sent but not yet acknowledged when the
agent stopped is sent again.

``synchronous = FULL``: each ``put`` fsyncs the write-ahead log before it returns, so a message that
``put`` accepted survives a power cut. (``NORMAL`` in WAL mode only survives a crash of the process;
after a power cut the last commits may roll back, i.e. the newest alerts, the ones that matter.)
Acknowledgements are batched into one transaction by ``ack``; losing one to a power cut only means a
duplicate. Alerts are rare, so an fsync each costs nothing that matters (about 0.2 ms on an SSD,
a few ms on an SD card).

The file is opened in exclusive locking mode: a second agent (or a second sink) on the same file
gets a clear error instead of sending and acknowledging the same rows twice.

>>> import tempfile, pathlib
>>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "outbox.sqlite", max_events=2).open()
>>> [box.put("t", p) for p in (b"a", b"b", b"c")]
[1, 2, 3]
>>> [(seq, payload) for seq, _topic, payload in box.pending(10)]
[(2, b'b'), (3, b'c')]
>>> box.ack(2), box.size(), box.counters()["dropped"]
(1, 1, 1)
>>> box.close()
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edge.errors import ConfigError, EdgeError, WaitError
from edge.files import private_file, private_folder

log = logging.getLogger(__name__)

WAL_CHECKPOINT_PAGES = 64  # checkpoint the write-ahead log every 64 pages (256 KiB)
WAL_SIZE_LIMIT = 1 << 20  # and keep its file under 1 MiB once checkpointed
DROP_LOG_INTERVAL_S = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
)
"""


class Outbox:
    """Rows of (seq, topic, payload), oldest first; at most ``max_events`` (the oldest are dropped)."""

    def __init__(self, path: Path, max_events: int = 100_000) -> None:
        if max_events < 1:
            raise ConfigError(f"outbox max_events is {max_events}; it must be at least 1")
        self.path = Path(path)
        self.max_events = max_events
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._size = 0
        self._counts = {"stored": 0, "acked": 0, "dropped": 0, "peak_size": 0}
        self._unlogged_drops = 0
        self._last_drop_log = 0.0

    def open(self) -> Outbox:
        """Create or reopen the file; raise ConfigError naming the path and the fix if it cannot be used."""
        try:
            private_folder(self.path.parent)
            private_file(self.path)  # sqlite gives its -wal and -shm files the database's mode
            db = sqlite3.connect(self.path, timeout=0.1, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise WaitError(
                    f"the outbox {self.path} cannot be created: the file system of {self.path.parent} "
                    "is full; free space there"
                ) from exc
            raise ConfigError(
                f"cannot create the outbox {self.path}: {exc}; make {self.path.parent} writable "
                "by the agent's user or set [agent] state_dir to a writable folder"
            ) from exc
        try:
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            db.execute("PRAGMA synchronous = FULL")
            # a small WAL: on a nearly full state disk the log itself must not take the room it needs to recover
            db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            db.execute("BEGIN IMMEDIATE")  # takes the exclusive lock now, held until close
            db.execute(SCHEMA)
            db.execute("COMMIT")
            self._size = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        except sqlite3.Error as exc:
            db.close()
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise WaitError(
                    f"the outbox {self.path} is locked by another process ({text}): another "
                    "edge-agent run or check, or a second mqtt sink with the same name"
                ) from exc
            if "full" in text:
                raise WaitError(
                    f"the outbox {self.path} cannot be written: {text}; free space on the file "
                    f"system of {self.path.parent}"
                ) from exc
            if "readonly" in text or "unable to open" in text:
                fix = (
                    f"make {self.path.parent} and the file writable by the agent's user, or set [agent] "
                    "state_dir to a writable folder"
                )
            else:
                fix = "move the file aside (its unsent events are lost) and start again"
            raise ConfigError(f"cannot use the outbox {self.path}: {text}; {fix}") from exc
        if mode.lower() != "wal":
            db.close()
            raise EdgeError(
                f"the outbox {self.path} cannot use WAL mode (got {mode!r}); put [agent] state_dir "
                "on a local file system"
            )
        self._db = db
        self._counts["peak_size"] = self._size
        if self._size:
            log.info("outbox %s holds %d unsent event(s) from before; they go out first", self.path, self._size)
        return self

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise EdgeError(f"the outbox {self.path} is not open")
        return self._db

    def put(self, topic: str, payload: bytes) -> int:
        """Store one message durably and return its seq; beyond ``max_events`` the oldest are dropped."""
        with self._lock:
            db = self._conn()
            now = time.time()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise EdgeError(f"cannot store an event in the outbox {self.path}: {exc}") from exc
            try:
                seq = db.execute(
                    "INSERT INTO outbox (topic, payload, created) VALUES (?, ?, ?)", (topic, payload, now)
                ).lastrowid
                excess = self._size + 1 - self.max_events
                oldest = None
                if excess > 0:
                    oldest, last = db.execute(
                        "SELECT MIN(created), MAX(seq) FROM (SELECT seq, created FROM outbox ORDER BY seq LIMIT ?)",
                        (excess,),
                    ).fetchone()
                    excess = db.execute("DELETE FROM outbox WHERE seq <= ?", (last,)).rowcount
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise EdgeError(f"cannot store an event in the outbox {self.path}: {exc} (is the disk full?)") from exc
            if seq is None:
                raise EdgeError(f"the outbox {self.path} gave no row id for a stored event")
            self._size += 1 - max(excess, 0)
            self._counts["stored"] += 1
            self._counts["peak_size"] = max(self._counts["peak_size"], self._size)
            if excess > 0:
                self._dropped(excess, now - (oldest or now), now)
            return seq

    def _dropped(self, count: int, age_s: float, now: float) -> None:
        self._counts["dropped"] += count
        self._unlogged_drops += count
        if now - self._last_drop_log >= DROP_LOG_INTERVAL_S:
            log.warning(
                "outbox %s is full (%d events): dropped the %d oldest unsent event(s), the oldest %.0f s "
                "old; %d dropped since start (the receiver has been unreachable too long, or raise "
                "outbox_max_events)",
                self.path,
                self.max_events,
                self._unlogged_drops,
                age_s,
                self._counts["dropped"],
            )
            self._unlogged_drops = 0
            self._last_drop_log = now

    def pending(self, limit: int, after: int = 0) -> list[tuple[int, str, bytes]]:
        """Up to ``limit`` unacknowledged rows with seq above ``after``, oldest first."""
        with self._lock:
            rows = (
                self._conn()
                .execute("SELECT seq, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
                .fetchall()
            )
        return [(int(seq), str(topic), bytes(payload)) for seq, topic, payload in rows]

    def ack(self, *seqs: int) -> int:
        """Remove acknowledged rows (one transaction); return how many were still there."""
        return self.ack_many(seqs)

    def ack_many(self, seqs: Iterable[int]) -> int:
        """Remove acknowledged rows (one transaction); return how many were still there."""
        batch = [(seq,) for seq in seqs]
        if not batch:
            return 0
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany("DELETE FROM outbox WHERE seq = ?", batch)
                removed = db.total_changes - before
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            self._size -= removed
            self._counts["acked"] += removed
            return removed

    def size(self) -> int:
        """Rows waiting for an acknowledgement."""
        with self._lock:
            return self._size

    def counters(self) -> dict[str, int]:
        """stored, acked and dropped since open, the peak size, and the size now."""
        with self._lock:
            return {**self._counts, "size": self._size}

    def journal_mode(self) -> str:
        """The journal mode in use (``wal``)."""
        with self._lock:
            return str(self._conn().execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close the file (safe twice); unacknowledged rows stay for the next open."""
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            if self._unlogged_drops:
                log.warning(
                    "outbox %s dropped %d more event(s) since the last warning", self.path, self._unlogged_drops
                )
            db.close()

    def __enter__(self) -> Outbox:
        return self.open()

    def __exit__(self, *_: Any) -> None:
        self.close()
