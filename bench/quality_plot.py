"""``bench/quality.py --plot DIR``: one PNG per NAB file, for looking at what went wrong.

Signal on top with the labelled windows (shaded), the probationary rows (grey) and the detections
(red lines); the detector's score below with the corpus threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot_file(run: Any, detector: str, threshold: float, detections: Sequence[bool], folder: Path) -> Path:
    """Write ``folder/<category>__<file>.png`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = range(run.rows)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(14, 6), sharex=True, height_ratios=(2, 1))
    top.plot(rows, run.values, color="tab:blue", linewidth=0.6)
    for axis in (top, bottom):
        axis.axvspan(0, run.probation, color="0.85", label="probation (training)" if axis is top else None)
        for start, end in run.windows:
            axis.axvspan(
                start,
                end,
                color="tab:green",
                alpha=0.25,
                label="labelled window" if axis is top and start == run.windows[0][0] else None,
            )
        for row in (i for i, fired in enumerate(detections) if fired):
            axis.axvline(row, color="tab:red", linewidth=1.0)
    bottom.plot(rows, run.scores[detector], color="tab:purple", linewidth=0.6, label=detector)
    bottom.axhline(threshold, color="black", linestyle="--", linewidth=0.8, label=f"threshold {threshold:.3g}")
    bottom.set_ylim(0, 1.05)
    top.set_title(f"{run.name}: {sum(detections)} detection(s) (red), {len(run.windows)} labelled window(s)")
    top.legend(loc="upper left", fontsize=8)
    bottom.legend(loc="upper left", fontsize=8)
    bottom.set_xlabel("row")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (run.name.replace("/", "__").removesuffix(".csv") + ".png")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
