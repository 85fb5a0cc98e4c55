"""The report picture: validation signal against forecast, scores and threshold, per channel."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from edge.plot import label_time_on_every_panel  # noqa: E402
from export.pipeline import ExportResult  # noqa: E402


def report_figure(result: ExportResult) -> Figure:
    """Per channel, signal vs forecast and its score, then the overall score; each panel with its time axis."""
    history, shipped, cal = result.history, result.shipped, result.calibration
    times = [datetime.fromtimestamp(t, tz=UTC) for t in history.timestamps[result.validation_rows]]
    channels = history.channels
    panels = 2 * len(channels) + 1
    figure, axes = plt.subplots(panels, 1, figsize=(12, 2.9 * panels), sharex=True, squeeze=False, layout="constrained")
    axes = axes[:, 0]
    for c, name in enumerate(channels):
        signal, score = axes[2 * c], axes[2 * c + 1]
        signal.plot(times, result.observed[:, c], lw=0.8, label="observed")
        signal.plot(times, shipped.forecasts[:, c], lw=0.8, label="forecast")
        signal.set_ylabel(name)
        signal.legend(loc="upper left", fontsize=8)
        score.plot(times, shipped.channel_scores[:, c], lw=0.8, color="tab:purple", label=f"{name} score")
        score.axhline(cal.threshold, color="tab:red", ls="--", lw=1, label=f"threshold {cal.threshold:.3f}")
        score.set_ylim(0, 1)
        score.set_ylabel("score")
        score.legend(loc="upper left", fontsize=8)
    overall = axes[-1]
    overall.plot(times, shipped.scores, lw=0.8, color="black", label="anomaly score")
    overall.axhline(cal.threshold, color="tab:red", ls="--", lw=1, label="threshold")
    alerts = [t for t, a in zip(times, shipped.alerts) if a]
    if alerts:
        overall.plot(alerts, [1.0] * len(alerts), "v", color="tab:red", ms=4, label=f"{len(alerts)} alert samples")
    overall.set_ylim(0, 1.05)
    overall.set_ylabel("overall")
    overall.legend(loc="upper left", fontsize=8)
    label_time_on_every_panel(axes)
    figure.suptitle(f"{history.path.name}: validation rows, {result.model.metadata.precision} model")
    return figure


def write_report(result: ExportResult, path: Path) -> None:
    """Save :func:`report_figure` as a PNG."""
    figure = report_figure(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
