"""What dashboard charts draw: decimation keeps every column's extremes, the series buffer
grows and forgets in blocks, legend names say what tells series apart, axes get round ends,
and a curve repaints only what changed."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auterity_desktop.ui.widgets.chart_series import (
    SeriesBuffer,
    Unit,
    decimate,
    legend_names,
    unit_of,
)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=3000),
    st.integers(1, 400),
)
def test_decimation_keeps_the_extremes_of_every_column(values: list[float], columns: int) -> None:
    v = np.asarray(values)
    t = np.arange(len(v), dtype=np.float64)
    x0, x1 = 0.0, float(len(v))
    dt, dv = decimate(t, v, x0, x1, columns)
    assert len(dt) <= max(2 * columns + 2, len(v))
    assert dv.min() == v.min() and dv.max() == v.max()
    assert (np.diff(dt) >= 0).all()
    if len(v) > 2 * columns:  # each column shows its own lowest and highest value
        width = (x1 - x0) / columns
        for column in range(columns):
            inside = v[(t >= x0 + column * width) & (t < x0 + (column + 1) * width)]
            shown = dv[dt == x0 + column * width]
            if len(inside):
                assert sorted(shown) == sorted([inside.min(), inside.max()])


def test_decimation_columns_stay_put_when_the_window_moves_by_whole_columns() -> None:
    t = np.arange(1000, dtype=np.float64)
    v = np.sin(t / 10)
    first = decimate(t, v, 100.0, 600.0, 50)
    moved = decimate(t, v, 110.0, 610.0, 50)  # one column (10 s) later
    assert np.array_equal(first[0][4:-4], moved[0][2:-6])
    assert np.array_equal(first[1][4:-4], moved[1][2:-6])


def test_buffer_appends_forgets_and_finds_points() -> None:
    buffer = SeriesBuffer(capacity=16)
    for i in range(100):
        buffer.append(float(i), float(i * 2))
    buffer.append(50.0, 0.0)  # not newer than the last point: ignored
    assert len(buffer) == 100 and buffer.v[-1] == 198.0
    buffer.drop_before(90.0)
    assert buffer.t.tolist() == [float(i) for i in range(90, 100)]
    for i in range(100, 200):
        buffer.append(float(i), 1.0)
    assert len(buffer) == 110 and buffer.t[0] == 90.0
    assert buffer.at(150.5) == (150.0, 1.0)
    assert buffer.at(10.0) is None
    buffer.keep_last(5)
    assert buffer.t.tolist() == [195.0, 196.0, 197.0, 198.0, 199.0]
    buffer.set(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert buffer.v.tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("series", "names"),
    [
        ([], []),
        ([("auterity_process_threads", {})], ["process threads"]),
        (
            [
                ("auterity_runs_total", {"status": "failed"}),
                ("auterity_runs_total", {"status": "ok"}),
            ],
            ["failed", "ok"],
        ),
        (
            [
                ("auterity_node_duration_seconds_p95", {}),
                ("auterity_node_duration_seconds_mean", {}),
            ],
            ["p95", "mean"],
        ),
        (
            [("auterity_system_memory_ratio", {}), ("auterity_disk_usage_ratio", {})],
            ["system memory", "disk usage"],
        ),
        (
            [("a_latency", {"integration": "CRM"}), ("b_latency", {"integration": "DMS"})],
            ["a · CRM", "b · DMS"],
        ),
    ],
)
def test_legend_names_say_what_differs(series: list[Any], names: list[str]) -> None:
    assert legend_names(series) == names


def test_units() -> None:
    assert unit_of("auterity_system_cpu_ratio", "gauge") == Unit("%", 100.0, 1)
    assert unit_of("auterity_runs_total", "counter").label == "/min"
    assert unit_of("auterity_process_memory_bytes", "gauge").scale == 1 / 1024**2
    assert unit_of("auterity_node_duration_seconds_p95", "gauge").label == "s"
    assert Unit("%", 100.0, 1).format(42.25) == "42.2 %"
    assert Unit("/min", 1.0, 2).format(3.0) == "3/min"
    assert Unit("", 1.0, 2).format(1234.5) == "1,234"
    assert Unit("s", 1.0, 3).format(float("nan")) == "–"


def test_axis_ranges_and_partial_repaints(qapp: Any) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor

    from auterity_desktop.ui.widgets.chart_widget import ChartCurveItem, nice_range

    assert nice_range(3.0, 22.7) == (0.0, 25.0)
    assert nice_range(0.0, 1.0)[0] < 0 < nice_range(0.0, 1.0)[1]  # zero stays visible
    low, high = nice_range(101.0, 104.0)
    assert low <= 101 and high >= 104 and low > 90

    curve = ChartCurveItem("k", "cpu", QColor("red"))
    curve.buffer.set(np.arange(2000, dtype=np.float64), np.sin(np.arange(2000) / 50))
    view = QRectF(0.0, -1.0, 2000.0, 2.0)
    curve.stage(0.0, 2000.0, 200)
    assert curve.commit(view, 0.1, 100.0)  # first drawing
    curve.stage(0.0, 2000.0, 200)
    assert not curve.commit(view, 0.1, 100.0)  # same pixels: nothing to repaint
    curve.buffer.append(2000.5, 5.0)  # a new peak in the last column
    curve.stage(0.0, 2010.0, 200)
    assert curve.commit(view, 0.1, 100.0)
    assert curve.repaints == 2


def test_sparse_series_are_drawn_as_dots(qtbot: Any) -> None:
    """A series with a few values in view (the first minute after start-up) shows each
    value as a dot: a lone value drawn as one pixel, or a line few pixels long, is lost."""
    from PySide6.QtGui import QColor

    from auterity_desktop.ui.theme import load_palette
    from auterity_desktop.ui.widgets.chart_widget import ChartWidget

    chart = ChartWidget("Runs", load_palette("light"))
    qtbot.addWidget(chart)
    chart.resize(420, 260)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_curves([("lone", "lone"), ("dense", "dense")])
    lone, dense = chart.curves["lone"], chart.curves["dense"]
    chart.set_history("lone", np.array([250.0]), np.array([3.0]))
    t = np.linspace(0.0, 300.0, 600)
    chart.set_history("dense", t, 2.0 + np.sin(t / 10))
    chart.set_window(0.0, 300.0)
    chart.redraw()
    assert lone.markers and not dense.markers  # 600 points in about 350 pixels are a line

    def pixels_of(colour: QColor) -> int:
        image = chart.plot.grab().toImage()
        return sum(
            image.pixelColor(x, y) == colour
            for x in range(image.width())
            for y in range(image.height())
        )

    assert pixels_of(lone.colour) >= 12  # a dot of 5 pixels across, not a single pixel
    lone.setVisible(False)
    chart.redraw()
    assert pixels_of(lone.colour) == 0  # and those pixels were the lone value's dot


@pytest.mark.parametrize("width", [260, 320, 420, 1200])
def test_time_axis_labels_a_live_window_of_any_width(qtbot: Any, width: int) -> None:
    """Every chart of the live five minutes shows at least two time labels, wherever the
    window starts; pyqtgraph's own steps (1, 5, 15 minutes) left narrow charts with one
    label or none."""
    from auterity_desktop.ui.theme import load_palette
    from auterity_desktop.ui.widgets.chart_widget import ChartWidget

    chart = ChartWidget("Runs", load_palette("light"))
    qtbot.addWidget(chart)
    chart.resize(width, 260)
    chart.show()
    qtbot.waitExposed(chart)
    axis = chart.axis
    start = 1_790_000_000.0 + 17  # five minutes that do not begin on a round minute
    for shift in range(0, 300, 37):
        x0, x1 = start + shift, start + shift + 300
        chart.set_window(x0, x1, live=True)
        chart.redraw()
        chart.plot.grab()  # paint: the axis learns its font there
        levels = axis.tickValues(x0, x1, axis.geometry().width())
        ticks = [t for _, values in levels for t in values if x0 <= t <= x1]
        assert 2 <= len(ticks) <= max(2, width // 45), (width, shift, levels)
        strings = [t for sp, values in levels for t in axis.tickStrings(values, 1.0, sp)]
        assert all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", t) for t in strings), strings


def test_run_outcomes_keep_the_colour_of_their_meaning(qtbot: Any) -> None:
    from PySide6.QtGui import QColor

    from auterity_desktop.ui.theme import load_palette
    from auterity_desktop.ui.widgets.chart_widget import ChartWidget

    for theme in ("light", "dark"):
        colours = load_palette(theme)
        chart = ChartWidget("Workflow runs", colours)
        qtbot.addWidget(chart)
        chart.set_curves([("f", "failed"), ("s", "succeeded"), ("c", "cancelled"), ("x", "cpu")])
        assert chart.curves["f"].colour == QColor(colours["error"])
        assert chart.curves["s"].colour == QColor(colours["ok"])
        assert chart.curves["c"].colour == QColor(colours["muted_text"])
        # other series take the palette in order, whatever their place
        chart.set_curves([("x", "cpu"), ("f", "failed")])
        assert chart.curves["x"].colour == QColor(colours["accent"])
        assert chart.curves["f"].colour == QColor(colours["error"])
