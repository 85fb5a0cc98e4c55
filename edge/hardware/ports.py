"""Serial ports: what a source needs of one, and the real one (pyserial, imported on first use)."""

from __future__ import annotations

from typing import Protocol


class SerialPort(Protocol):
    """The part of ``serial.Serial`` sources use; errors are ``OSError`` (pyserial's ``SerialException`` is one)."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def close(self) -> None: ...


def open_pyserial(port: str, baudrate: int) -> SerialPort:
    """The real port, held exclusively, with reads that wait at most 0.1 s."""
    import serial

    return serial.Serial(port=port, baudrate=baudrate, timeout=0.1, exclusive=True)  # type: ignore[no-any-return]
