"""The canvas view: wheel and keyboard zoom, middle-drag and space-drag panning, rubber-band
selection, drops from the palette, and a minimap in the corner."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from auterity_desktop.ui.editor.colors import category_color
from auterity_desktop.ui.editor.palette import NODE_TYPE_MIME
from auterity_desktop.ui.editor.scene import WorkflowScene

MIN_ZOOM, MAX_ZOOM = 0.1, 3.0


class WorkflowView(QGraphicsView):
    sig_zoom_changed = Signal(float)
    sig_quick_add = Signal(QPoint, QPointF)  # global position, scene position
    sig_viewport_moved = Signal()
    sig_resized = Signal()

    def __init__(self, scene: WorkflowScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSceneRect(QRectF(-50_000, -50_000, 100_000, 100_000))
        self._pan_from: QPoint | None = None
        self._space = False
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _scrolled(self, _value: int) -> None:
        self.sig_viewport_moved.emit()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.sig_resized.emit()

    @property
    def workflow_scene(self) -> WorkflowScene:
        scene = self.scene()
        assert isinstance(scene, WorkflowScene)
        return scene

    # -- zoom -------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        centre = anchor if anchor is not None else self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.scale(factor, factor)
        self.centerOn(centre)
        self.workflow_scene.set_zoom_level(factor)
        self.sig_zoom_changed.emit(factor)
        self.sig_viewport_moved.emit()

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def fit_all(self) -> None:
        scene = self.workflow_scene
        rect = QRectF()
        for item in [*scene.node_items.values(), *scene.annotation_items.values()]:
            rect = rect.united(item.sceneBoundingRect())
        if rect.isNull():
            self.set_zoom(1.0, QPointF(0, 0))
            return
        rect = rect.adjusted(-60, -60, 60, 60)
        view = self.viewport().rect()
        factor = min(view.width() / rect.width(), view.height() / rect.height(), 1.0)
        self.set_zoom(factor, rect.center())

    def centre_on_node(self, node_id: str) -> None:
        item = self.workflow_scene.node_items.get(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())
            self.sig_viewport_moved.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)  # shift+wheel scrolls
            return
        steps = event.angleDelta().y() / 120
        if steps:
            factor = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom() * (1.15**steps)))
            self.scale(factor / self.zoom(), factor / self.zoom())
            self.workflow_scene.set_zoom_level(factor)
            self.sig_zoom_changed.emit(factor)
            self.sig_viewport_moved.emit()
        event.accept()

    # -- panning ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.pan_by(-delta.x(), -delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor
            )
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        self.horizontalScrollBar().setValue(round(self.horizontalScrollBar().value() + dx))
        self.verticalScrollBar().setValue(round(self.verticalScrollBar().value() + dy))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        scene_pos = self.mapToScene(event.position().toPoint())
        if not self.workflow_scene.items(scene_pos):
            self.sig_quick_add.emit(event.globalPosition().toPoint(), scene_pos)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Tab:
            local = self.mapFromGlobal(self.cursor().pos())
            if not self.viewport().rect().contains(local):
                local = self.viewport().rect().center()
            self.sig_quick_add.emit(self.mapToGlobal(local), self.mapToScene(local))
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens quick-add here instead of moving focus

    # -- drops from the palette -------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(NODE_TYPE_MIME):
            super().dropEvent(event)
            return
        type_name = bytes(event.mimeData().data(NODE_TYPE_MIME).data()).decode()
        scene_pos = self.mapToScene(event.position().toPoint())
        self.drop_node(type_name, scene_pos)
        event.acceptProposedAction()
        self.setFocus()

    def drop_node(self, type_name: str, scene_pos: QPointF) -> str | None:
        """A node dropped at a point: on a wire it is inserted into the wire."""
        scene = self.workflow_scene
        edge = scene.edge_at(scene_pos)
        at = scene_pos - QPointF(100, 20)
        if edge is not None:
            return scene.insert_on_edge(type_name, edge.edge_id, at)
        return scene.add_node(type_name, at)


class MinimapView(QWidget):
    """The whole workflow small, with the visible part outlined; click or drag to go there.

    Drawn from the nodes' rectangles into a cached picture that is redrawn only when the
    workflow changes; a frame of panning just moves the outline."""

    def __init__(self, main: WorkflowView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.main = main
        self.setFixedSize(180, 120)
        self.setToolTip("Minimap: click or drag to move the view")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._picture: QPixmap | None = None
        self._bounds = QRectF()
        self._dragging = False
        main.sig_viewport_moved.connect(self.update)

    def refit(self) -> None:
        self._picture = None
        self.update()

    def _visible(self) -> QRectF:
        return self.main.mapToScene(self.main.viewport().rect()).boundingRect()

    def _transform(self) -> QTransform:
        """Scene → minimap coordinates for the current bounds."""
        bounds = self._bounds
        scale = min(self.width() / bounds.width(), self.height() / bounds.height())
        dx = (self.width() - bounds.width() * scale) / 2 - bounds.left() * scale
        dy = (self.height() - bounds.height() * scale) / 2 - bounds.top() * scale
        return QTransform(scale, 0, 0, scale, dx, dy)

    def _render(self) -> None:
        scene = self.main.workflow_scene
        rects = []
        for item in scene.node_items.values():
            width, height = item.size()
            rects.append((item.category, QRectF(item.pos().x(), item.pos().y(), width, height)))
        bounds = QRectF()
        for _, rect in rects:
            bounds = bounds.united(rect)
        bounds = bounds.united(self._visible()) if not bounds.isNull() else self._visible()
        self._bounds = bounds.adjusted(-200, -200, 200, 200)
        picture = QPixmap(self.size())
        picture.fill(QColor(scene.colors["base"]))
        painter = QPainter(picture)
        painter.setTransform(self._transform())
        painter.setPen(Qt.PenStyle.NoPen)
        paths: dict[str, QPainterPath] = {}
        for category, rect in rects:
            paths.setdefault(category_color(category), QPainterPath()).addRect(rect)
        for color, path in paths.items():
            painter.setBrush(QColor(color))
            painter.drawPath(path)
        painter.end()
        self._picture = picture

    def paintEvent(self, event: Any) -> None:
        if self._picture is None or not self._bounds.contains(self._visible()):
            self._render()
        assert self._picture is not None
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._picture)
        accent = QColor(self.main.workflow_scene.colors["accent"])
        outline = self._transform().mapRect(self._visible())
        fill = QColor(accent)
        fill.setAlpha(40)
        painter.setPen(QPen(accent, 1.5))
        painter.setBrush(fill)
        painter.drawRect(outline)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(self.main.workflow_scene.colors["border"]), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))

    def scene_point(self, point: QPointF) -> QPointF:
        inverse, _ok = self._transform().inverted()
        return inverse.map(point)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._dragging = True
        self._go(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._go(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = False

    def _go(self, event: QMouseEvent) -> None:
        if self._picture is None:
            self._render()
        self.main.centerOn(self.scene_point(event.position()))
        self.main.sig_viewport_moved.emit()
        event.accept()
