"""``--plot`` for replay: signal and forecast per channel, score, threshold and alerts (matplotlib, lazily)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.errors import ConfigError, EdgeError
from edge.replay_file import ReplaySummary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIME_LABEL = "time (UTC)"


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend; a gateway install may lack it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError(
            "--plot needs matplotlib, which a gateway install leaves out; "
            "pip install 'edge-anomaly[plot]' or drop --plot"
        ) from exc
    return plt


def label_time_on_every_panel(axes: Iterable[Any]) -> None:
    """Time tick labels and an x label under each panel, not only the bottom one (``sharex`` hides the rest)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    for axis in axes:
        locator = AutoDateLocator()  # one each: a locator belongs to one axis
        axis.xaxis.set_major_locator(locator)
        axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axis.tick_params(axis="x", labelbottom=True)
        axis.set_xlabel(TIME_LABEL)


def plot_replay(summary: ReplaySummary, path: Path, title: str) -> None:
    """Save :func:`replay_figure` as a PNG."""
    figure = replay_figure(summary, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    _pyplot().close(figure)


def replay_figure(summary: ReplaySummary, title: str) -> Figure:
    """One panel per channel and a score panel, each with its time axis; ``title`` above the first."""
    plt = _pyplot()
    trace = summary.trace
    if trace is None:
        raise EdgeError("the replay kept no trace to plot (replay with keep_trace=True)")
    times = [datetime.fromtimestamp(t, tz=UTC) for t in trace.timestamps]
    channels = summary.channels
    figure, axes = plt.subplots(
        len(channels) + 1, 1, figsize=(12, 2.5 * (len(channels) + 1)), sharex=True, layout="constrained"
    )
    spans = _alert_spans(trace.alerts)
    for i, (name, axis) in enumerate(zip(channels, axes)):
        axis.plot(times, [v[i] for v in trace.values], lw=0.8, label="observed")
        axis.plot(times, [e[i] if e else float("nan") for e in trace.expected], lw=0.8, alpha=0.8, label="expected")
        unit = summary.units[i] if i < len(summary.units) else ""
        axis.set_ylabel(f"{name} [{unit}]" if unit else name)
        axis.legend(loc="upper left", fontsize=7)
    score_axis = axes[-1]
    score_axis.plot(
        times,
        [s if s is not None else float("nan") for s in trace.levels],
        lw=0.8,
        color="tab:gray",
        label="level (decides alerts)",
    )
    score_axis.plot(
        times,
        [s if s is not None else float("nan") for s in trace.scores],
        lw=0.8,
        color="black",
        label="anomaly score",
    )
    score_axis.axhline(summary.threshold, color="red", ls="--", lw=0.8, label=f"threshold {summary.threshold:.3f}")
    score_axis.set_ylim(0, 1.02)
    score_axis.set_ylabel("score")
    score_axis.legend(loc="upper left", fontsize=7)
    for axis in axes:
        for start, end in spans:
            axis.axvspan(times[start], times[end], color="red", alpha=0.15, lw=0)
    label_time_on_every_panel(axes)
    counters = summary.counters
    axes[0].set_title(f"{title}: {counters.alerts} alert(s), {counters.faults} sensor fault(s)")
    return figure


def _alert_spans(flags: list[bool]) -> list[tuple[int, int]]:
    """Runs of alerting samples as (first, last) indices.

    >>> _alert_spans([False, True, True, False, True])
    [(1, 2), (4, 4)]
    """
    spans: list[tuple[int, int]] = []
    start = None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            spans.append((start, i - 1))
            start = None
    if start is not None:
        spans.append((start, len(flags) - 1))
    return spans
