"""The process map: the directly-follows graph of an event log, drawn left to right.

A map of a real log has dozens of activities and hundreds of paths — drawn whole it is a
hairball. So, as in Disco, two sliders thin it: *Activities %* keeps the most frequent
activities (the busiest start and end activity always stay, so the map still begins and
ends somewhere), *Paths %* keeps the strongest paths between them by the chosen measure,
yet every shown activity keeps its strongest way in and out so nothing floats unconnected.
The layout is layered: back-edges (rework loops) found by a depth-first search from the
artificial Start are set aside, each activity goes to the layer of its longest distance
from Start, and a few barycentre sweeps order the layers to uncross edges.

Nodes and edges are painted here (no graph library): the fill of an activity and the width
and colour of a path grow with its frequency, or with its mean time when the measure is
time. Clicking a path emits ``sig_edge_clicked(source, target)``; conformance results mark
deviating paths in the theme's warning colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSlider,
    QStyleOptionGraphicsItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.models.process_map_model import (
    END,
    FREQUENCY,
    START,
    TIME,
    FilteredMap,
    MapEdge,
    filter_map,
    human_duration,
    layered_layout,
)
from auterity_desktop.ui.theme import load_palette

NODE_HEIGHT = 46.0
NODE_MIN_WIDTH = 120.0
TERMINAL_SIZE = 30.0
LAYER_GAP = 80.0
ROW_GAP = 34.0
MIN_ZOOM, MAX_ZOOM = 0.05, 4.0


# -- painting ----------------------------------------------------------------------------
def _blend(a: QColor, b: QColor, t: float) -> QColor:
    t = max(0.0, min(1.0, t))
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def _scale(value: float, low: float, high: float) -> float:
    """0..1 on a square-root scale, so a few huge values do not flatten the rest."""
    if high <= low:
        return 1.0 if value > 0 else 0.0
    return math.sqrt(max(0.0, value - low) / (high - low))


class ActivityItem(QGraphicsItem):
    def __init__(self, key: str, label: str, detail: str, width: float, level: float) -> None:
        super().__init__()
        self.key = key
        self.label = label
        self.detail = detail
        self.level = level  # 0..1: how strongly to fill
        terminal = key in (START, END)
        self.width = TERMINAL_SIZE if terminal else width
        self.height = TERMINAL_SIZE if terminal else NODE_HEIGHT
        self.setZValue(2)
        self.setToolTip(f"{label}\n{detail}" if not terminal else label)

    def boundingRect(self) -> QRectF:
        return QRectF(-self.width / 2 - 1, -self.height / 2 - 1, self.width + 2, self.height + 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: Any = None
    ) -> None:
        colors = _colors(self.scene())
        rect = QRectF(-self.width / 2, -self.height / 2, self.width, self.height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.key in (START, END):
            painter.setPen(QPen(QColor(colors["muted_text"]), 1.5))
            painter.setBrush(QColor(colors["surface"]))
            painter.drawEllipse(rect)
            painter.setBrush(QColor(colors["muted_text"]))
            painter.setPen(Qt.PenStyle.NoPen)
            if self.key == START:
                painter.drawPolygon(QPolygonF([QPointF(-4, -7), QPointF(-4, 7), QPointF(8, 0)]))
            else:
                painter.drawRect(QRectF(-6, -6, 12, 12))
            return
        scene = self.scene()
        strong = QColor(
            colors["warning"] if getattr(scene, "measure", "") == TIME else colors["accent"]
        )
        fill = _blend(QColor(colors["base"]), strong, 0.12 + 0.78 * self.level)
        painter.setPen(QPen(_blend(QColor(colors["border"]), strong, 0.6), 1.2))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 8, 8)
        ink = QColor(colors["accent_text"] if self.level > 0.5 else colors["text"])
        painter.setPen(ink)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        top = QRectF(rect.left() + 8, rect.top() + 4, rect.width() - 16, rect.height() / 2)
        metrics = QFontMetricsF(font)
        painter.drawText(
            top,
            Qt.AlignmentFlag.AlignCenter,
            metrics.elidedText(self.label, Qt.TextElideMode.ElideRight, top.width()),
        )
        font.setBold(False)
        painter.setFont(font)
        bottom = QRectF(
            rect.left() + 8, rect.center().y(), rect.width() - 16, rect.height() / 2 - 4
        )
        painter.drawText(bottom, Qt.AlignmentFlag.AlignCenter, self.detail)


class EdgeItem(QGraphicsItem):
    """A path between two activities: a curve, its arrowhead and its label, clickable."""

    def __init__(
        self, edge: MapEdge, path: QPainterPath, label: str, width: float, level: float
    ) -> None:
        super().__init__()
        self.edge = edge
        self.path = path
        self.label = label
        self.pen_width = width
        self.level = level
        self.selected = False
        self.deviating = False
        self.hovered = False
        self.setZValue(1)
        self.setAcceptHoverEvents(True)
        if edge.real:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._label_pos = path.pointAtPercent(0.5)
        font = QFont()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.font = font
        metrics = QFontMetricsF(font)
        w, h = metrics.horizontalAdvance(label) + 8, metrics.height() + 2
        self._label_rect = QRectF(self._label_pos.x() - w / 2, self._label_pos.y() - h / 2, w, h)
        stroker = QPainterPathStroker()
        stroker.setWidth(max(10.0, width + 6))
        self._shape = stroker.createStroke(path)
        self._shape.addRect(self._label_rect)
        self._shape.addPolygon(self._arrow())
        self.setToolTip(_edge_tip(edge))

    def _arrow(self) -> QPolygonF:
        tip = self.path.pointAtPercent(1.0)
        angle = math.radians(-self.path.angleAtPercent(0.999))
        size = 7.0 + self.pen_width
        back = QPointF(math.cos(angle), math.sin(angle))
        side = QPointF(-back.y(), back.x())
        base = tip - back * size
        return QPolygonF([tip, base + side * (size * 0.5), base - side * (size * 0.5)])

    def boundingRect(self) -> QRectF:
        margin = self.pen_width + 12
        return self._shape.boundingRect().adjusted(-margin, -margin, margin, margin)

    def shape(self) -> QPainterPath:
        return self._shape

    def colour(self) -> QColor:
        colors = _colors(self.scene())
        if self.selected:
            return QColor(colors["accent"])
        if self.deviating:
            return QColor(colors["warning"])
        if getattr(self.scene(), "measure", "") == TIME and self.edge.real:
            strong = QColor(colors["error"])
        else:
            strong = QColor(colors["text"])
        return _blend(QColor(colors["border"]), strong, 0.35 + 0.65 * self.level)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: Any = None
    ) -> None:
        colors = _colors(self.scene())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = self.colour()
        width = self.pen_width + (2.0 if self.selected or self.hovered else 0.0)
        pen = QPen(colour, width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        if self.deviating and not self.selected:
            pen.setStyle(Qt.PenStyle.DashLine)
        if not self.edge.real:
            pen.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawPolygon(self._arrow())
        if self.label:
            background = QColor(colors["base"])
            background.setAlpha(225)
            painter.setBrush(background)
            painter.drawRoundedRect(self._label_rect, 3, 3)
            painter.setFont(self.font)
            ink = colour if self.selected or self.deviating else QColor(colors["muted_text"])
            painter.setPen(ink)
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)

    def hoverEnterEvent(self, event: Any) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event: Any) -> None:
        self.hovered = False
        self.update()

    def mousePressEvent(self, event: Any) -> None:
        scene = self.scene()
        if event.button() == Qt.MouseButton.LeftButton and isinstance(scene, ProcessMapScene):
            scene.click_edge(self)
            event.accept()
        else:
            event.ignore()


def _edge_tip(edge: MapEdge) -> str:
    if not edge.real:
        what = "starts" if edge.source == START else "ends"
        name = edge.target if edge.source == START else edge.source
        return f"{edge.count} case{'' if edge.count == 1 else 's'} {what} with {name}"
    tip = f"{edge.source} → {edge.target}\n{edge.count} time{'' if edge.count == 1 else 's'}"
    if edge.mean is not None:
        tip += f"\nmean {human_duration(edge.mean)} · median {human_duration(edge.median)}"
        tip += f"\ntotal {human_duration(edge.total)}"
    return tip + "\nClick to list its cases"


def _colors(scene: Any) -> dict[str, str]:
    return getattr(scene, "colors", None) or load_palette("light")


class ProcessMapScene(QGraphicsScene):
    sig_edge_clicked = Signal(str, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.colors: dict[str, str] = load_palette("light")
        self.measure = FREQUENCY
        self.node_items: dict[str, ActivityItem] = {}
        self.edge_items: dict[tuple[str, str], EdgeItem] = {}
        self.selected_edge: tuple[str, str] | None = None
        self.deviating: set[tuple[str, str]] = set()

    def set_colors(self, colors: Mapping[str, str]) -> None:
        self.colors = dict(colors)
        self.setBackgroundBrush(QBrush(QColor(self.colors["base"])))
        self.update()

    def click_edge(self, item: EdgeItem) -> None:
        if not item.edge.real:
            return
        self.select_edge(*item.edge.key)
        self.sig_edge_clicked.emit(*item.edge.key)

    def select_edge(self, source: str, target: str) -> bool:
        key = (source, target)
        for k, item in self.edge_items.items():
            item.selected = k == key
            item.update()
        self.selected_edge = key if key in self.edge_items else None
        return self.selected_edge is not None

    def set_deviating(self, edges: Iterable[tuple[str, str]]) -> None:
        self.deviating = set(edges)
        for key, item in self.edge_items.items():
            item.deviating = key in self.deviating
            item.update()

    def build(self, shown: FilteredMap, measure: str) -> None:
        self.clear()
        self.node_items, self.edge_items = {}, {}
        self.measure = measure
        nodes = [START, *sorted(shown.activities, key=lambda a: (-shown.activities[a], a)), END]
        weighted = [(e.source, e.target, float(e.count)) for e in shown.edges]
        places, back = layered_layout(nodes, weighted)
        metrics = QFontMetricsF(_bold())
        widths = {
            n: max(NODE_MIN_WIDTH, min(240.0, metrics.horizontalAdvance(n) + 28)) for n in nodes
        }
        times = shown.node_time
        top_count = max(shown.activities.values(), default=1)
        top_time = max(times.values(), default=0.0)
        layer_width: dict[int, float] = {}
        layer_size: dict[int, int] = {}
        for node, (layer, _i) in places.items():
            width = TERMINAL_SIZE if node in (START, END) else widths[node]
            layer_width[layer] = max(layer_width.get(layer, 0.0), width)
            layer_size[layer] = layer_size.get(layer, 0) + 1
        x_of: dict[int, float] = {}
        x = 0.0
        for layer in sorted(layer_width):
            x_of[layer] = x + layer_width[layer] / 2
            x += layer_width[layer] + LAYER_GAP
        for node in nodes:
            layer, i = places[node]
            y = (i - (layer_size[layer] - 1) / 2) * (NODE_HEIGHT + ROW_GAP)
            if node in (START, END):
                label, detail, level = ("Start" if node == START else "End"), "", 0.0
            else:
                count = shown.activities[node]
                label = node
                if measure == TIME:
                    wait = times.get(node)
                    detail = f"{count} · wait {human_duration(wait)}" if wait else str(count)
                    level = _scale(wait or 0.0, 0.0, top_time)
                else:
                    detail, level = str(count), _scale(count, 0.0, top_count)
            item = ActivityItem(node, label, detail, widths[node], level)
            item.setPos(x_of[layer], y)
            self.addItem(item)
            self.node_items[node] = item
        values = [self._value(e, measure) for e in shown.edges if e.real]
        low, high = (min(values), max(values)) if values else (0.0, 0.0)
        counts = [e.count for e in shown.edges]
        for edge in shown.edges:
            a, b = self.node_items[edge.source], self.node_items[edge.target]
            path = _route(a, b, edge.key in back, places)
            if edge.real:
                level = _scale(self._value(edge, measure), low, high)
                label = human_duration(edge.mean) if measure == TIME else str(edge.count)
            else:
                level = _scale(edge.count, 0.0, max(counts, default=1)) * 0.5
                label = str(edge.count) if measure == FREQUENCY else ""
            line = EdgeItem(edge, path, label, 1.0 + 6.0 * level, level)
            line.deviating = edge.key in self.deviating
            line.selected = edge.key == self.selected_edge
            self.addItem(line)
            self.edge_items[edge.key] = line
        if self.selected_edge not in self.edge_items:
            self.selected_edge = None
        bounds = self.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        self.setSceneRect(bounds)

    @staticmethod
    def _value(edge: MapEdge, measure: str) -> float:
        return float(edge.mean or 0.0) if measure == TIME else float(edge.count)


def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


def _route(
    a: ActivityItem, b: ActivityItem, back: bool, places: Mapping[str, tuple[int, int]]
) -> QPainterPath:
    """Forward paths leave right and enter left; a rework loop goes round below the boxes;
    an activity repeating itself gets a small loop over its top."""
    pa, pb = a.pos(), b.pos()
    path = QPainterPath()
    if a is b:
        top = pa.y() - a.height / 2
        start = QPointF(pa.x() - 14, top)
        end = QPointF(pa.x() + 14, top)
        path.moveTo(start)
        path.cubicTo(QPointF(pa.x() - 34, top - 42), QPointF(pa.x() + 34, top - 42), end)
        return path
    span = places[b.key][0] - places[a.key][0]
    if not back and span == 1:
        start = QPointF(pa.x() + a.width / 2, pa.y())
        end = QPointF(pb.x() - b.width / 2, pb.y())
        bend = max(40.0, (end.x() - start.x()) * 0.45)
        path.moveTo(start)
        path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
        return path
    if not back and span > 1:  # skips layers: arch over the boxes in between
        start = QPointF(pa.x() + a.width / 4, pa.y() - a.height / 2)
        end = QPointF(pb.x() - b.width / 4, pb.y() - b.height / 2)
        high = min(start.y(), end.y()) - 30.0 - 14.0 * span
        path.moveTo(start)
        path.cubicTo(QPointF(start.x() + 30, high), QPointF(end.x() - 30, high), end)
        return path
    start = QPointF(pa.x(), pa.y() + a.height / 2)
    end = QPointF(pb.x() + min(12.0, b.width / 4), pb.y() + b.height / 2)
    depth = 48.0 + 0.12 * abs(pa.x() - pb.x())
    low = max(start.y(), end.y()) + depth
    path.moveTo(start)
    path.cubicTo(QPointF(start.x(), low), QPointF(end.x(), low), end)
    return path


class ProcessMapView(QGraphicsView):
    """Wheel zooms around the cursor, dragging the background pans."""

    def __init__(self, scene: ProcessMapScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setObjectName("ProcessMapView")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setAccessibleName("Process map")

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
        self.scale(target / self.zoom, target / self.zoom)

    def fit(self) -> None:
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.2:  # a tiny map is not blown up to poster size
            self.scale(1.2 / self.zoom, 1.2 / self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.15**steps)
        event.accept()


class ProcessMapWidget(QWidget):
    """The map with its measure toggle, the two sliders and a fit button."""

    sig_edge_clicked = Signal(str, str)
    sig_changed = Signal()  # the map was redrawn (data, sliders or measure)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: Mapping[str, Any] | None = None
        self.shown: FilteredMap | None = None
        self.scene = ProcessMapScene(self)
        self.scene.sig_edge_clicked.connect(self.sig_edge_clicked)
        self.view = ProcessMapView(self.scene)

        self.frequency = QRadioButton("&Frequency")
        self.frequency.setToolTip("Size and colour by how often (counts on the paths)")
        self.time = QRadioButton("&Mean time")
        self.time.setToolTip("Size and colour by the mean time between the two activities")
        self.frequency.setChecked(True)
        self.measure_group = QButtonGroup(self)
        self.measure_group.addButton(self.frequency)
        self.measure_group.addButton(self.time)
        self.frequency.toggled.connect(lambda _on: self.redraw())
        self.activities_slider, self.activities_label = self._slider(
            "ActivitiesSlider", "Share of the activities shown, most frequent first", 100
        )
        self.paths_slider, self.paths_label = self._slider(
            "PathsSlider", "Share of the paths shown, strongest first by the measure", 100
        )
        self.fit_button = QToolButton()  # small, so the map fits a narrow window
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Fit the whole map in view (Ctrl+0)")
        self.fit_button.clicked.connect(self.view.fit)
        self.counts = QLabel("")
        self.counts.setObjectName("PageSubtitle")

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.frequency)
        controls.addWidget(self.time)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Activities"))
        controls.addWidget(self.activities_slider, 1)
        controls.addWidget(self.activities_label)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Paths"))
        controls.addWidget(self.paths_slider, 1)
        controls.addWidget(self.paths_label)
        controls.addWidget(self.fit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.counts)
        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("Ctrl+0"), self, activated=self.view.fit, context=scope)
        QShortcut(
            QKeySequence.StandardKey.ZoomIn,
            self,
            activated=lambda: self.view.zoom_by(1.25),
            context=scope,
        )
        QShortcut(
            QKeySequence.StandardKey.ZoomOut,
            self,
            activated=lambda: self.view.zoom_by(0.8),
            context=scope,
        )

    def _slider(self, name: str, tip: str, value: int) -> tuple[QSlider, QLabel]:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName(name)
        slider.setRange(0, 100)
        slider.setValue(value)
        slider.setToolTip(tip)
        slider.setAccessibleName(tip)
        slider.setMinimumWidth(48)
        label = QLabel(f"{value} %")
        label.setMinimumWidth(32)

        def moved(v: int) -> None:
            label.setText(f"{v} %")
            self.redraw()

        slider.valueChanged.connect(moved)
        return slider, label

    @property
    def measure(self) -> str:
        return TIME if self.time.isChecked() else FREQUENCY

    def set_colors(self, colors: Mapping[str, str]) -> None:
        self.scene.set_colors(colors)

    def set_data(self, data: Mapping[str, Any] | None) -> None:
        self.data = data
        self.scene.selected_edge = None
        self.scene.deviating = set()
        self.redraw()
        self.view.fit()

    def clear(self) -> None:
        self.data = None
        self.shown = None
        self.scene.clear()
        self.scene.node_items, self.scene.edge_items = {}, {}
        self.counts.setText("")

    def redraw(self) -> None:
        if self.data is None:
            return
        self.shown = filter_map(
            self.data,
            self.activities_slider.value(),
            self.paths_slider.value(),
            self.measure,
            self.scene.deviating,
        )
        self.scene.build(self.shown, self.measure)
        shown_paths = sum(1 for e in self.shown.edges if e.real)
        self.counts.setText(
            f"Showing {len(self.shown.activities)} of {self.shown.total_activities} activities "
            f"and {shown_paths} of {self.shown.total_edges} paths · drag to pan, wheel to "
            "zoom, click a path to list its cases"
        )
        self.sig_changed.emit()

    def set_deviating(self, edges: Iterable[tuple[str, str]]) -> None:
        self.scene.set_deviating(edges)
        self.redraw()  # a deviating path the sliders hid is shown again

    def select_edge(self, source: str, target: str) -> bool:
        found = self.scene.select_edge(source, target)
        if found:
            self.view.centerOn(self.scene.edge_items[(source, target)].path.pointAtPercent(0.5))
        return found

    def shown_activities(self) -> list[str]:
        return sorted(self.shown.activities) if self.shown else []

    def shown_edges(self) -> list[tuple[str, str]]:
        """The shown paths between activities (not those from Start or to End)."""
        return sorted(e.key for e in self.shown.edges if e.real) if self.shown else []
