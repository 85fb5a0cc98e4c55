"""Small file helpers: private folders and files whatever the umask, atomic JSON writes a power cut cannot
leave half-written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO


def config_relative(path: Path, base: Path) -> Path:
    """A path written in a config file: a relative one is relative to that file's folder, ``base`` (the one rule)."""
    return path if path.is_absolute() else base / path


def runtime_path_default() -> Path:
    """Where the status file is when the config does not say: systemd's $RUNTIME_DIRECTORY or /run."""
    return Path(os.environ.get("RUNTIME_DIRECTORY", "/run/edge-anomaly").split(":")[0])


def state_path_default() -> Path:
    """Where checkpoints and outboxes go when the config does not say: $STATE_DIRECTORY or /var/lib."""
    return Path(os.environ.get("STATE_DIRECTORY", "/var/lib/edge-anomaly").split(":")[0])


def private_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700 whatever the umask; an existing folder is left as it is."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def private_file(path: Path) -> None:
    """Create ``path`` empty as 0600 whatever the umask if it does not exist; an existing file is left as it is."""
    try:
        handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(handle, 0o600)
    finally:
        os.close(handle)


def write_json_atomic(path: Path, data: Any, *, durable: bool = True, mode: int = 0o600) -> None:
    """Write ``data`` as compact JSON with sorted keys, atomically as :func:`write_text_atomic` does (private by
    default). The text is streamed in small pieces (:func:`json_pieces`), so a large state (a season of
    readings per sensor) never sits in memory as one string."""
    _write_atomic(path, lambda stream: stream.writelines(json_pieces(data)), durable, mode)


def json_pieces(data: Any) -> Iterator[str]:
    """``json.dumps(data, separators=(",", ":"), sort_keys=True)`` in pieces: objects are walked, lists in
    slices of :data:`SLICE` items, each slice encoded whole unless an item holds containers itself.

    >>> "".join(json_pieces({"b": [[1.5, None], [2]], "a": {"x": "y"}}))
    '{"a":{"x":"y"},"b":[[1.5,null],[2]]}'
    """
    if isinstance(data, dict) and data and all(isinstance(key, str) for key in data):
        yield "{"
        for i, key in enumerate(sorted(data)):
            yield ("," if i else "") + _encode(key) + ":"
            yield from json_pieces(data[key])
        yield "}"
    elif isinstance(data, (list, tuple)) and _nested(data):
        yield "["
        for start in range(0, len(data), SLICE):
            part = data[start : start + SLICE]
            if start:
                yield ","
            if any(isinstance(item, dict) or (isinstance(item, (list, tuple)) and _nested(item)) for item in part):
                for i, item in enumerate(part):
                    if i:
                        yield ","
                    yield from json_pieces(item)
            else:
                yield _encode(part)[1:-1]
        yield "]"
    else:
        yield _encode(data)


SLICE = 64  # items of a list encoded in one piece


def _nested(items: list[Any] | tuple[Any, ...]) -> bool:
    return any(isinstance(item, (dict, list, tuple)) for item in items)


def _encode(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def write_text_atomic(
    path: Path,
    text: str,
    *,
    durable: bool = True,
    mode: int = 0o600,
    private_parent: bool = True,
    make_parent: bool = True,
) -> None:
    """Write ``text`` to a temporary file in the same folder, fsync it, and rename it over ``path``.

    The file gets ``mode`` whatever the umask; a missing folder is created private (0700), or with the
    umask's mode when ``private_parent`` is false (a systemd drop-in folder must stay readable), or not at
    all when ``make_parent`` is false (another program's folder: its absence is an ``OSError``). The
    temporary file is named ``.<name>.<random>`` and never left behind.
    """
    _write_atomic(path, lambda stream: stream.write(text), durable, mode, private_parent, make_parent)


def _write_atomic(
    path: Path,
    write: Callable[[TextIO], Any],
    durable: bool,
    mode: int,
    private_parent: bool = True,
    make_parent: bool = True,
) -> None:
    """The one atomic write: ``write`` fills the temporary file, which then replaces ``path``."""
    if not make_parent:
        pass
    elif private_parent:
        private_folder(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_beside(path)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            write(stream)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new file ``.<name>.<random>`` in ``path``'s folder, created exclusively and private (0600), open for
    writing: ``tempfile.mkstemp``'s way, without the tempfile and random modules in the service's memory."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        candidate = path.parent / f".{path.name}.{os.urandom(6).hex()}"
        try:
            return os.open(candidate, flags, 0o600), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")
