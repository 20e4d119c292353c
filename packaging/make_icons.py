"""Renders the application icon from ``resources/icons/app-icon.svg`` for the packages:

* ``resources/icons/hicolor/<N>x<N>/apps/auterity-desktop.png`` (N = 16 … 512) and
  ``hicolor/scalable/apps/auterity-desktop.svg`` — the freedesktop icon theme layout the
  ``.desktop`` entry's ``Icon=auterity-desktop`` is looked up in (``packaging/linux/install.sh``
  copies the tree to ``~/.local/share/icons/hicolor``);
* ``resources/icons/app-icon.ico`` — Windows, 16 … 256 pixels in one file;
* ``resources/icons/app-icon.icns`` — macOS, 16 … 1024 pixels (the Retina variants too).

Only PySide6 is needed (no Pillow): Qt renders the SVG, and ICO and ICNS are written here as
containers of PNG images, which Windows (Vista on) and macOS (10.7 on) read. Run it again
after changing the SVG and commit the results:

    .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "app-icon.svg"
NAME = "auterity-desktop"  # the icon name: the APP_ID, as the .desktop entry's file name

HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, with their pixel sizes (@2x types are Retina)
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),  # 512@2x
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic13", 256),  # 128@2x
    (b"ic14", 512),  # 256@2x
)


def render_png(svg: bytes, size: int) -> bytes:
    """The SVG drawn into a transparent ``size`` × ``size`` image, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise SystemExit(f"cannot encode a {size} px PNG")
    buffer.close()
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    """An ICO file of PNG-compressed images (ICONDIR, ICONDIRENTRYs, image data)."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, payload = b"", b""
    for size in sizes:
        png = images[size]
        side = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        payload += png
        offset += len(png)
    return header + entries + payload


def icns(images: dict[int, bytes]) -> bytes:
    """An ICNS file: the ``icns`` header, then one PNG element per type."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(images[size])) + images[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = SOURCE.read_bytes()
    sizes = sorted({*HICOLOR_SIZES, *ICO_SIZES, *(size for _, size in ICNS_TYPES)})
    images = {size: render_png(svg, size) for size in sizes}

    hicolor = ICONS / "hicolor"
    for size in HICOLOR_SIZES:
        write(hicolor / f"{size}x{size}" / "apps" / f"{NAME}.png", images[size])
    scalable = hicolor / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    if not scalable.exists() or scalable.read_bytes() != svg:
        shutil.copyfile(SOURCE, scalable)
        print(f"wrote {scalable.relative_to(ROOT)}")
    write(ICONS / "app-icon.ico", ico({size: images[size] for size in ICO_SIZES}))
    write(ICONS / "app-icon.icns", icns(images))
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
