"""What a preset is: a sensor type's usual address, its fields, the block read each sample and its set-up.

A preset's ``setup`` talks to the chip only through the ``read(register, length)`` and
``write(register, value)`` callables it is given, so the source keeps retries and bus handling
in one place; its ``decode`` is a pure function of the register bytes (tested against datasheet values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ReadFn = Callable[[int, int], bytes]
WriteFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Preset:
    """One sensor type: its usual address, its fields and the block read each sample."""

    name: str
    address: int
    fields: tuple[str, ...]
    register: int
    length: int
    decode: Callable[[bytes, Any], dict[str, float]]
    setup: Callable[[ReadFn, WriteFn], Any] | None = None
    settle_s: float = 0.0  # after setup, before the first sample is ready
    units: tuple[str, ...] = ()  # one per field, as decoded
