"""Icons are drawn at the device pixel ratio they are shown at: on a 2× screen a 24 px icon
is a 48-device-pixel drawing of the SVG, not a 24 px picture scaled up."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

import auterity_desktop.resources as packaged
from auterity_desktop.ui.resources import _svg, icon

COLOR = "#3366cc"
ICONS = sorted(p.stem for p in (Path(packaged.__file__).parent / "icons").glob("*.svg"))
LINE_ICONS = [name for name in ICONS if name != "app-icon"]


def rendered(name: str, pixels: int) -> QImage:
    """The SVG drawn straight at ``pixels`` × ``pixels``: what a crisp icon looks like."""
    svg = _svg(name).replace("currentColor", COLOR)
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(svg.encode("utf-8"))).render(painter)
    painter.end()
    return image


def same(a: QImage, b: QImage) -> bool:
    a = a.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    b = b.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    return a.size() == b.size() and a.constBits().tobytes() == b.constBits().tobytes()


@pytest.mark.parametrize("name", LINE_ICONS)
def test_an_icon_at_ratio_two_is_drawn_with_twice_the_pixels(qapp: QApplication, name: str) -> None:
    pixmap = icon(name, COLOR).pixmap(QSize(24, 24), 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert pixmap.size() == QSize(48, 48)  # device pixels
    assert pixmap.deviceIndependentSize().toSize() == QSize(24, 24)
    image = pixmap.toImage()
    assert same(image, rendered(name, 48))
    # ...which a 24 px drawing scaled up is not (the check can tell the two apart)
    upscaled = rendered(name, 24).scaled(48, 48, mode=Qt.TransformationMode.SmoothTransformation)
    assert not same(image, upscaled)


@pytest.mark.parametrize("ratio", [1.0, 1.25, 1.5, 2.0, 3.0])
def test_every_ratio_gets_its_own_drawing(qapp: QApplication, ratio: float) -> None:
    pixmap = icon("dashboard", COLOR).pixmap(QSize(16, 16), ratio)
    assert pixmap.devicePixelRatio() == ratio
    assert pixmap.size() == QSize(round(16 * ratio), round(16 * ratio))


def test_painting_on_a_2x_device_draws_the_2x_drawing(qapp: QApplication) -> None:
    """What a button does on a 2× screen: paint the icon through a painter."""
    target = QPixmap(80, 80)
    target.setDevicePixelRatio(2.0)
    target.fill(Qt.GlobalColor.white)
    painter = QPainter(target)
    icon("runs", COLOR).paint(painter, 0, 0, 24, 24)
    painter.end()
    painted = target.toImage().copy(0, 0, 48, 48)
    background = QImage(48, 48, QImage.Format.Format_ARGB32_Premultiplied)
    background.fill(Qt.GlobalColor.white)
    painter = QPainter(background)
    painter.drawImage(0, 0, rendered("runs", 48))
    painter.end()
    assert same(painted, background)


def test_disabled_icons_keep_their_resolution(qapp: QApplication) -> None:
    pixmap = icon("users", COLOR).pixmap(QSize(24, 24), 2.0, QIcon.Mode.Disabled)
    assert pixmap.size() == QSize(48, 48)
    assert pixmap.devicePixelRatio() == 2.0


def test_qt_svg_icon_engine_plugin_is_available(qapp: QApplication) -> None:
    """Qt's own SVG icon engine (``iconengines/libqsvgicon``) is installed: an icon read
    from an SVG file is scalable too (without it Qt would read a 24 px picture)."""
    path = Path(packaged.__file__).parent / "icons" / "settings.svg"
    from_file = QIcon(str(path))
    assert not from_file.isNull()
    pixmap = from_file.pixmap(QSize(24, 24), 2.0)
    assert pixmap.size() == QSize(48, 48)
    assert pixmap.devicePixelRatio() == 2.0
