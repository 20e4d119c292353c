"""Renaming a node in place: a line edit laid over the node's title on the canvas."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGraphicsView, QLineEdit

from auterity_desktop.ui.editor.node_item import HEADER, NODE_WIDTH, NodeItem


class RenameOverlay(QLineEdit):
    """Enter or leaving the field commits; Esc cancels."""

    def __init__(self, view: QGraphicsView, item: NodeItem, commit: Callable[[str], None]) -> None:
        super().__init__(item.name, view.viewport())
        self._commit = commit
        self._done = False
        top_left = view.mapFromScene(item.scenePos())
        scale = view.transform().m11()
        self.setGeometry(
            top_left.x() + 4,
            top_left.y() + 2,
            int(NODE_WIDTH * scale) - 8,
            int(HEADER * scale * 0.6) + 8,
        )
        self.setObjectName("RenameOverlay")
        self.selectAll()
        self.returnPressed.connect(self.finish)
        self.installEventFilter(self)

    @classmethod
    def open(
        cls, view: QGraphicsView, item: NodeItem, commit: Callable[[str], None]
    ) -> RenameOverlay:
        overlay = cls(view, item, commit)
        overlay.show()
        overlay.setFocus(Qt.FocusReason.OtherFocusReason)
        return overlay

    def finish(self) -> None:
        if not self._done:
            self._done = True
            text = self.text()
            self.hide()
            self.deleteLater()
            self._commit(text)

    def cancel(self) -> None:
        self._done = True
        self.hide()
        self.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape:
                self.cancel()
                return True
        elif event.type() == QEvent.Type.FocusOut:
            self.finish()
        return False
