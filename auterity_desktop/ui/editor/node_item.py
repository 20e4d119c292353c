"""A node on the canvas: header with name and type, typed ports, problem and run badges.

Painted by hand (no child text items) and simplified when zoomed out, so a thousand nodes
pan smoothly. Ports are child items because wires start and end on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from auterity_desktop.services.workflows.document import WorkflowNode
from auterity_desktop.services.workflows.registry import ERROR_PORT, NodeType, PortSpec
from auterity_desktop.ui.editor.colors import category_color, port_color, run_color
from auterity_desktop.ui.theme import load_palette

if TYPE_CHECKING:
    from auterity_desktop.ui.editor.edge_item import EdgeItem

NODE_WIDTH = 200.0
HEADER = 34.0
ROW = 22.0
PORT_RADIUS = 6.0
GRID = 20.0
DEFAULT_COLORS = load_palette("light")


def _blend(a: QColor, b: QColor, share_of_a: float) -> QColor:
    return QColor(
        round(a.red() * share_of_a + b.red() * (1 - share_of_a)),
        round(a.green() * share_of_a + b.green() * (1 - share_of_a)),
        round(a.blue() * share_of_a + b.blue() * (1 - share_of_a)),
    )


class PortItem(QGraphicsItem):
    """One input or output; wires attach to its centre. It only takes the mouse: the node
    paints it, so the canvas caches one picture per node instead of painting every port."""

    def __init__(self, node: NodeItem, spec: PortSpec, output: bool, y: float) -> None:
        super().__init__(node)
        self.node = node
        self.spec = spec
        self.output = output
        self.setPos(NODE_WIDTH if output else 0.0, y)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip(
            f"{'output' if output else 'input'} {spec.name} ({spec.type})"
            + (" — takes several connections" if spec.multiple else "")
        )

    @property
    def name(self) -> str:
        return self.spec.name

    def boundingRect(self) -> QRectF:
        r = PORT_RADIUS + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        return  # drawn by the node

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.node.hovered_port = self
        self.node.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self.node.hovered_port is self:
            self.node.hovered_port = None
        self.node.update()

    def anchor(self) -> QPointF:
        return self.scenePos()


class NodeItem(QGraphicsItem):
    def __init__(self, node: WorkflowNode, node_type: NodeType | None) -> None:
        super().__init__()
        self.node_id = node.id
        self.node_type = node_type
        self.edges: set[EdgeItem] = set()
        self.problems: list[str] = []
        self.run_status: str | None = None
        self.hovered_port: PortItem | None = None
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsScenePositionChanges
        )
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        # One cached picture per node: panning and zooming draw pixmaps instead of calling
        # Python; zoomed in past 100 % the scene switches to sharp painting (see scene).
        self.setCacheMode(QGraphicsItem.CacheMode.ItemCoordinateCache)
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self._height = HEADER
        self.apply(node)

    # -- model → item -------------------------------------------------------------------
    def apply(self, node: WorkflowNode) -> None:
        """Show the node's current data (after an edit or an undo)."""
        self.name = node.name
        self.disabled = node.disabled
        self.type_title = self.node_type.title if self.node_type else f"{node.type} (unknown)"
        self.category = self.node_type.category if self.node_type else ""
        self._rebuild_ports(node)
        self.setPos(node.position.x, node.position.y)
        self.setOpacity(0.55 if node.disabled else 1.0)
        self.setToolTip(
            f"{node.name}\n{self.type_title}"
            + (f"\n{self.node_type.description}" if self.node_type else "")
            + ("\n(disabled)" if node.disabled else "")
        )
        self.update()

    def _rebuild_ports(self, node: WorkflowNode) -> None:
        inputs = list(self.node_type.inputs) if self.node_type else []
        outputs = list(self.node_type.output_ports(node.params)) if self.node_type else []
        wanted = ([p.name for p in inputs], [p.name for p in outputs])
        if wanted == (list(self.inputs), list(self.outputs)):
            return
        self.prepareGeometryChange()
        for port in [*self.inputs.values(), *self.outputs.values()]:
            port.setParentItem(None)
            if port.scene() is not None:
                port.scene().removeItem(port)
        rows = max(len(inputs), len(outputs), 1)
        self._height = HEADER + rows * ROW + 8
        self.setCacheMode(self.cacheMode())  # the picture has a new size
        self.inputs = {
            p.name: PortItem(self, p, False, HEADER + ROW * (i + 0.5) + 4)
            for i, p in enumerate(inputs)
        }
        self.outputs = {
            p.name: PortItem(self, p, True, HEADER + ROW * (i + 0.5) + 4)
            for i, p in enumerate(outputs)
        }

    def set_problems(self, problems: list[str]) -> None:
        if problems != self.problems:
            self.problems = problems
            self.update()

    def set_run_status(self, status: str | None) -> None:
        if status != self.run_status:
            self.run_status = status
            self.update()

    # -- geometry and painting ----------------------------------------------------------
    def boundingRect(self) -> QRectF:
        margin = PORT_RADIUS + 4  # ports sit on the edges
        return QRectF(-margin, -2, NODE_WIDTH + 2 * margin, self._height + 4)

    def size(self) -> tuple[float, float]:
        return NODE_WIDTH, self._height

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_WIDTH, self._height), 8, 8)
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        rect = QRectF(0, 0, NODE_WIDTH, self._height)
        colors = self._colors()
        accent = QColor(category_color(self.category))
        selected = self.isSelected()
        border = QColor(colors["accent"]) if selected else QColor(colors["border"])
        if self.run_status and not selected:
            border = QColor(run_color(self.run_status, colors))
        # Painted once into the item's cache, so full detail is cheap.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(border, 2.5 if selected or self.run_status else 1.2))
        painter.setBrush(QColor(colors["base"]))
        painter.drawRoundedRect(rect, 8, 8)
        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, NODE_WIDTH, HEADER), 8, 8)
        header.addRect(QRectF(0, HEADER - 8, NODE_WIDTH, 8))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_blend(accent, QColor(colors["base"]), 0.22))
        painter.drawPath(header.simplified())
        painter.setBrush(accent)
        painter.drawRect(QRectF(0, 6, 4, HEADER - 12))
        title = QFont()
        title.setBold(True)
        title.setPointSizeF(9.5)
        painter.setFont(title)
        painter.setPen(QColor(colors["text"]))
        metrics = QFontMetricsF(title)
        badge_space = 26 if (self.problems or self.run_status) else 8
        name = metrics.elidedText(
            self.name, Qt.TextElideMode.ElideRight, NODE_WIDTH - 12 - badge_space
        )
        painter.drawText(QRectF(10, 2, NODE_WIDTH - 20, 18), Qt.AlignmentFlag.AlignVCenter, name)
        small = QFont()
        small.setPointSizeF(8)
        painter.setFont(small)
        painter.setPen(QColor(colors["muted_text"]))
        painter.drawText(
            QRectF(10, 17, NODE_WIDTH - 20, 15), Qt.AlignmentFlag.AlignVCenter, self.type_title
        )
        self._paint_port_labels(painter, small)
        self._paint_ports(painter, colors)
        self._paint_badge(painter, colors)
        if self.disabled:
            painter.setPen(QPen(QColor("#8c959f"), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(8, self._height - 6), QPointF(NODE_WIDTH - 8, 6))

    def _paint_port_labels(self, painter: QPainter, font: QFont) -> None:
        painter.setFont(font)
        for ports, left in ((self.inputs, True), (self.outputs, False)):
            if len(ports) == 1 and next(iter(ports)) == "main":
                continue
            for port in ports.values():
                y = port.pos().y()
                box = (
                    QRectF(12, y - 8, NODE_WIDTH / 2 - 12, 16)
                    if left
                    else QRectF(NODE_WIDTH / 2, y - 8, NODE_WIDTH / 2 - 12, 16)
                )
                align = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
                painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, port.name)

    def _paint_ports(self, painter: QPainter, colors: dict[str, str]) -> None:
        for port in [*self.inputs.values(), *self.outputs.values()]:
            color = QColor(port_color(port.spec.type, port.spec.name == ERROR_PORT))
            hovered = port is self.hovered_port
            painter.setPen(QPen(color.darker(140), 1.5))
            painter.setBrush(color if hovered else QColor(colors["base"]))
            r = PORT_RADIUS + (2 if hovered else 0)
            painter.drawEllipse(port.pos(), r, r)

    def _paint_badge(self, painter: QPainter, colors: dict[str, str]) -> None:
        centre = QPointF(NODE_WIDTH - 14, 12)
        if self.problems:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(colors["error"])))
            painter.drawEllipse(centre, 8, 8)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(
                QRectF(centre.x() - 8, centre.y() - 8, 16, 16),
                Qt.AlignmentFlag.AlignCenter,
                "!" if len(self.problems) < 2 else str(min(len(self.problems), 9)),
            )
        elif self.run_status:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(run_color(self.run_status, colors))))
            painter.drawEllipse(centre, 6, 6)

    # -- behaviour ----------------------------------------------------------------------
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            scene = self.scene()
            if scene is not None and getattr(scene, "snap_to_grid", False):
                return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        elif change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.track()
        return super().itemChange(change, value)

    def _colors(self) -> dict[str, str]:
        scene = self.scene()
        return getattr(scene, "colors", None) or DEFAULT_COLORS

    def port(self, name: str, output: bool) -> PortItem | None:
        return (self.outputs if output else self.inputs).get(name)
