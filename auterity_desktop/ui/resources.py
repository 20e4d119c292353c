"""Icons and theme files from the packaged ``resources/`` folder, recoloured for the theme."""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

_ROOT = resources.files("auterity_desktop.resources")


def read_text(*parts: str) -> str:
    return _ROOT.joinpath(*parts).read_text(encoding="utf-8")


@cache
def _svg(name: str) -> str:
    return read_text("icons", f"{name}.svg")


def _scales() -> tuple[int, ...]:
    """1× plus the screen's own ratio, so icons are sharp on high-DPI screens without
    rendering sizes nobody sees (rendering is part of start-up time)."""
    screen = QGuiApplication.primaryScreen()
    ratio = math.ceil(screen.devicePixelRatio()) if screen is not None else 1
    return (1,) if ratio <= 1 else (1, ratio)


def icon(name: str, color: str, size: int = 24) -> QIcon:
    """A line icon drawn in ``color``."""
    svg = _svg(name).replace("currentColor", QColor(color).name())
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    for scale in _scales():
        pixmap = QPixmap(QSize(size * scale, size * scale))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        result.addPixmap(pixmap)
    return result


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
