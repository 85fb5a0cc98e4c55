"""The service's intake: what the source threads queued, taken in blocks and scored sensor by sensor."""

from __future__ import annotations

import queue
import time
from typing import Any, cast

from edge.core.events import Reading, SourceFault
from edge.pipeline import Pipeline
from edge.running import Finished

MAX_BLOCK = 1024  # readings scored in one block at most


def collect(entries: queue.Queue[Any], first: Any, delay_s: float) -> list[Any]:
    """The items of ``first`` and of what else is queued, waiting at most ``delay_s`` for more, up to about
    ``MAX_BLOCK`` items.

    The main loop waits for nothing: the source threads gather (``max_block_delay_ms``), where frames arrive.
    """
    items: list[Any] = []
    entry = first
    deadline = time.monotonic() + delay_s
    while True:
        if entry is not None:
            if isinstance(entry, Finished):
                items.append(entry)
            else:
                items.extend(entry)
        if len(items) >= MAX_BLOCK:
            return items
        wait = deadline - time.monotonic()
        try:
            entry = entries.get(timeout=wait) if wait > 0 else entries.get_nowait()
        except queue.Empty:
            return items


def score_per_sensor(pipeline: Pipeline, per_sensor: dict[str, list[tuple[Reading | SourceFault, float]]]) -> int:
    """Score each sensor's items in order, readings as blocks between its source's reports; returns the readings.

    When no sensor has a report, sensors of one model that ticked together share one LSTM call.
    """
    if all(isinstance(got, Reading) for entries in per_sensor.values() for got, _ in entries):
        blocks = {
            sensor: (cast(list[Reading], [got for got, _ in entries]), [received for _, received in entries])
            for sensor, entries in per_sensor.items()
        }
        pipeline.handle_sensors(blocks)
        return sum(len(entries) for entries in per_sensor.values())
    handled = 0
    for entries in per_sensor.values():
        block: list[Reading] = []
        arrivals: list[float | None] = []
        for got, received in entries:
            if isinstance(got, Reading):
                block.append(got)
                arrivals.append(received)
                continue
            if block:
                pipeline.handle_block(block, arrivals)
                handled += len(block)
                block, arrivals = [], []
            pipeline.handle(got, received)
        if block:
            pipeline.handle_block(block, arrivals)
            handled += len(block)
    return handled
