"""What a list shows when it has nothing to show: what is missing and what to do about it.

A blank table looks broken; one sentence saying "no workflows yet — create one or import a
file" with the buttons to do it tells the user where they are. A page's main list swaps
itself for an ``EmptyStateWidget``; a small list inside a panel (API keys, findings) keeps
its place and says it in its own viewport (``set_empty_text``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

EMPTY_TEXT_PROPERTY = "emptyText"


class EmptyStateWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("")
        self.title.setObjectName("EmptyStateTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel("")
        self.text.setObjectName("EmptyStateText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        self._buttons = QHBoxLayout()
        self._buttons.addStretch(1)
        self._buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addSpacing(8)
        layout.addLayout(self._buttons)
        layout.addStretch(2)

    def set_text(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.text.setText(text)

    def add_button(self, text: str, tip: str = "") -> QPushButton:
        """A call to action under the text; the caller connects and shows/hides it."""
        button = QPushButton(text)
        if tip:
            button.setToolTip(tip)
        self._buttons.insertWidget(self._buttons.count() - 1, button)
        return button


class _EmptyTextPainter(QObject):
    """Paints a view's empty text in its viewport while the view has no rows. It paints
    before the view does: an empty view draws nothing over it."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and watched is self._view.viewport():
            text = empty_text(self._view)
            model = self._view.model()
            if text and (model is None or model.rowCount(self._view.rootIndex()) == 0):
                viewport = self._view.viewport()
                painter = QPainter(viewport)
                painter.setPen(self._view.palette().color(QPalette.ColorRole.PlaceholderText))
                area = QRect(viewport.rect()).adjusted(16, 12, -16, -12)
                flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
                painter.drawText(area, int(flags), text)
                painter.end()
        return False


def set_empty_text(view: QAbstractItemView, text: str) -> None:
    """Show ``text`` (what is missing, what to do) in ``view`` while it has no rows."""
    if view.findChild(_EmptyTextPainter) is None:
        view.viewport().installEventFilter(_EmptyTextPainter(view))
    view.setProperty(EMPTY_TEXT_PROPERTY, text)
    view.viewport().update()


def empty_text(view: QAbstractItemView) -> str:
    """The text ``view`` shows while it is empty ("" if it shows nothing)."""
    value = view.property(EMPTY_TEXT_PROPERTY)
    return value if isinstance(value, str) else ""
