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


def open_pyserial(port: str, baudrate: int, *, parity: str = "N", stopbits: int = 1) -> SerialPort:
    """The real port (8 data bits, ``parity`` "N"/"E"/"O"), held exclusively, with reads that wait at most 0.1 s."""
    import serial

    return serial.Serial(  # type: ignore[no-any-return]
        port=port, baudrate=baudrate, parity=parity, stopbits=stopbits, timeout=0.1, exclusive=True
    )
