"""The dashboard's charts in a grid of a chosen number of columns, redrawn together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtWidgets import QGridLayout, QWidget

from auterity_desktop.ui.widgets.chart_widget import ChartWidget

MAX_COLUMNS = 4


class DashboardGridWidget(QWidget):
    def __init__(
        self, colours: Mapping[str, str], columns: int = 2, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DashboardGrid")
        self._colours = dict(colours)
        self.columns = max(1, min(columns, MAX_COLUMNS))
        self.charts: list[ChartWidget] = []
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(10)

    def add_chart(self, title: str, curves: Sequence[tuple[Any, str]] = ()) -> ChartWidget:
        chart = ChartWidget(title, self._colours, self)
        chart.set_curves(curves)
        self.charts.append(chart)
        self._place()
        return chart

    def remove_chart(self, chart: ChartWidget) -> None:
        if chart in self.charts:
            self.charts.remove(chart)
            self._layout.removeWidget(chart)
            chart.hide()
            chart.deleteLater()
            self._place()

    def clear(self) -> None:
        for chart in list(self.charts):
            self.remove_chart(chart)

    def set_columns(self, columns: int) -> None:
        self.columns = max(1, min(columns, MAX_COLUMNS))
        self._place()

    def _place(self) -> None:
        for chart in self.charts:
            self._layout.removeWidget(chart)
        for row in range(self._layout.rowCount()):
            self._layout.setRowStretch(row, 0)
        for column in range(self._layout.columnCount()):
            self._layout.setColumnStretch(column, 0)
        for index, chart in enumerate(self.charts):
            row, column = divmod(index, self.columns)
            self._layout.addWidget(chart, row, column)
            self._layout.setRowStretch(row, 1)
        for column in range(self.columns):
            self._layout.setColumnStretch(column, 1)

    def apply_colours(self, colours: Mapping[str, str]) -> None:
        self._colours = dict(colours)
        for chart in self.charts:
            chart.apply_colours(colours)

    def set_window(self, x0: float, x1: float, live: bool = False) -> None:
        for chart in self.charts:
            chart.set_window(x0, x1, live)

    def redraw(self) -> int:
        return sum(chart.redraw() for chart in self.charts)
