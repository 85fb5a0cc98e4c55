"""The export report and the replay plot: a title clear of the first panel, time labels under every panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURE_MODEL, live_rows, write_history

matplotlib = pytest.importorskip("matplotlib")


def assert_readable(figure, title, *, of_figure: bool) -> None:
    """``title`` sits above the first panel; every panel has time tick labels and an x label; none overlap.

    A figure's title must clear everything of the first panel; a panel's own title, the panel's frame.
    """
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axes = figure.axes
    first = axes[0]
    top = first.get_tightbbox(renderer) if of_figure else first.get_window_extent(renderer)
    assert title.get_text() and title.get_window_extent(renderer).y0 >= top.y1, "the title overlaps the first panel"
    for axis in axes:
        labels = [label for label in axis.get_xticklabels() if label.get_visible() and label.get_text()]
        assert labels, f"panel {axis.get_ylabel()!r} has no x tick labels"
        assert "time" in axis.get_xlabel().lower()
    boxes = [axis.get_tightbbox(renderer) for axis in axes]
    for upper, lower in zip(boxes, boxes[1:]):
        assert upper.y0 >= lower.y1, "a panel's labels run into the next panel"


def test_the_replay_plot_is_readable(tmp_path: Path) -> None:
    from edge.plot import replay_figure
    from edge.replay_file import replay

    rows = live_rows(200)
    t, temp, vib = rows[120]
    rows[120] = (t, temp + 30.0, vib)
    csv = write_history(tmp_path / "live.csv", rows, "timestamp,temperature,vibration")
    summary = replay(FIXTURE_MODEL, csv, tmp_path / "out.csv", keep_trace=True, log_events=False, units=["degC", ""])
    figure = replay_figure(summary, "live.csv")
    assert_readable(figure, figure.axes[0].title, of_figure=False)
    assert [a.get_ylabel() for a in figure.axes] == ["temperature [degC]", "vibration", "score"]
    matplotlib.pyplot.close(figure)


@pytest.mark.workstation
def test_the_export_report_is_readable(exported) -> None:
    from export.report import report_figure

    figure = report_figure(exported)
    assert figure.get_suptitle()
    assert_readable(figure, figure._suptitle, of_figure=True)
    matplotlib.pyplot.close(figure)
