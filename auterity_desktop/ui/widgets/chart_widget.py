"""One dashboard chart: a pyqtgraph plot with a date axis, several series, a legend and a
crosshair that reads every series' value under the cursor.

Built for many charts updating several times a second. Each series is a
``ChartCurveItem`` that draws one polyline of at most two points per pixel column
(``decimate``) with a cosmetic pen, and repaints only when that picture changes in whole
pixels. A live window slides in whole pixels too, so the date axis re-lays its ticks only
when they move. The y range follows the data with some slack instead of re-fitting at
every point. Times are seconds since the epoch; values arrive already in display units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.widgets.chart_series import (
    SERIES_COLOURS,
    SeriesBuffer,
    Unit,
    decimate,
    format_time,
)

EMPTY_TEXT = "No data in this range yet"
LEGEND_COLUMNS = 3


# a run's outcome keeps the theme colour of its meaning, wherever it comes in the legend
OUTCOME_COLOURS = {"succeeded": "ok", "failed": "error", "cancelled": "muted_text"}


def series_colour(index: int, colours: Mapping[str, str], name: str = "") -> QColor:
    """The colour of the ``index``-th series of a chart, or of its outcome by ``name``."""
    key = OUTCOME_COLOURS.get(name) or SERIES_COLOURS[index % len(SERIES_COLOURS)]
    return QColor(colours.get(key, key))


def nice_range(low: float, high: float) -> tuple[float, float]:
    """A padded range with round ends around [low, high]; non-negative data starts at 0
    when that costs little room."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return 0.0, 1.0
    if high - low <= abs(high) * 1e-9:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    span = high - low
    lo, hi = low - 0.08 * span, high + 0.08 * span
    if low >= 0 and (lo < 0 or low <= 0.25 * high):
        lo = 0.0
    step = 10 ** math.floor(math.log10((hi - lo) / 4))
    for factor in (1, 2, 5, 10):
        if (hi - lo) / (factor * step) <= 5:
            step *= factor
            break
    top = math.ceil(hi / step) * step
    if low == 0:  # a line at zero would hide in the axis: leave it a little room
        return -0.04 * (top - lo), top
    return math.floor(lo / step) * step, top


MARKER_PX = 5  # diameter of the dot drawn on each point of a sparse series
MARKER_SPACING_PX = 8  # dots are drawn while points are this far apart on average


class ChartCurveItem(pg.GraphicsObject):  # type: ignore[misc]
    """One series: its buffer and the polyline drawn for the visible range.

    Its bounding box is the visible range, so it changes only with the axes. A new point
    usually changes the newest pixel column alone; then only the strip from the first
    changed point onwards is repainted, and ``paint`` draws only the points in that strip.
    """

    def __init__(self, key: Any, name: str, colour: QColor) -> None:
        super().__init__()
        self.key = key
        self.name = name  # in the legend
        self.full_name = name  # the metric and its labels, in exports
        self.buffer = SeriesBuffer()
        self._pen = QPen(colour)
        self._pen.setCosmetic(True)
        self._pen.setWidth(1)
        self._dot = QPen(self._pen)
        self._dot.setWidth(MARKER_PX)
        self._dot.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.markers = False  # few points in view: each one is drawn as a dot too
        self.opts: dict[str, Any] = {"pen": self._pen, "antialias": False, "name": name}
        self._poly = QPolygonF()
        self._t = np.empty(0)
        self._rect = QRectF()
        self._pixels = np.empty((2, 0), dtype=np.int32)
        self._staged: tuple[np.ndarray, np.ndarray] | None = None
        self.extent: tuple[float, float] | None = None  # lowest and highest staged value
        self.repaints = 0
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_colour(self, colour: QColor) -> None:
        self._pen.setColor(colour)
        self._dot.setColor(colour)
        self.update()

    @property
    def colour(self) -> QColor:
        return self._pen.color()

    def stage(self, x0: float, x1: float, columns: int) -> None:
        """Pick the points to draw for [x0, x1]; ``extent`` then tells their value range."""
        t, v = decimate(self.buffer.t, self.buffer.v, x0, x1, columns)
        if len(v) and np.isnan(v).any():
            keep = ~np.isnan(v)
            t, v = t[keep], v[keep]
        self._staged = (t, v)
        self.extent = (float(v.min()), float(v.max())) if len(v) else None

    def commit(self, view: QRectF, sx: float, sy: float) -> bool:
        """Draw the staged points where they differ, in whole pixels, from what is drawn
        (``view``: the visible range; ``sx``, ``sy``: pixels per unit). Returns whether
        anything is repainted."""
        if self._staged is None:
            return False
        t, v = self._staged
        self._staged = None
        pixels = np.empty((2, len(t)), dtype=np.int32)
        np.rint((t - view.left()) * sx, out=pixels[0], casting="unsafe")
        np.rint((v - view.top()) * sy, out=pixels[1], casting="unsafe")
        before = self._pixels
        common = min(before.shape[1], pixels.shape[1])
        differs = np.flatnonzero((before[:, :common] != pixels[:, :common]).any(axis=0))
        if len(differs):
            first = int(differs[0])
        elif before.shape[1] != pixels.shape[1]:
            first = common
        else:
            return False
        self._pixels = pixels
        self._poly = pg.functions.arrayToQPolygonF(t, v) if len(t) else QPolygonF()
        self._t = t
        markers = len(t) * MARKER_SPACING_PX <= view.width() * sx
        if view != self._rect or markers != self.markers:
            self.markers = markers
            self.prepareGeometryChange()
            self._rect = QRectF(view)
            self.update()
        else:
            start = float(t[max(first - 1, 0)]) if len(t) and first > 0 else view.left()
            pad = (MARKER_PX if self.markers else 2) / max(sx, 1e-300)
            self.update(
                QRectF(start - pad, view.top(), view.right() - start + 2 * pad, view.height())
            )
        self.repaints += 1
        return True

    def forget_drawing(self) -> None:
        """Make the next ``commit`` draw everything (a new scale or size)."""
        self._pixels = np.empty((2, 0), dtype=np.int32)

    def boundingRect(self) -> QRectF:
        return self._rect

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange: Any = None) -> Any:
        if not len(self.buffer):
            return None, None
        data = self.buffer.t if axis == 0 else self.buffer.v
        return float(np.nanmin(data)), float(np.nanmax(data))

    def paint(self, painter: QPainter, option: Any, *_args: Any) -> None:
        count = len(self._t)
        if not count:
            return
        exposed = option.exposedRect
        lo = max(int(np.searchsorted(self._t, exposed.left(), side="left")) - 1, 0)
        hi = min(int(np.searchsorted(self._t, exposed.right(), side="right")) + 1, count)
        shown = self._poly if lo == 0 and hi == count else self._poly.mid(lo, hi - lo)
        if len(shown) >= 2:
            painter.setPen(self._pen)
            painter.drawPolyline(shown)
        if self.markers or count == 1:  # a lone value is a dot, not an invisible pixel
            painter.setPen(self._dot)
            painter.drawPoints(shown)


class TimeAxisItem(pg.DateAxisItem):  # type: ignore[misc]
    """pyqtgraph's date axis, with minute ticks that may also step by 2, 10 or 30 minutes
    and room reserved for the "00:00" actually drawn (not a wider "MMM 00"). With its own
    steps of 1, 5 or 15 minutes a narrow chart of the live five minutes got one time label
    or none."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        from pyqtgraph.graphicsItems import DateAxisItem as dates

        self.zoomLevels[15 * 60] = dates.ZoomLevel(
            [
                dates.TickSpec(dates.DAY_SPACING, dates.makeSStepper(dates.DAY_SPACING), "%a %d"),
                dates.TickSpec(
                    dates.MINUTE_SPACING,
                    dates.makeSStepper(dates.MINUTE_SPACING),
                    "%H:%M",
                    autoSkip=[1, 2, 5, 10, 15, 30],
                ),
            ],
            "00:00",
        )


class _PlotEvents(QObject):
    """Hides the crosshair when the pointer leaves; keeps the empty note centred."""

    def __init__(self, chart: ChartWidget) -> None:
        super().__init__(chart)
        self._chart = chart

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._chart.hide_crosshair()
        elif event.type() == QEvent.Type.Resize and watched is self._chart.plot:
            self._chart.empty.resize(self._chart.plot.size())
            for curve in self._chart.curves.values():
                curve.forget_drawing()
        return False


class ChartWidget(QFrame):
    """A titled chart; ``sig_configure`` and ``sig_remove`` come from its menu."""

    sig_configure = Signal()
    sig_remove = Signal()

    def __init__(
        self, title: str, colours: Mapping[str, str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DashboardChart")
        self._colours = dict(colours)
        self.unit = Unit("", 1.0)
        self.curves: dict[Any, ChartCurveItem] = {}
        self._window = (0.0, 1.0)
        self._live = False
        self._shown_x: tuple[float, float] | None = None
        self._shown_y: tuple[float, float] | None = None
        self._crosshair_x: float | None = None

        self.title = QLabel(title)
        self.title.setObjectName("ChartTitle")
        self.unit_label = QLabel("")
        self.unit_label.setObjectName("ChartUnit")
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setAccessibleName(f"Chart menu: {title}")
        self.menu_button.setToolTip("Configure or remove this chart")
        self.menu_button.setAutoRaise(True)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        self.configure_action = menu.addAction("Configure…", self.sig_configure.emit)
        self.remove_action = menu.addAction("Remove", self.sig_remove.emit)
        self.menu_button.setMenu(menu)
        self.legend_row = QGridLayout()
        self.legend_row.setContentsMargins(4, 0, 4, 0)
        self.legend_row.setSpacing(0)
        for column in range(LEGEND_COLUMNS):
            self.legend_row.setColumnStretch(column, 1)
        self.legend_buttons: dict[Any, QToolButton] = {}
        header = QHBoxLayout()
        header.setContentsMargins(8, 4, 2, 0)
        header.addWidget(self.title)
        header.addWidget(self.unit_label)
        header.addStretch(1)
        header.addWidget(self.menu_button)

        self.axis = TimeAxisItem()
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis})
        self.plot.setMinimumHeight(170)
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.showGrid(x=False, y=True, alpha=0.15)
        item.getAxis("left").setWidth(46)
        self.view = item.getViewBox()
        self.view.setMouseEnabled(x=False, y=False)
        self.view.disableAutoRange()
        self.vline = pg.InfiniteLine(angle=90, movable=False)
        self.vline.setZValue(10)
        self.vline.hide()
        item.addItem(self.vline, ignoreBounds=True)
        self.readout = QLabel(self.plot)
        self.readout.setObjectName("ChartReadout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.hide()
        self.empty = QLabel(EMPTY_TEXT, self.plot)
        self.empty.setObjectName("ChartEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._mouse = pg.SignalProxy(
            self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved
        )
        events = _PlotEvents(self)
        self.plot.viewport().installEventFilter(events)
        self.plot.installEventFilter(events)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addLayout(self.legend_row)
        layout.addWidget(self.plot, 1)
        self.apply_colours(colours)

    # -- appearance ---------------------------------------------------------------------
    def apply_colours(self, colours: Mapping[str, str]) -> None:
        self._colours = dict(colours)
        self.plot.setBackground(colours["base"])
        axis_pen = pg.mkPen(colours["border"])
        text_pen = pg.mkPen(colours["muted_text"])
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(axis_pen)
            axis.setTextPen(text_pen)
        for index, curve in enumerate(self.curves.values()):
            curve.set_colour(series_colour(index, colours, curve.name))
        self.vline.setPen(pg.mkPen(colours["muted_text"], style=Qt.PenStyle.DashLine))
        self.setStyleSheet(
            f"#DashboardChart {{ background: {colours['base']}; border: 1px solid "
            f"{colours['border']}; border-radius: 8px; }}"
            f"#ChartTitle {{ font-weight: 600; }}"
            f"#ChartUnit, #ChartEmpty {{ color: {colours['muted_text']}; }}"
            f"#ChartReadout {{ background: {colours['surface']}; color: {colours['text']};"
            f" border: 1px solid {colours['border']}; border-radius: 4px; padding: 3px 6px; }}"
            f"#DashboardChart QToolButton::menu-indicator {{ image: none; width: 0; }}"
            f"#ChartLegendEntry {{ color: {colours['text']}; padding: 0 4px; border: none; }}"
            f"#ChartLegendEntry:!checked {{ color: {colours['disabled_text']}; }}"
        )
        for curve in self.curves.values():
            curve.forget_drawing()
        self._relabel_legend()

    def set_title(self, title: str) -> None:
        self.title.setText(title)
        self.menu_button.setAccessibleName(f"Chart menu: {title}")

    def set_unit(self, unit: Unit) -> None:
        self.unit = unit
        self.unit_label.setText(f" · {unit.label}" if unit.label else "")

    # -- series -------------------------------------------------------------------------
    def set_curves(self, wanted: Sequence[tuple[Any, ...]]) -> None:
        """Show these (key, legend name[, full name]) series, in this order; others go."""
        keys = [k for k, *_ in wanted]
        for key in [k for k in self.curves if k not in keys]:
            curve = self.curves.pop(key)
            self.plot.getPlotItem().removeItem(curve)
        for key, name, *full in wanted:
            curve = self.curves.get(key)
            if curve is None:
                colour = series_colour(len(self.curves), self._colours, name)
                curve = ChartCurveItem(key, name, colour)
                self.plot.getPlotItem().addItem(curve)
                self.curves[key] = curve
            curve.name = name
            curve.full_name = full[0] if full else name
        self.curves = {k: self.curves[k] for k in keys}
        for index, curve in enumerate(self.curves.values()):
            curve.set_colour(series_colour(index, self._colours, curve.name))
        self._relabel_legend()

    def _relabel_legend(self) -> None:
        """One toggle per series under the title: its colour and name; unticked hides it."""
        while self.legend_row.count():
            widget = self.legend_row.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.legend_buttons = {}
        for curve in self.curves.values():
            button = QToolButton()
            button.setObjectName("ChartLegendEntry")
            button.setText(curve.name)
            button.setToolTip(f"{curve.full_name}: click to hide or show")
            button.setCheckable(True)
            button.setChecked(curve.isVisible())
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            swatch = QPixmap(10, 10)
            swatch.fill(curve.colour)
            button.setIcon(QIcon(swatch))
            button.setIconSize(swatch.size())
            button.toggled.connect(lambda shown, c=curve: self._toggle(c, shown))
            row, column = divmod(len(self.legend_buttons), LEGEND_COLUMNS)
            self.legend_row.addWidget(button, row, column, Qt.AlignmentFlag.AlignLeft)
            self.legend_buttons[curve.key] = button

    def _toggle(self, curve: ChartCurveItem, shown: bool) -> None:
        curve.setVisible(shown)
        self._shown_y = None  # fit the axis to what is left
        self.redraw()

    def set_history(self, key: Any, t: np.ndarray, v: np.ndarray) -> None:
        curve = self.curves.get(key)
        if curve is not None:
            curve.buffer.set(t, v)

    def append(self, key: Any, t: float, v: float) -> None:
        curve = self.curves.get(key)
        if curve is not None:
            curve.buffer.append(t, v)

    def clear_data(self) -> None:
        for curve in self.curves.values():
            curve.buffer.clear()

    # -- drawing ------------------------------------------------------------------------
    def set_window(self, x0: float, x1: float, live: bool = False) -> None:
        """The time range to show; a live one slides in whole pixels as time passes."""
        self._window = (x0, max(x1, x0 + 1e-6))
        self._live = live

    @property
    def window(self) -> tuple[float, float]:
        return self._window

    def redraw(self) -> int:
        """Bring the picture up to date; returns how many series were repainted."""
        width = max(1, int(self.view.width()))
        height = max(1, int(self.view.height()))
        x0, x1 = self._window
        span = x1 - x0
        if self._live:  # whole pixels: the axis moves only when its ticks do
            pixel = span / width
            x1 = math.ceil(x1 / pixel) * pixel
            x0 = x1 - span
        shown = self._shown_x
        if shown is None or abs(shown[0] - x0) > span * 1e-9 or abs(shown[1] - x1) > span * 1e-9:
            self.view.setXRange(x0, x1, padding=0)
            self._shown_x = (x0, x1)
        low, high = math.inf, -math.inf
        for curve in self.curves.values():
            curve.stage(x0, x1, width)
            if curve.extent is not None and curve.isVisible():
                low, high = min(low, curve.extent[0]), max(high, curve.extent[1])
        has_data = math.isfinite(low)
        self.empty.setVisible(not has_data)
        if has_data:
            self._fit_y(low, high)
        y0, y1 = self._shown_y or (0.0, 1.0)
        view = QRectF(x0, y0, span, y1 - y0)
        sx, sy = width / span, height / max(y1 - y0, 1e-300)
        repainted = 0
        for curve in self.curves.values():
            repainted += curve.commit(view, sx, sy)
        if self._crosshair_x is not None:
            self._show_readout(self._crosshair_x)
        return repainted

    def _fit_y(self, low: float, high: float) -> None:
        current = self._shown_y
        if current is not None:
            c0, c1 = current
            wanted = nice_range(low, high)
            if c0 <= low and high <= c1 and (c1 - c0) <= 2.5 * (wanted[1] - wanted[0]):
                return  # still fits and is not too loose: keep the axis still
        else:
            wanted = nice_range(low, high)
        self.view.setYRange(*wanted, padding=0)
        self._shown_y = wanted
        for curve in self.curves.values():
            curve.forget_drawing()

    # -- crosshair ----------------------------------------------------------------------
    def _mouse_moved(self, event: tuple[QPointF]) -> None:
        position = event[0]
        if not self.view.sceneBoundingRect().contains(position):
            self.hide_crosshair()
            return
        x = self.view.mapSceneToView(position).x()
        self.show_crosshair(x)

    def show_crosshair(self, x: float) -> None:
        self._crosshair_x = x
        self.vline.setPos(x)
        self.vline.show()
        self._show_readout(x)

    def hide_crosshair(self) -> None:
        self._crosshair_x = None
        self.vline.hide()
        self.readout.hide()

    def values_at(self, x: float) -> list[tuple[str, QColor, float | None]]:
        """Each series' value at ``x`` (its last point at or before it)."""
        found = []
        for curve in self.curves.values():
            point = curve.buffer.at(x)
            found.append((curve.name, curve.colour, point[1] if point else None))
        return found

    def _show_readout(self, x: float) -> None:
        lines = [f"<b>{format_time(x)}</b>"]
        for name, colour, value in self.values_at(x):
            lines.append(
                f"<span style='color:{colour.name()}'>■</span> {name}: {self.unit.format(value)}"
            )
        self.readout.setText("<br>".join(lines))
        self.readout.adjustSize()
        self.readout.move(max(4, self.plot.width() - self.readout.width() - 8), 6)
        self.readout.show()
        self.readout.raise_()

    # -- export -------------------------------------------------------------------------
    def visible_points(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Each series' points inside the shown range (what a CSV export writes)."""
        x0, x1 = self._shown_x or self._window
        result = []
        for curve in self.curves.values():
            t, v = curve.buffer.t, curve.buffer.v
            inside = (t >= x0) & (t <= x1)
            result.append((curve.full_name, t[inside].copy(), v[inside].copy()))
        return result
