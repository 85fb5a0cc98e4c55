"""I²C buses: what a source needs of one, and the real one (smbus2, imported on first use)."""

from __future__ import annotations

from typing import Protocol


class I2cBus(Protocol):
    """The part of ``smbus2.SMBus`` sources use; errors are ``OSError`` with the kernel's errno."""

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def close(self) -> None: ...


def open_smbus(bus: int) -> I2cBus:
    """``/dev/i2c-<bus>`` through ``smbus2.SMBus``; ImportError when smbus2 is not installed."""
    from smbus2 import SMBus

    return SMBus(bus)  # type: ignore[no-any-return]
