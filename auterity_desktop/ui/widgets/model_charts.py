"""The Models page's charts, drawn with pyqtgraph (imported here only, when the page opens).

``MetricsChartWidget`` draws metrics per hour or day as lines, each with its baseline as a
dashed line of the same colour. ``DistributionChartWidget`` overlays one feature's reference
and current distributions (as % of each sample's values): two translucent histograms over
the same bins for numbers, a pair of bars per category otherwise. Colours follow the
theme; both show a sentence instead of an empty plot when there is nothing to draw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from auterity_desktop.services.monitoring.ml_metrics import LOWER_IS_BETTER, METRIC_NAMES
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget

Colours = Callable[[], Mapping[str, str]]
SERIES_KEYS = ("accent", "ok", "warning", "error")
EXTRA_COLOURS = ("#7c3aed", "#0891b2", "#db2777")
MAX_TICK_LABEL = 12


class _DateAxisItem(pg.DateAxisItem):
    """Dates as "Nov 18" (hours as "18 14:00") rather than bare day numbers."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if spacing >= 86400:
            fmt = "%b %d"
        elif spacing >= 3600:
            fmt = "%d %H:%M"
        else:
            fmt = "%H:%M"
        return [time.strftime(fmt, time.localtime(v)) for v in values]


def _series_colours(colours: Mapping[str, str]) -> list[str]:
    return [colours[k] for k in SERIES_KEYS] + list(EXTRA_COLOURS)


def _translucent(colour: str, alpha: int) -> QColor:
    result = QColor(colour)
    result.setAlpha(alpha)
    return result


class _ChartWidget(QWidget):
    """A plot, or a sentence saying why there is none; themed from the palette."""

    def __init__(self, colours: Colours, date_axis: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colours = colours
        axes = {"bottom": _DateAxisItem(orientation="bottom")} if date_axis else {}
        self.plot = pg.PlotWidget(axisItems=axes)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.getPlotItem().hideButtons()
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.empty = EmptyStateWidget()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.empty)
        self.caption = QLabel("")
        self.caption.setObjectName("PageSubtitle")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.apply_theme()

    def apply_theme(self) -> None:
        colours = self._colours()
        self.plot.setBackground(colours["base"])
        pen = pg.mkPen(colours["muted_text"])
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pen)
            axis.setTextPen(pen)
        self.legend.setLabelTextColor(colours["text"])
        self.legend.setBrush(_translucent(colours["base"], 200))

    def show_empty(self, title: str, text: str) -> None:
        self.plot.clear()
        self.legend.clear()
        self.empty.set_text(title, text)
        self.stack.setCurrentWidget(self.empty)

    @property
    def showing_plot(self) -> bool:
        return self.stack.currentWidget() is self.plot


class MetricsChartWidget(_ChartWidget):
    def __init__(self, colours: Colours, parent: QWidget | None = None) -> None:
        super().__init__(colours, date_axis=True, parent=parent)
        self.series: dict[str, list[float]] = {}  # what is drawn, for tests and tooltips
        self.plot.setLabel("left", "")

    def show_series(
        self,
        points: Sequence[Any],
        metrics: Sequence[str],
        baseline: Mapping[str, float | None] | None,
        bucket: float,
    ) -> None:
        """``points`` are ``MetricsPoint``s; each metric a line, its baseline dashed."""
        self.plot.clear()
        self.legend.clear()
        self.series = {}
        xs = [p.start + bucket / 2 for p in points]
        palette = _series_colours(self._colours())
        for i, metric in enumerate(metrics):
            ys = [
                math.nan if p.metrics.get(metric) is None else float(p.metrics[metric])
                for p in points
            ]
            if all(math.isnan(y) for y in ys):
                continue
            colour = palette[i % len(palette)]
            self.plot.plot(
                xs, ys, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                symbolBrush=colour, symbolPen=colour, name=METRIC_NAMES.get(metric, metric),
                connect="finite",
            )  # fmt: skip
            self.series[metric] = ys
            value = (baseline or {}).get(metric)
            if value is not None:
                line = pg.InfiniteLine(
                    pos=value, angle=0, pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)
                )
                line.setToolTip(f"Baseline {METRIC_NAMES.get(metric, metric)}: {value:.3g}")
                self.plot.addItem(line)
        if not self.series:
            self.show_empty(
                "No labelled predictions in this window",
                "Metrics need actual values: log them for the predictions (by id) and they "
                "appear here per hour or day.",
            )
            return
        self.stack.setCurrentWidget(self.plot)
        self.plot.setXRange(min(xs) - bucket, max(xs) + bucket, padding=0)
        if not any(m in LOWER_IS_BETTER for m in self.series):
            low = min(min(y for y in ys if not math.isnan(y)) for ys in self.series.values())
            self.plot.setYRange(min(0.0, low), 1.02, padding=0)
        else:
            self.plot.enableAutoRange(axis="y")


class DistributionChartWidget(_ChartWidget):
    def __init__(self, colours: Colours, parent: QWidget | None = None) -> None:
        super().__init__(colours, date_axis=False, parent=parent)
        self.plot.setLabel("left", "% of values")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.feature: str | None = None
        self.shown: Mapping[str, Any] | None = None

    def show_distribution(self, feature: str, distribution: Mapping[str, Any] | None) -> None:
        self.plot.clear()
        self.legend.clear()
        self.feature, self.shown = feature, distribution
        axis = self.plot.getAxis("bottom")
        axis.setTicks(None)
        if not distribution:
            self.show_empty(
                f"No distribution of {feature}", "Check drift again to draw this feature."
            )
            return
        colours = self._colours()
        ref_colour, cur_colour = colours["accent"], colours["warning"]
        ref = [100 * float(v) for v in distribution["reference"]]
        cur = [100 * float(v) for v in distribution["current"]]
        n_ref, n_cur = distribution["reference_count"], distribution["current_count"]
        if distribution["type"] == "histogram":
            edges = [float(e) for e in distribution["edges"]]
            left, right = edges[:-1], edges[1:]
            ref_bars = pg.BarGraphItem(
                x0=left, x1=right, height=ref, brush=_translucent(ref_colour, 110),
                pen=pg.mkPen(ref_colour),
            )  # fmt: skip
            cur_bars = pg.BarGraphItem(
                x0=left, x1=right, height=cur, brush=_translucent(cur_colour, 110),
                pen=pg.mkPen(cur_colour),
            )  # fmt: skip
            self.plot.setLabel("bottom", feature)
        else:
            positions = list(range(len(distribution["categories"])))
            ref_bars = pg.BarGraphItem(
                x=[p - 0.2 for p in positions], width=0.4, height=ref,
                brush=_translucent(ref_colour, 200), pen=pg.mkPen(ref_colour),
            )  # fmt: skip
            cur_bars = pg.BarGraphItem(
                x=[p + 0.2 for p in positions], width=0.4, height=cur,
                brush=_translucent(cur_colour, 200), pen=pg.mkPen(cur_colour),
            )  # fmt: skip
            labels = [
                c if len(c) <= MAX_TICK_LABEL else c[: MAX_TICK_LABEL - 1] + "…"
                for c in distribution["categories"]
            ]
            axis.setTicks([list(zip(positions, labels, strict=True))])
            self.plot.setLabel("bottom", feature)
        self.plot.addItem(ref_bars)
        self.plot.addItem(cur_bars)
        self.legend.addItem(ref_bars, f"Reference (n={n_ref:,})")
        self.legend.addItem(cur_bars, f"Current (n={n_cur:,})")
        self.stack.setCurrentWidget(self.plot)
        self.plot.autoRange()
        self.plot.setYRange(0, max([*ref, *cur, 1.0]) * 1.15, padding=0)
