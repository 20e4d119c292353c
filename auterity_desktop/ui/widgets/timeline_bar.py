"""Draws a node's time on the run as a small bar (a one-row Gantt chart) in a table cell.

The model gives ``(left, right, colour)`` as fractions of the run's span under ``BarRole``;
the delegate only paints, so the same model works in any view. A node that took almost no
time still gets a visible sliver.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from auterity_desktop.ui.models.timeline_model import BarRole

MIN_BAR = 3.0  # pixels


class TimelineBarDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)  # background and selection
        bar = index.data(BarRole)
        if not bar:
            return
        left, right, colour = bar
        rect = QRectF(option.rect).adjusted(4, 5, -4, -5)
        x = rect.left() + rect.width() * left
        width = max(rect.width() * (right - left), MIN_BAR)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        fill = QColor(colour)
        if option.state & QStyle.StateFlag.State_Selected:
            fill = fill.lighter(150)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(x, rect.top(), width, rect.height()), 2, 2)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 160), hint.height())
