"""What an ``i2c`` source reads: the ``reads`` entries, each a preset's field or a raw register.

:func:`parse_reads` checks a config's ``reads`` entry by entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from edge.config_types import build_section
from edge.sources.i2c.presets import PRESETS, PresetName, ReadFn, WriteFn


def raw_value(data: bytes, *, signed: bool, byte_order: Literal["big", "little"], shift: int) -> int:
    """A register's bytes as an integer, then shifted right (arithmetically when signed).

    >>> raw_value(bytes([0xFF, 0xC0]), signed=True, byte_order="big", shift=4)  # TMP102 -0.25 degC / 0.0625
    -4
    >>> raw_value(bytes([0x34, 0x12]), signed=False, byte_order="little", shift=0)
    4660
    """
    return int.from_bytes(data, byte_order, signed=signed) >> shift


RAW_KEYS = ("register", "length", "signed", "byte_order", "shift")


@dataclass(frozen=True)
class ReadSpec:
    """One entry of ``reads``: where a channel's value comes from."""

    channel: str
    address: int | None = None
    preset: PresetName | None = None
    field: str | None = None
    register: int | None = None
    length: int = 2
    signed: bool = False
    byte_order: Literal["big", "little"] = "big"
    shift: int = 0
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None  # the value's unit after scale and offset (a preset's own when left out)

    def __post_init__(self) -> None:
        preset = PRESETS[self.preset] if self.preset else None
        if preset is None and self.register is None:
            raise ValueError(f"needs preset = one of {', '.join(PRESETS)}, or register = 0x.. for a raw read")
        if preset is None and self.address is None:
            raise ValueError("needs address = 0x.. (the 7-bit address i2cdetect shows)")
        if self.address is not None and not 0x03 <= self.address <= 0x77:
            raise ValueError(f"address 0x{self.address:x} is not a 7-bit device address (0x03..0x77)")
        if preset is not None and self.field is not None and self.field not in preset.fields:
            raise ValueError(f"field {self.field!r} is not one of {self.preset}'s: {', '.join(preset.fields)}")
        if preset is not None and self.field is None and len(preset.fields) > 1:
            raise ValueError(f"{self.preset} needs field = one of {', '.join(preset.fields)}")
        if preset is None and self.field is not None:
            raise ValueError("field is for presets; a raw read has one value")
        if self.register is not None and not 0 <= self.register <= 0xFF:
            raise ValueError(f"register {self.register} must be 0x00..0xff")
        if not 1 <= self.length <= 4 or not 0 <= self.shift < 8 * self.length:
            raise ValueError(f"length {self.length} must be 1..4 bytes and shift {self.shift} under its bits")

    @property
    def unit_name(self) -> str:
        """``unit``, else the preset field's unit when the value is not rescaled, else "" (not known)."""
        if self.unit is not None:
            return self.unit
        preset = PRESETS[self.preset] if self.preset else None
        if preset is None or not preset.units or (self.scale, self.offset) != (1.0, 0.0):
            return ""
        return preset.units[preset.fields.index(self.field or preset.fields[0])]

    @property
    def key(self) -> tuple[Any, ...]:
        """Reads sharing a key share one transaction (a preset device) each sample."""
        return ("preset", self.address, self.preset) if self.preset else ("raw", self.address, self.channel)

    @property
    def block(self) -> tuple[int, int]:
        """The first register and the byte count read each sample."""
        if self.preset:
            return PRESETS[self.preset].register, PRESETS[self.preset].length
        return self.register or 0, self.length

    @property
    def setup(self) -> Callable[[ReadFn, WriteFn], Any] | None:
        """The chip's set-up, if it needs one."""
        return PRESETS[self.preset].setup if self.preset else None

    @property
    def settle_s(self) -> float:
        """How long after its set-up the chip has a first measurement."""
        return PRESETS[self.preset].settle_s if self.preset else 0.0

    def values(self, data: bytes, state: Any) -> dict[str, float]:
        """The block's fields (a raw read's one is ``value``), before scale and offset."""
        if self.preset:
            return PRESETS[self.preset].decode(data, state)
        return {"value": float(raw_value(data, signed=self.signed, byte_order=self.byte_order, shift=self.shift))}

    def describe(self) -> str:
        """``temperature@0x48 (tmp102)``, ``vibration@0x53 (adxl345 z)``, ``flow@0x40 (register 0x00)``."""
        what = f"register 0x{self.register or 0:02x}" if self.preset is None else self.preset
        if self.preset and len(PRESETS[self.preset].fields) > 1:
            what += f" {self.field}"
        return f"{self.channel}@0x{self.address or 0:02x} ({what})"


def parse_reads(entries: list[dict[str, Any]]) -> list[ReadSpec]:
    """Check ``reads`` entry by entry; errors name the entry and the keys it may have."""
    if not entries:
        raise ValueError(
            "reads is empty; give one entry per model channel, e.g. "
            '{ channel = "temperature", preset = "tmp102", address = 0x48 }'
        )
    specs: list[ReadSpec] = []
    for i, entry in enumerate(entries):
        where = f"reads[{i}]" + (f" ({entry['channel']!r})" if isinstance(entry.get("channel"), str) else "")
        if "preset" in entry and any(k in entry for k in RAW_KEYS):
            raise ValueError(
                f"{where}: {', '.join(k for k in RAW_KEYS if k in entry)} are for raw reads; "
                f"preset {entry['preset']!r} knows its registers (keep scale and offset)"
            )
        spec = build_section(ReadSpec, entry, where)
        if spec.preset:
            preset = PRESETS[spec.preset]
            spec = dataclasses.replace(
                spec,
                address=preset.address if spec.address is None else spec.address,
                field=spec.field or preset.fields[0],
            )
        if any(s.channel == spec.channel for s in specs):
            raise ValueError(f"{where}: channel {spec.channel!r} is read twice")
        if any(s.address == spec.address and s.preset and spec.preset and s.preset != spec.preset for s in specs):
            raise ValueError(f"{where}: address 0x{spec.address:02x} is given two presets")
        specs.append(spec)
    return specs
