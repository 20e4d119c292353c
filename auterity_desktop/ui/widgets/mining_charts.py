"""The charts beside the process map, drawn with pyqtgraph: the dotted chart and the
histogram of case durations.

The dotted chart puts every event at its time (x) on its case's row (y), coloured by
activity — batches, gaps and drifts over time show as patterns no table reveals. The
histogram bins the case durations in the unit their median reads best in (minutes, hours,
days), so the axis says "12 h" and not "43200".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.model_charts import _DateAxisItem

Colours = Callable[[], Mapping[str, str]]
# Distinct hues that read on light and dark backgrounds; activities beyond them repeat.
ACTIVITY_COLOURS = (
    "#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04",
    "#dc2626", "#4f46e5", "#059669", "#c026d3", "#65a30d", "#0284c7", "#e11d48",
)  # fmt: skip
LEGEND_MAX = 14
UNITS = (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0), ("seconds", 1.0))


def duration_unit(values: Sequence[float] | np.ndarray) -> tuple[str, float]:
    """The unit the median duration is at least 1 in."""
    if not len(values):
        return "seconds", 1.0
    median = float(np.median(np.asarray(values, dtype=float)))
    for name, size in UNITS:
        if median >= size:
            return name, size
    return "seconds", 1.0


def histogram_bins(count: int) -> int:
    """Sturges' rule, kept between 5 and 40 bars."""
    if count <= 1:
        return 1
    return max(5, min(40, math.ceil(math.log2(count) + 1)))


class _Chart(QWidget):
    def __init__(self, colours: Colours, axes: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self._colours = colours
        self.plot = pg.PlotWidget(axisItems=axes)
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.empty = EmptyStateWidget()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.empty)
        self.caption = QLabel("")
        self.caption.setObjectName("PageSubtitle")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)

    def apply_theme(self) -> None:
        colours = self._colours()
        self.plot.setBackground(colours["base"])
        pen = pg.mkPen(colours["muted_text"])
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pen)
            axis.setTextPen(pen)

    def show_empty(self, title: str, text: str) -> None:
        self.plot.clear()
        self.caption.setText("")
        self.empty.set_text(title, text)
        self.stack.setCurrentWidget(self.empty)


class DottedChartWidget(_Chart):
    def __init__(self, colours: Colours, parent: QWidget | None = None) -> None:
        super().__init__(colours, {"bottom": _DateAxisItem(orientation="bottom")}, parent)
        self.plot.setLabel("left", "Case")
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.points = 0
        self.activities: list[str] = []
        self.apply_theme()
        self.show_empty("No events", "Open an event log to see its events over time.")

    def apply_theme(self) -> None:
        super().apply_theme()
        colours = self._colours()
        if hasattr(self, "legend"):
            self.legend.setLabelTextColor(colours["text"])
            background = QColor(colours["base"])
            background.setAlpha(210)
            self.legend.setBrush(background)

    def show_chart(self, chart: Mapping[str, Any]) -> None:
        self.plot.clear()
        self.legend.clear()
        x = np.asarray(chart.get("time", []), dtype=float)
        y = np.asarray(chart.get("case_index", []), dtype=float)
        codes = np.asarray(chart.get("activity", []), dtype=int)
        names = [str(n) for n in chart.get("activities", [])]
        self.points, self.activities = len(x), names
        if not len(x):
            self.show_empty("No events", "The log has no events to plot.")
            return
        order = np.argsort(np.bincount(codes, minlength=len(names)))[::-1]
        named = min(len(names), LEGEND_MAX)
        self.legend.setColumnCount(max(1, math.ceil(named / 3)))  # wide and flat, not tall
        for rank, code in enumerate(order):
            mask = codes == code
            if not mask.any():
                continue
            colour = QColor(ACTIVITY_COLOURS[rank % len(ACTIVITY_COLOURS)])
            colour.setAlpha(200)
            item = pg.ScatterPlotItem(
                x[mask], y[mask], size=5, pen=None, brush=pg.mkBrush(colour),
                name=names[code] if rank < LEGEND_MAX else None,
            )  # fmt: skip
            self.plot.addItem(item)
        cases = int(y.max()) + 1 if len(y) else 0
        sampled = " (a sample: the log is larger)" if chart.get("sampled") else ""
        more = (
            f"; the legend names the {LEGEND_MAX} most frequent" if len(names) > LEGEND_MAX else ""
        )
        self.caption.setText(
            f"{self.points:,} events of {cases:,} cases{sampled}, one row per case in the "
            f"order the cases started, coloured by activity{more}."
        )
        self.plot.getPlotItem().invertY(True)  # the first case on top
        self.plot.autoRange()
        self.stack.setCurrentWidget(self.plot)


class DurationHistogramWidget(_Chart):
    def __init__(self, colours: Colours, parent: QWidget | None = None) -> None:
        super().__init__(colours, {}, parent)
        self.plot.setLabel("left", "Cases")
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.bars = 0
        self.unit = "seconds"
        self.heights: list[int] = []
        self.apply_theme()
        self.show_empty("No durations", "Open an event log to see how long its cases take.")

    def show_durations(self, values: Sequence[float], summary: Mapping[str, Any] | None) -> None:
        self.plot.clear()
        data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if not len(data):
            self.bars, self.heights = 0, []
            self.show_empty("No durations", "The log has no cases with a duration.")
            return
        self.unit, size = duration_unit(data)
        scaled = data / size
        low, high = float(scaled.min()), float(scaled.max())
        bins = histogram_bins(len(data)) if high > low else 1
        if high <= low:
            low, high = low - 0.5, high + 0.5
        heights, edges = np.histogram(scaled, bins=bins, range=(low, high))
        colours = self._colours()
        fill = QColor(colours["accent"])
        fill.setAlpha(170)
        bars = pg.BarGraphItem(
            x0=edges[:-1], x1=edges[1:], height=heights,
            brush=pg.mkBrush(fill), pen=pg.mkPen(colours["accent"]),
        )  # fmt: skip
        self.plot.addItem(bars)
        self.bars, self.heights = len(heights), [int(h) for h in heights]
        self.plot.setLabel("bottom", f"Case duration ({self.unit})")
        median = float(np.median(scaled))
        line = pg.InfiniteLine(
            median,
            angle=90,
            pen=pg.mkPen(colours["warning"], width=2, style=pg.QtCore.Qt.PenStyle.DashLine),
        )
        self.plot.addItem(line)
        stats = summary or {}
        self.caption.setText(
            f"{len(data):,} cases in {self.bars} bars; median {median:.3g} {self.unit} (dashed)"
            + (
                f", mean {float(stats['mean']) / size:.3g} {self.unit}"
                if stats.get("mean") is not None
                else ""
            )
            + "."
        )
        self.plot.autoRange()
        self.stack.setCurrentWidget(self.plot)
