"""The register map of a ``modbus`` source: one entry per channel, and how its registers become a number (pure).

A value spans one register (``int16``, ``uint16``) or two (``int32``, ``uint32``, ``float32``). ``word_order``
says which register holds the high word of a two-register value; ``byte_order`` which byte of each register
is sent first (Modbus itself sends a register high byte first: "big", the default for both).

>>> decode([0x41A4, 0x0000], "float32", "big", "big")
20.5
>>> decode([0x0000, 0x41A4], "float32", "little", "big")
20.5
>>> decode([0xFF38], "int16", "big", "big"), decode([0x38FF], "int16", "big", "little")
(-200.0, -200.0)
>>> encode(-200, "int16", "big", "big")
[65336]
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from edge.config_types import build_section

Kind = Literal["int16", "uint16", "int32", "uint32", "float32"]
Order = Literal["big", "little"]
Function = Literal["holding", "input"]

#: each type's struct code (big-endian) and its width in registers
FORMATS: dict[str, tuple[str, int]] = {
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "float32": ("f", 2),
}
FUNCTION_CODES = {"holding": 3, "input": 4}
MAX_ADDRESS = 0xFFFF


def _words_to_bytes(words: Sequence[int], word_order: Order, byte_order: Order) -> bytes:
    ordered = list(words) if word_order == "big" else list(reversed(words))
    return b"".join(word.to_bytes(2, byte_order) for word in ordered)


def decode(words: Sequence[int], kind: Kind, word_order: Order = "big", byte_order: Order = "big") -> float:
    """The number ``words`` (each 0-65535, as received) hold."""
    code, width = FORMATS[kind]
    if len(words) != width:
        raise ValueError(f"{kind} needs {width} register(s), got {len(words)}")
    (value,) = struct.unpack(">" + code, _words_to_bytes(words, word_order, byte_order))
    return float(value)


def encode(value: float, kind: Kind, word_order: Order = "big", byte_order: Order = "big") -> list[int]:
    """The registers a device sends for ``value`` (an integer type takes it rounded and clamped to its range)."""
    code, width = FORMATS[kind]
    if kind != "float32":
        bits = 16 * width
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind.startswith("int") else (0, (1 << bits) - 1)
        value = min(max(round(value), low), high) if math.isfinite(value) else 0
    packed = struct.pack(">" + code, value)
    words = [int.from_bytes(packed[i : i + 2], byte_order) for i in range(0, len(packed), 2)]
    return words if word_order == "big" else list(reversed(words))


@dataclass(frozen=True)
class RegisterSpec:
    """One entry of ``registers``: where a channel's value is and how it is scaled (``raw * scale + offset``)."""

    channel: str
    address: int
    type: Kind = "uint16"
    word_order: Order = "big"
    byte_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    #: "holding" (function 3) or "input" (function 4); default: the source's ``function``
    function: Function | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.address <= MAX_ADDRESS - self.width + 1:
            raise ValueError(f"address {self.address} must be 0-{MAX_ADDRESS - self.width + 1} for {self.type}")
        if self.scale == 0:
            raise ValueError("scale 0 would make every reading the offset")

    @property
    def width(self) -> int:
        """Registers the value spans."""
        return FORMATS[self.type][1]

    def value(self, words: Sequence[int]) -> float:
        """The channel's reading from its registers."""
        return decode(words, self.type, self.word_order, self.byte_order) * self.scale + self.offset

    def describe(self) -> str:
        """``temperature@holding 0 (float32)``."""
        last = f"-{self.address + self.width - 1}" if self.width > 1 else ""
        return f"{self.channel}@{self.function} {self.address}{last} ({self.type})"


def parse_registers(entries: list[dict[str, Any]], function: Function) -> list[RegisterSpec]:
    """Check ``registers`` entry by entry; each gets the source's ``function`` unless it names its own."""
    if not entries:
        raise ValueError(
            'registers is empty; give one entry per model channel, e.g. { channel = "temperature", address = 0, '
            'type = "float32" }'
        )
    specs: list[RegisterSpec] = []
    for i, entry in enumerate(entries):
        name = entry.get("channel") if isinstance(entry, dict) else None
        where = f"registers[{i}]" + (f" ({name!r})" if isinstance(name, str) else "")
        spec = build_section(RegisterSpec, entry, where)
        if spec.function is None:
            spec = dataclasses.replace(spec, function=function)
        if any(s.channel == spec.channel for s in specs):
            raise ValueError(f"{where}: channel {spec.channel!r} is mapped twice")
        specs.append(spec)
    return specs


def match_channels(specs: Sequence[RegisterSpec], channels: Sequence[str]) -> list[RegisterSpec]:
    """The map in the model's channel order; a missing or unknown channel is a ``ValueError`` naming both lists."""
    names = [s.channel for s in specs]
    if set(names) != set(channels):
        missing = [c for c in channels if c not in names] or "none"
        unknown = [n for n in names if n not in channels] or "none"
        raise ValueError(
            f"registers map channels {names} but the model has {list(channels)} (missing: {missing}; not in the "
            f"model: {unknown}); give one entry per model channel"
        )
    return sorted(specs, key=lambda s: list(channels).index(s.channel))
