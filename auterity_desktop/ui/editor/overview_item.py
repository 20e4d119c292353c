"""Far zoomed out, nodes are drawn as coloured blocks by this one item instead of one
picture each: the blocks of a colour form one path, rebuilt only when a node moves or
changes, so showing a thousand nodes costs a few draw calls per frame."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from auterity_desktop.ui.editor.colors import category_color, run_color
from auterity_desktop.ui.editor.edge_item import EVERYWHERE

OVERVIEW_BELOW = 0.4  # zoom under which nodes are blocks


class NodeOverviewItem(QGraphicsItem):
    def __init__(
        self, nodes: Callable[[], Iterable[Any]], colors: Callable[[], dict[str, str]]
    ) -> None:
        super().__init__()
        self._nodes = nodes
        self._colors = colors
        self._fills: list[tuple[str, QPainterPath]] = []
        self._outlines: list[tuple[str, QPainterPath]] = []
        self._dirty = True
        self.active = False
        self.setZValue(2)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return EVERYWHERE

    def shape(self) -> QPainterPath:
        return QPainterPath()

    def mark_dirty(self) -> None:
        self._dirty = True
        if self.active:
            self.update()

    def _rebuild(self) -> None:
        colors = self._colors()
        fills: dict[str, QPainterPath] = {}
        outlines: dict[str, QPainterPath] = {}
        for item in self._nodes():
            width, height = item.size()
            rect = QRectF(item.pos().x(), item.pos().y(), width, height)
            fills.setdefault(category_color(item.category), QPainterPath()).addRect(rect)
            if item.isSelected():
                key = colors["accent"]
            elif item.problems:
                key = colors["error"]
            elif item.run_status:
                key = run_color(item.run_status, colors)
            else:
                continue
            outlines.setdefault(key, QPainterPath()).addRect(rect)
        self._fills = sorted(fills.items())
        self._outlines = sorted(outlines.items())
        self._dirty = False

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self.active:
            return
        if self._dirty:
            self._rebuild()
        painter.setPen(Qt.PenStyle.NoPen)
        for color, path in self._fills:
            painter.setBrush(QColor(color))
            painter.drawPath(path)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        width = 3 / max(painter.worldTransform().m11(), 0.01)
        for color, path in self._outlines:
            painter.setPen(QPen(QColor(color), width))
            painter.drawPath(path)
