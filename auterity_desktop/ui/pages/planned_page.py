"""The empty state of a workspace that this build does not include yet.

It says plainly what the workspace is for and that it is not available, rather than showing
a blank area or controls that do nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget

from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.resources import icon


class PlannedPage(QWidget):
    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setObjectName(f"Page_{spec.key}")
        header = PageHeaderWidget(spec.title, spec.summary)

        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._context = context
        self._recolour()
        context.theme.sig_theme_changed.connect(self._on_theme_changed)

        title = QLabel(f"{spec.title} is not available in this build yet")
        title.setObjectName("EmptyStateTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "This workspace will appear here when its feature ships. Everything else in the "
            "console works without it."
        )
        text.setObjectName("EmptyStateText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)

        layout = page_layout(self)
        layout.addWidget(header)
        layout.addStretch(1)
        layout.addWidget(self.picture)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addStretch(2)

    def _on_theme_changed(self, _name: str) -> None:
        self._recolour()

    def _recolour(self) -> None:
        color = self._context.theme.colors.get("muted_text", "#888888")
        ratio = self.devicePixelRatioF()  # drawn for this screen: sharp on high-DPI ones
        self.picture.setPixmap(icon(self.spec.icon, color, 64).pixmap(QSize(64, 64), ratio))
