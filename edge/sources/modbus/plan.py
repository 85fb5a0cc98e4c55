"""Which requests one poll sends: the mapped registers in as few reads as possible (pure).

Registers of one function that follow each other (or overlap) are read together, up to 125 per request (the
Modbus limit for function 3 and 4); a gap is never read across (a device may answer "illegal data address" for
a register it lacks) and a value is never split between two requests.

>>> from edge.sources.modbus.registers import RegisterSpec
>>> specs = [RegisterSpec("a", 0, "float32", function="holding"), RegisterSpec("b", 2, function="holding"),
...          RegisterSpec("c", 10, function="holding"), RegisterSpec("d", 0, function="input")]
>>> [(b.function, b.start, b.count) for b in plan_requests(specs)]
[('holding', 0, 3), ('holding', 10, 1), ('input', 0, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge.sources.modbus.registers import Function, RegisterSpec

MAX_REGISTERS = 125  # per read request (function 3 or 4)


@dataclass(frozen=True)
class Block:
    """One read request: ``count`` registers of ``function`` from ``start``, and the entries it serves."""

    function: Function
    start: int
    count: int
    specs: tuple[RegisterSpec, ...]

    @property
    def end(self) -> int:
        """One past the last register."""
        return self.start + self.count

    def words(self, spec: RegisterSpec, registers: Sequence[int]) -> Sequence[int]:
        """``spec``'s registers out of this request's answer."""
        first = spec.address - self.start
        return registers[first : first + spec.width]

    def describe(self) -> str:
        """``holding registers 0-5 (temperature, vibration)``."""
        last = f"-{self.end - 1}" if self.count > 1 else ""
        return f"{self.function} registers {self.start}{last} ({', '.join(s.channel for s in self.specs)})"


def plan_requests(specs: Sequence[RegisterSpec], max_registers: int = MAX_REGISTERS) -> list[Block]:
    """The requests that read every entry of ``specs``, holding registers first, each by address."""
    blocks: list[Block] = []
    for function in ("holding", "input"):
        mine = sorted((s for s in specs if s.function == function), key=lambda s: (s.address, s.width))
        start = end = 0
        members: list[RegisterSpec] = []
        for spec in mine:
            spec_end = spec.address + spec.width
            if members and spec.address <= end and max(end, spec_end) - start <= max_registers:
                end = max(end, spec_end)
                members.append(spec)
                continue
            if members:
                blocks.append(Block(function, start, end - start, tuple(members)))
            start, end, members = spec.address, spec_end, [spec]
        if members:
            blocks.append(Block(function, start, end - start, tuple(members)))
    return blocks
