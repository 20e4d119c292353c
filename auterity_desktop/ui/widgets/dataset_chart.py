"""The chart under a group-by result: one bar (or point) per group and one series per value
column, so a pivot reads as grouped bars. Drawn with pyqtgraph.

Only the first ``MAX_GROUPS`` groups are drawn and the caption says so: past that, bars
become slivers and their labels unreadable, and the table above holds every value anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from auterity_desktop.ui.models.dataset_models import format_cell
from auterity_desktop.ui.widgets.chart_widget import series_colour
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget

MAX_GROUPS = 40
MAX_SERIES = 8
LABEL_CHARS = 14
Colours = Callable[[], Mapping[str, str]]


def group_labels(result: pd.DataFrame, row_fields: Sequence[str]) -> list[str]:
    """One label per result row: its row-field values joined by " / "."""
    labels: list[str] = []
    for values in zip(*(result[f].tolist() for f in row_fields), strict=True):
        labels.append(" / ".join(format_cell(v) or "(empty)" for v in values))
    return labels


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


class DatasetChart(QWidget):
    def __init__(self, colours: Colours, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colours = colours
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.getPlotItem().hideButtons()
        self.plot.setMouseEnabled(x=True, y=False)
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.empty = EmptyStateWidget()
        self.empty.set_text("No chart yet", "Group the data set to chart the result.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.plot)
        self.caption = QLabel("")
        self.caption.setObjectName("PageSubtitle")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        # What is drawn, for tests and the report: group labels and per-series values.
        self.labels: list[str] = []
        self.series: dict[str, list[float]] = {}
        self.kind = "bar"
        self.bar_items: list[pg.BarGraphItem] = []
        self.apply_theme()

    @property
    def bar_count(self) -> int:
        """Bars on screen, summed over the series (0 for a line chart)."""
        return sum(len(item.opts["height"]) for item in self.bar_items)

    @property
    def showing_plot(self) -> bool:
        return self.stack.currentWidget() is self.plot

    def apply_theme(self) -> None:
        colours = self._colours()
        self.plot.setBackground(colours.get("base", "#ffffff"))
        pen = pg.mkPen(colours.get("muted_text", "#5f6b7a"))
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pen)
            axis.setTextPen(pen)
        self.legend.setLabelTextColor(colours.get("text", "#1f2933"))
        if self.labels:
            self._draw()

    def show_empty(self, title: str, text: str) -> None:
        self.labels, self.series, self.bar_items = [], {}, []
        self.plot.clear()
        self.legend.clear()
        self.caption.setText("")
        self.empty.set_text(title, text)
        self.stack.setCurrentWidget(self.empty)

    def show_result(
        self, result: pd.DataFrame, row_fields: Sequence[str], kind: str = "bar"
    ) -> None:
        """Chart every non-row column of ``result`` that holds numbers."""
        value_columns = [
            c
            for c in result.columns
            if c not in row_fields and pd.api.types.is_numeric_dtype(result[c].dtype)
        ]
        if result.empty or not value_columns:
            self.show_empty("Nothing to chart", "The result has no numeric values.")
            return
        notes: list[str] = []
        shown = result.iloc[:MAX_GROUPS]
        if len(result) > MAX_GROUPS:
            notes.append(f"first {MAX_GROUPS} of {len(result):,} groups")
        if len(value_columns) > MAX_SERIES:
            notes.append(f"first {MAX_SERIES} of {len(value_columns)} series")
            value_columns = value_columns[:MAX_SERIES]
        self.labels = group_labels(shown, row_fields)
        self.series = {
            str(c): [float(v) for v in pd.to_numeric(shown[c], errors="coerce").fillna(np.nan)]
            for c in value_columns
        }
        self.kind = kind
        title = ", ".join(self.series) if len(self.series) <= 3 else f"{len(self.series)} series"
        by = " / ".join(row_fields)
        self.caption.setText(f"{title} by {by}" + (f" ({'; '.join(notes)})" if notes else ""))
        self._draw()
        self.stack.setCurrentWidget(self.plot)

    def _draw(self) -> None:
        colours = self._colours()
        self.plot.clear()
        self.legend.clear()
        self.bar_items = []
        n = len(self.labels)
        xs = np.arange(n, dtype=float)
        count = len(self.series)
        width = 0.8 / max(1, count)
        for i, (name, values) in enumerate(self.series.items()):
            colour = series_colour(i, colours)
            ys = np.asarray(values, dtype=float)
            if self.kind == "line":
                item = self.plot.plot(
                    xs, ys, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                    symbolBrush=colour, symbolPen=pg.mkPen(colour), name=name, connect="finite",
                )  # fmt: skip
                del item
                continue
            offset = (i - (count - 1) / 2) * width
            finite = np.isfinite(ys)
            brush = QColor(colour)
            brush.setAlpha(220)
            bars = pg.BarGraphItem(
                x=xs[finite] + offset, height=ys[finite], width=width * 0.92,
                brush=brush, pen=pg.mkPen(colour), name=name,
            )  # fmt: skip
            self.plot.addItem(bars)  # named items join the legend by themselves
            self.bar_items.append(bars)
        if count <= 1:
            self.legend.clear()
        else:  # one row of names above the bars rather than a column over the last group
            self.legend.setColumnCount(min(count, 6))
        step = max(1, n // 12)
        ticks: list[tuple[float, str]] = [
            (float(i), _short(self.labels[i])) for i in range(0, n, step)
        ]
        self.plot.getAxis("bottom").setTicks([ticks, []])
        self.plot.setXRange(-0.6, n - 0.4, padding=0)
        finite_values = [v for vs in self.series.values() for v in vs if np.isfinite(v)]
        if finite_values:
            low, high = min(0.0, min(finite_values)), max(0.0, max(finite_values))
            if low == high:
                high = low + 1
            # room above the tallest bar for the legend in the top right corner
            pad = (high - low) * (0.06 if count <= 1 else 0.22)
            self.plot.setYRange(low - (pad if low < 0 else 0), high + pad, padding=0)

    def values(self) -> Mapping[str, Any]:
        return {"labels": list(self.labels), "series": {k: list(v) for k, v in self.series.items()}}
