"""The delivery keys every sink table may set besides its own (``edge.running.RunningSink`` applies them).

A leaf module: the plugin registry reads these settings without loading the wrapper or any sink.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class DeliverySettings:
    """How the wrapper delivers to one sink."""

    buffer: int = 1000
    retries: int = 3
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0
    rate_per_s: float = 0.0
    sensors: list[str] | None = None  # only these sensors' events (default: every sensor)

    def __post_init__(self) -> None:
        if self.sensors == []:
            raise ValueError("sensors = [] watches no sensor; leave it out to watch every sensor")
        if self.buffer < 1 or self.retries < 0 or self.rate_per_s < 0:
            raise ValueError("buffer must be at least 1, retries and rate_per_s at least 0")
        if not 0 < self.retry_initial_s <= self.retry_max_s:
            raise ValueError("need 0 < retry_initial_s <= retry_max_s")


DELIVERY_KEYS = tuple(f.name for f in fields(DeliverySettings))
