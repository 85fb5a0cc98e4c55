"""The field recorder (``[recorder]``): every reading with its score and state into rotating CSV files.

It is a pipeline observer: on the scoring thread it only queues the outcomes (a bounded queue; when it is
full the readings are counted as ``dropped`` and scoring goes on) and returns. Its own thread writes them
in edge-export's CSV format (:mod:`edge.recording`), flushes and fsyncs every second (a crash or SIGKILL
loses at most about the last second; a line cut by it is skipped when read back), starts a new file every
``rotate_mb`` or ``rotate_s``, and deletes the oldest files when all recordings together are over
``max_total_mb`` or a file is older than ``max_age_days``. A full disk or an unwritable folder is logged
once (naming the folder and the fix) and counted; it is retried every few seconds, each time in a new file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge import feedback, recording
from edge.config_sections import RecorderSection
from edge.core.events import Alert
from edge.core.outcome import Scored
from edge.files import private_folder

log = logging.getLogger(__name__)

SYNC_S = 1.0  # flush and fsync at least this often: what a crash may lose
RETENTION_S = 60.0  # how often the size and age limits are enforced (and at every new file)
WAKE_S = 0.1  # the writer takes what is queued this often (sooner when a quarter of the queue is full)
RETRY_S = 5.0  # after a write error, readings are counted unwritten for this long before the next try
MB = 1_000_000
COUNTERS = ("written", "dropped", "unwritten", "files", "deleted", "bytes", "errors", "alerts")


@dataclass
class _File:
    """One sensor's open recording."""

    path: Path
    handle: IO[bytes]
    channels: tuple[str, ...]
    opened: float  # monotonic
    size: int


class Recorder:
    """Call it with each sensor's outcomes (a pipeline observer); :meth:`close` at stop writes what is queued."""

    def __init__(self, folder: Path, settings: RecorderSection, clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = folder
        self.settings = settings
        self.sensors = None if settings.sensors is None else frozenset(settings.sensors)
        self.channels: dict[str, tuple[str, ...]] = {}
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._clock = clock
        self._ready = threading.Condition()
        self._pending: deque[tuple[str, tuple[str, ...], Sequence[Scored]]] = deque()
        self._queued = 0
        self._closing = False
        self._files: dict[str, _File] = {}
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"recorder {self.folder}"

    def use(self, channels: Mapping[str, Sequence[str]]) -> None:
        """The channels of each sensor from now on (at a start and after a reload): a change starts a new file."""
        self.channels = {sensor: tuple(names) for sensor, names in channels.items()}

    def __call__(self, sensor: str, outcomes: Sequence[Scored]) -> None:
        """Queue ``outcomes`` and return at once; when the queue is full they are counted as dropped."""
        if self.sensors is not None and sensor not in self.sensors:
            return
        channels = self.channels.get(sensor)
        if channels is None or not outcomes:
            return
        with self._ready:
            if self._closing or self._queued + len(outcomes) > self.settings.queue_readings:
                self.counts["dropped"] += len(outcomes)
                return
            self._pending.append((sensor, channels, outcomes))
            self._queued += len(outcomes)
            if self._queued * 4 >= self.settings.queue_readings:  # else the writer's next wake-up takes them
                self._ready.notify()

    def counters(self) -> dict[str, int]:
        """What it did since it was built, for the status file (and ``queued``: readings waiting now)."""
        return {**self.counts, "queued": self._queued}

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, flush, fsync and close the files; log the counters. Once; later calls do nothing."""
        with self._ready:
            if self._closing:
                return
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("recorder: the writer under %s did not finish in %g s (a stuck disk?)", self.folder, timeout)
        log.info("recorder %s closed: %s", self.folder, " ".join(f"{k}={v}" for k, v in self.counters().items()))

    # -- the writer thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        now = self._clock()
        next_sync, next_retention = now + SYNC_S, now
        while True:
            with self._ready:
                if not self._closing:
                    self._ready.wait(max(0.0, min(WAKE_S, next_sync - self._clock())))
                batch = list(self._pending)
                self._pending.clear()
                self._queued = 0
                closing = self._closing
            for sensor, channels, outcomes in batch:
                self._record(sensor, channels, outcomes)
            now = self._clock()
            if now >= next_retention:
                self._enforce_limits()
                next_retention = now + RETENTION_S
            if now >= next_sync or closing:
                self._sync()
                next_sync = now + SYNC_S
            if closing:
                with self._ready:
                    if self._pending:
                        continue
                for sensor in list(self._files):
                    self._close_file(sensor)
                return

    def _record(self, sensor: str, channels: tuple[str, ...], outcomes: Sequence[Scored]) -> None:
        if self._clock() < self._retry_at:
            self.counts["unwritten"] += len(outcomes)
            return
        lines = [
            recording.line(
                o.reading.timestamp, o.reading.values, o.score if o.state == "scored" else None, o.alerting, o.state
            ).encode()
            for o in outcomes
        ]
        start = 0
        try:
            while start < len(lines):  # a batch bigger than a file's room goes on in the next file
                current = self._file_for(sensor, channels, outcomes[start].reading.timestamp)
                room, end = self.settings.rotate_mb * MB - current.size, start + 1
                size = len(lines[start])
                while end < len(lines) and size + len(lines[end]) <= room:
                    size += len(lines[end])
                    end += 1
                self._write(current.handle, b"".join(lines[start:end]))
                current.size += size
                self.counts["written"] += end - start
                self.counts["bytes"] += size
                start = end
            self._record_alerts(sensor, outcomes)
        except (OSError, ValueError) as exc:
            self.counts["unwritten"] += len(outcomes) - start
            self._failed(exc, sensor)
            return
        if self._failing_since is not None:
            log.info("recorder: writing again under %s", self.folder)
            self._failing_since = None

    def _record_alerts(self, sensor: str, outcomes: Sequence[Scored]) -> None:
        """Every ALERT and CLEAR among ``outcomes`` into the sensor's ``alerts.jsonl``, for alert feedback."""
        entries = [feedback.alert_entry(e) for o in outcomes for e in o.events if isinstance(e.subject, Alert)]
        if entries:
            path = self.folder / recording.sensor_folder(sensor) / feedback.ALERTS_FILE
            with path.open("a", encoding="utf-8") as handle:
                handle.write("".join(entries))
            self.counts["alerts"] += len(entries)

    def _write(self, handle: IO[bytes], data: bytes) -> None:
        """Hand ``data`` to the open file (buffered; :meth:`_sync` makes it durable)."""
        handle.write(data)

    def _file_for(self, sensor: str, channels: tuple[str, ...], first: float) -> _File:
        """The sensor's open file, or a new one: at the first reading, a rotation or a change of channels."""
        current = self._files.get(sensor)
        settings = self.settings
        if current is not None and (
            current.channels != channels
            or current.size >= settings.rotate_mb * MB
            or self._clock() - current.opened >= settings.rotate_s
        ):
            self._close_file(sensor)
            current = None
        if current is None:
            current = self._open_file(sensor, channels, first)
            self._files[sensor] = current
            self._enforce_limits()
        return current

    def _open_file(self, sensor: str, channels: tuple[str, ...], first: float) -> _File:
        head = recording.header(channels).encode()
        folder = self.folder / recording.sensor_folder(sensor)
        private_folder(self.folder)
        private_folder(folder)
        taken = 0
        while True:
            path = folder / recording.file_name(first, taken)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                taken += 1
        handle = os.fdopen(fd, "wb")
        try:
            handle.write(head)
            handle.flush()
            os.fsync(fd)
            _sync_folder(folder)
        except BaseException:
            try:
                handle.close()
            finally:
                path.unlink(missing_ok=True)  # not even its header fits (a full disk): leave no empty file
            raise
        self.counts["files"] += 1
        self.counts["bytes"] += len(head)
        return _File(path, handle, channels, self._clock(), len(head))

    def _sync(self) -> None:
        for sensor, current in list(self._files.items()):
            try:
                current.handle.flush()
                os.fsync(current.handle.fileno())
            except (OSError, ValueError) as exc:
                self._failed(exc, sensor)

    def _close_file(self, sensor: str, *, failing: bool = False) -> None:
        current = self._files.pop(sensor)
        try:
            current.handle.flush()
            os.fsync(current.handle.fileno())
        except (OSError, ValueError) as exc:
            if not failing:  # closing after a failure: that one was counted and said
                self._failed(exc, sensor)
        finally:
            try:
                current.handle.close()
            except OSError:
                pass  # the flush failed already (and was said); the descriptor is closed anyway

    def _failed(self, exc: Exception, sensor: str) -> None:
        """A write, flush or new file failed: count it, say it once per streak, drop the file, retry later."""
        self.counts["errors"] += 1
        self._retry_at = self._clock() + RETRY_S
        if self._failing_since is None:
            self._failing_since = self._clock()
            log.error(
                "recorder: cannot write %s's readings under %s: %s; they are not recorded (scoring goes on); "
                "free space there or make it writable, or set [recorder] folder to a writable folder with room "
                "(max_total_mb bounds what it keeps); retrying every %g s",
                sensor,
                self.folder,
                exc,
                RETRY_S,
            )
        if sensor in self._files:
            self._close_file(sensor, failing=True)  # a line may be cut at its end: the next try starts a new file

    def _enforce_limits(self) -> None:
        """Delete recordings older than ``max_age_days``, then the oldest until all fit in ``max_total_mb``."""
        open_paths = {f.path for f in self._files.values()}
        found = []
        try:
            for folder in self.folder.iterdir():
                if folder.is_dir():
                    for path in folder.iterdir():
                        if recording.FILE_PATTERN.fullmatch(path.name):
                            stat = path.stat()
                            found.append((stat.st_mtime, path.name, path, stat.st_size))
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("recorder: cannot list %s to keep it within its limits: %s", self.folder, exc)
            return
        found.sort()
        total = sum(size for *_, size in found)
        too_old = time.time() - self.settings.max_age_days * 86_400 if self.settings.max_age_days > 0 else None
        limit = self.settings.max_total_mb * MB
        for mtime, _, path, size in found:
            if path in open_paths:
                continue
            if not ((too_old is not None and mtime < too_old) or total > limit):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("recorder: cannot delete %s: %s", path, exc)
                continue
            total -= size
            self.counts["deleted"] += 1


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so a new file's name survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
