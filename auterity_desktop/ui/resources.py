"""Icons and theme files from the packaged ``resources/`` folder, recoloured for the theme.

Line icons are drawn from their SVG when Qt asks for a size, at the device pixel ratio of the
screen it is for: crisp at 1×, 1.5×, 2× (and on a second screen with another ratio) instead
of a 1× picture scaled up.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QStyleOption

_ROOT = resources.files("auterity_desktop.resources")


def read_text(*parts: str) -> str:
    return _ROOT.joinpath(*parts).read_text(encoding="utf-8")


@cache
def _svg(name: str) -> str:
    return read_text("icons", f"{name}.svg")


class SvgIconEngine(QIconEngine):
    """An icon drawn from SVG data at whatever size and device pixel ratio it is shown.

    Like Qt's own SVG icon engine (which reads files), but for SVG text in memory, so an
    icon can be recoloured first. Pixmaps are cached per size, ratio, mode and state."""

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self._svg = svg
        self._renderer = QSvgRenderer(QByteArray(svg))
        self._pixmaps: dict[tuple[int, int, int, int, int], QPixmap] = {}

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._svg)

    def key(self) -> str:
        return "auterity-svg"

    def isNull(self) -> bool:
        return not self._renderer.isValid()

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return QSize(size)  # scalable: any size asked for

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        """``size`` in device-independent pixels; the pixmap has ``size × scale`` device
        pixels and says so (``devicePixelRatio() == scale``)."""
        width = max(1, round(size.width() * scale))
        height = max(1, round(size.height() * scale))
        key = (width, height, round(scale * 100), mode.value, state.value)
        cached = self._pixmaps.get(key)
        if cached is not None:
            return cached
        pixmap = QPixmap(width, height)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._renderer.render(painter)
        painter.end()
        if mode in (QIcon.Mode.Disabled, QIcon.Mode.Selected):
            style = QApplication.style() if QApplication.instance() is not None else None
            if style is not None:
                generated = style.generatedIconPixmap(mode, pixmap, QStyleOption())
                if not generated.isNull():
                    pixmap = generated
        pixmap.setDevicePixelRatio(scale)
        self._pixmaps[key] = pixmap
        return pixmap

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatio() if painter.device() is not None else 1.0
        pixmap = self.scaledPixmap(rect.size(), mode, state, scale)
        painter.drawPixmap(QRect(QPoint(rect.x(), rect.y()), rect.size()), pixmap)


def svg_icon(svg: str) -> QIcon:
    """An icon drawn from SVG text, sharp at every size and device pixel ratio."""
    return QIcon(SvgIconEngine(svg.encode("utf-8")))


def icon(name: str, color: str, size: int = 24) -> QIcon:
    """A line icon drawn in ``color``. ``size`` is kept for callers: the icon is drawn at
    the size it is shown."""
    del size
    return svg_icon(_svg(name).replace("currentColor", QColor(color).name()))


def app_icon() -> QIcon:
    result = QIcon()
    renderer = QSvgRenderer(QByteArray(_svg("app-icon").encode("utf-8")))
    for size in (16, 24, 32, 48, 64, 128, 256):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result
