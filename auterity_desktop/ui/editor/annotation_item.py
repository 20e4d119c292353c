"""Sticky notes and group frames on the canvas.

A group frame carries the nodes inside it when it is dragged; the scene records them at the
start of the drag so the move is one undo step for frame and contents."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTextOption
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from auterity_desktop.services.workflows.document import Annotation

HANDLE = 12.0
NOTE_COLOR = "#fff3b0"
GROUP_COLOR = "#8250df"


class AnnotationItem(QGraphicsItem):
    def __init__(self, annotation: Annotation) -> None:
        super().__init__()
        self.annotation_id = annotation.id
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
        )
        self._resizing: QPointF | None = None
        self.resize_started: tuple[float, float] | None = None
        self.apply(annotation)

    def apply(self, annotation: Annotation) -> None:
        self.prepareGeometryChange()
        self.kind = annotation.kind
        self.text = annotation.text
        self.width = annotation.size.width
        self.height = annotation.size.height
        self.color = annotation.color or (NOTE_COLOR if self.kind == "note" else GROUP_COLOR)
        self.setZValue(0 if self.kind == "group" else 3)
        self.setPos(annotation.position.x, annotation.position.y)
        self.update()

    def rect(self) -> QRectF:
        return QRectF(0, 0, self.width, self.height)

    def boundingRect(self) -> QRectF:
        return self.rect().adjusted(-2, -2, 2, 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        base = QColor(self.color)
        selected = self.isSelected()
        pen = QPen(QColor("#1f6feb") if selected else base.darker(130), 2 if selected else 1)
        painter.setPen(pen)
        if self.kind == "group":
            fill = QColor(base)
            fill.setAlpha(28)
            painter.setBrush(fill)
            painter.drawRoundedRect(self.rect(), 10, 10)
            title = QFont()
            title.setBold(True)
            title.setPointSizeF(11)
            painter.setFont(title)
            painter.setPen(base.darker(120))
            painter.drawText(
                QRectF(12, 6, self.width - 24, 24), Qt.AlignmentFlag.AlignVCenter, self.text
            )
        else:
            painter.setBrush(base)
            painter.drawRect(self.rect())
            painter.setPen(QColor("#3d3a2a"))
            option_ = QTextOption()
            option_.setWrapMode(QTextOption.WrapMode.WordWrap)
            painter.drawText(self.rect().adjusted(10, 8, -10, -8), self.text, option_)
        painter.setPen(QPen(base.darker(150), 1))
        corner = self.rect().bottomRight()
        for step in (4.0, 8.0):
            painter.drawLine(corner - QPointF(step, 2), corner - QPointF(2, step))

    def in_handle(self, pos: QPointF) -> bool:
        return pos.x() > self.width - HANDLE and pos.y() > self.height - HANDLE

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.in_handle(event.pos()):
            self._resizing = event.pos()
            self.resize_started = (self.width, self.height)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resizing is not None:
            self.prepareGeometryChange()
            self.width = max(120.0, event.pos().x())
            self.height = max(60.0, event.pos().y())
            self.update()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resizing is not None:
            self._resizing = None
            scene: Any = self.scene()
            if scene is not None and self.resize_started != (self.width, self.height):
                scene.resized(self, self.resize_started)
            self.resize_started = None
            return
        super().mouseReleaseEvent(event)
