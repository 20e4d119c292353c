"""Real mouse gestures on a graphics view: press, move with the button held, release —
sent as Qt events to the viewport, as a user's mouse would."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsView


def _send(
    view: QGraphicsView,
    kind: QEvent.Type,
    at: QPoint,
    button: Qt.MouseButton,
    buttons: Qt.MouseButton,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    local = QPointF(at)
    event = QMouseEvent(
        kind, local, QPointF(view.viewport().mapToGlobal(at)), button, buttons, modifiers
    )
    QApplication.sendEvent(view.viewport(), event)


def drag(
    view: QGraphicsView,
    start: QPointF,
    end: QPointF,
    *,
    button: Qt.MouseButton = Qt.MouseButton.LeftButton,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    steps: int = 6,
) -> None:
    """Drag between two scene points."""
    a = view.mapFromScene(start)
    b = view.mapFromScene(end)
    _send(view, QEvent.Type.MouseButtonPress, a, button, button, modifiers)
    for i in range(1, steps + 1):
        point = QPoint(a.x() + (b.x() - a.x()) * i // steps, a.y() + (b.y() - a.y()) * i // steps)
        _send(view, QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, button, modifiers)
    _send(view, QEvent.Type.MouseButtonRelease, b, button, Qt.MouseButton.NoButton, modifiers)


def click(
    view: QGraphicsView,
    at: QPointF,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    point = view.mapFromScene(at)
    left = Qt.MouseButton.LeftButton
    _send(view, QEvent.Type.MouseButtonPress, point, left, left, modifiers)
    _send(view, QEvent.Type.MouseButtonRelease, point, left, Qt.MouseButton.NoButton, modifiers)
