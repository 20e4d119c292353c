"""Help ▸ About: version, component versions and where data lives, copyable for support."""

from __future__ import annotations

import platform as sysplatform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop import APP_NAME, __version__
from auterity_desktop.config import Settings
from auterity_desktop.ui.resources import app_icon


def about_text(settings: Settings, database: str) -> str:
    return "\n".join(
        (
            f"{APP_NAME} {__version__}",
            f"Python {sysplatform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version}",
            f"System: {sysplatform.platform()}",
            f"Data folder: {settings.data_dir}",
            f"Database: {database}",
        )
    )


class AboutDialog(QDialog):
    def __init__(self, settings: Settings, database: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.text = about_text(settings, database)
        picture = QLabel()
        picture.setPixmap(app_icon().pixmap(72, 72))
        title = QLabel(f"<b style='font-size:18px'>{APP_NAME}</b><br>Version {__version__}")
        blurb = QLabel(
            "The operations console of the Auterity AI workflow-automation platform: design, run "
            "and watch workflows for dealership sales, service, inventory and follow-up — "
            "offline on your desktop or shared with your team."
        )
        blurb.setWordWrap(True)
        details = QLabel(self.text.split("\n", 1)[1].replace("\n", "<br>"))
        details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details.setObjectName("PageSubtitle")
        copy = QPushButton("&Copy details")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(picture, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(copy)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(blurb)
        layout.addWidget(details)
        layout.addLayout(bottom)
        self.setMinimumWidth(460)
