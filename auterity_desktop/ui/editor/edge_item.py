"""Wires. Each ``EdgeItem`` only takes the mouse (selection, hover, context menu); one
``EdgeLayerItem`` paints the wires in the exposed area — so a frame costs one Python paint
call however many wires there are, not one per wire."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from auterity_desktop.services.workflows.registry import ERROR_PORT
from auterity_desktop.ui.editor.colors import port_color
from auterity_desktop.ui.editor.node_item import NodeItem, PortItem

EVERYWHERE = QRectF(-60_000, -60_000, 120_000, 120_000)
SMOOTH_WIRES_UP_TO = 80


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve; wires that go backwards loop out so they stay readable."""
    dx = max(abs(end.x() - start.x()) * 0.5, 60.0)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(dx, 0), end - QPointF(dx, 0), end)
    return path


class EdgeGrid:
    """Wires bucketed by the cells of a coarse grid they pass over, so a frame looks only
    at the wires near the visible area — not at every wire of a large workflow."""

    CELL = 1024.0

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], set[EdgeItem]] = {}
        self._where: dict[EdgeItem, list[tuple[int, int]]] = {}

    def _cells_of(self, rect: QRectF) -> list[tuple[int, int]]:
        left, top = int(rect.left() // self.CELL), int(rect.top() // self.CELL)
        right, bottom = int(rect.right() // self.CELL), int(rect.bottom() // self.CELL)
        return [(x, y) for x in range(left, right + 1) for y in range(top, bottom + 1)]

    def place(self, edge: EdgeItem, rect: QRectF) -> None:
        self.remove(edge)
        cells = self._cells_of(rect)
        self._where[edge] = cells
        for cell in cells:
            self._cells.setdefault(cell, set()).add(edge)

    def remove(self, edge: EdgeItem) -> None:
        for cell in self._where.pop(edge, []):
            bucket = self._cells.get(cell)
            if bucket is not None:
                bucket.discard(edge)

    def near(self, rect: QRectF) -> set[EdgeItem]:
        found: set[EdgeItem] = set()
        for cell in self._cells_of(rect):
            found |= self._cells.get(cell, set())
        return found


class EdgeLayerItem(QGraphicsItem):
    """Paints every wire of the scene."""

    def __init__(self) -> None:
        super().__init__()
        self.edges: set[EdgeItem] = set()
        self.grid = EdgeGrid()
        self.setZValue(1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def boundingRect(self) -> QRectF:
        return EVERYWHERE  # one item for all wires: always in view

    def shape(self) -> QPainterPath:
        return QPainterPath()  # never hit by the mouse

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        exposed = option.exposedRect  # type: ignore[attr-defined]
        visible = [e for e in self.grid.near(exposed) if e.bounds.intersects(exposed)]
        lod = option.levelOfDetailFromTransform(painter.worldTransform())  # type: ignore[attr-defined]
        # Smooth wires cost ~50 µs each; past a few dozen on screen, crisp frames matter more.
        smooth = lod > 0.5 and len(visible) <= SMOOTH_WIRES_UP_TO
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, smooth)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        pens: dict[str, QPen] = {}
        for edge in sorted(visible, key=lambda e: e.color):
            pen = pens.get(edge.color)
            if pen is None:
                pen = pens[edge.color] = QPen(edge.qcolor, 1.6)
                pen.setCosmetic(True)  # stroked in device pixels: far cheaper for curves
                painter.setPen(pen)
            painter.drawPath(edge.path())
        special = [e for e in visible if e.isSelected() or e.active or e.count is not None]
        for edge in special:
            if edge.isSelected() or edge.active:
                painter.setPen(QPen(QColor("#1f6feb") if edge.isSelected() else edge.qcolor, 3.2))
                painter.drawPath(edge.path())
            if edge.count is not None and lod >= 0.5:
                edge.paint_count(painter)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, edge_id: str, source: PortItem, target: PortItem, layer: Any) -> None:
        super().__init__()
        self.edge_id = edge_id
        self.source = source
        self.target = target
        self.layer: EdgeLayerItem = layer
        self.count: int | None = None
        self.active = False
        self.color = port_color(source.spec.type, source.spec.name == ERROR_PORT)
        self.qcolor = QColor(self.color)
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
        )
        self.setZValue(1)
        self.setAcceptHoverEvents(True)
        source.node.edges.add(self)
        target.node.edges.add(self)
        layer.edges.add(self)
        self.setToolTip(f"{source.node.name}.{source.name} → {target.node.name}.{target.name}")
        self.track()

    def detach(self) -> None:
        self.source.node.edges.discard(self)
        self.target.node.edges.discard(self)
        self.layer.edges.discard(self)
        self.layer.grid.remove(self)
        self.layer.update(self.bounds)

    @property
    def nodes(self) -> tuple[NodeItem, NodeItem]:
        return self.source.node, self.target.node

    def track(self) -> None:
        """Follow the ports after a node moved."""
        old = getattr(self, "bounds", None)
        path = wire_path(self.source.anchor(), self.target.anchor())
        self.setPath(path)
        self.bounds = path.controlPointRect().adjusted(-4, -4, 4, 4)
        self.layer.grid.place(self, self.bounds)
        self.layer.update(self.bounds if old is None else self.bounds.united(old))

    def set_count(self, count: int | None) -> None:
        if count != self.count:
            self.count = count
            self.layer.update(self.bounds)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.layer.update(self.bounds)
        return super().itemChange(change, value)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-8, -8, 8, 8)

    def paint_count(self, painter: QPainter) -> None:
        middle = self.path().pointAtPercent(0.5)
        text = f"{self.count} item" + ("" if self.count == 1 else "s")
        font = QFont()
        font.setPointSizeF(8)
        painter.setFont(font)
        box = QRectF(middle.x() - 30, middle.y() - 9, 60, 18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.drawRoundedRect(box, 9, 9)
        painter.setPen(self.qcolor.darker(140))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.setBrush(Qt.BrushStyle.NoBrush)
