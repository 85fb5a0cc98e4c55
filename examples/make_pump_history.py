"""Generate examples/pump_history.csv: two weeks of a pump's sensors, one row every five minutes.

The load follows a daily duty cycle with a weekend dip; motor current follows the
load, the bearing warms with it (with thermal lag), and vibration rises with
speed. Deterministic: run it again and the file is byte-identical.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROWS = 14 * 288
START = datetime(2026, 3, 2, tzinfo=timezone.utc)


def main() -> None:
    rng = np.random.default_rng(7)
    out = Path(__file__).with_name("pump_history.csv")
    temperature = 45.0
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "bearing_temp_c", "vibration_mm_s", "motor_current_a"])
        for i in range(ROWS):
            moment = START + timedelta(minutes=5 * i)
            hour = moment.hour + moment.minute / 60
            duty = 0.55 + 0.35 * max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.45
            if moment.weekday() >= 5:
                duty *= 0.8
            load = duty + rng.normal(0, 0.02)
            temperature += (38.0 + 22.0 * load - temperature) / 12 + rng.normal(0, 0.08)
            vibration = 1.8 + 2.4 * load + rng.normal(0, 0.12)
            current = 6.0 + 9.0 * load + rng.normal(0, 0.15)
            writer.writerow([moment.strftime("%Y-%m-%d %H:%M:%S"), f"{temperature:.3f}", f"{vibration:.3f}",
                             f"{current:.3f}"])


if __name__ == "__main__":
    main()
