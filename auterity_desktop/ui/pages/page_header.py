"""The title and one-line summary at the top of every page, and the page's frame: every
page lays its content out in ``page_layout`` so all pages share margins and spacing."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

PAGE_MARGINS = (24, 20, 24, 20)  # left, top, right, bottom of every page's content
PAGE_SPACING = 8  # between the header, toolbars and the content of a page


def page_layout(widget: QWidget) -> QVBoxLayout:
    """The top-level layout of a page's content, with the shared margins and spacing."""
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(*PAGE_MARGINS)
    layout.setSpacing(PAGE_SPACING)
    return layout


class PageHeaderWidget(QWidget):
    def __init__(self, title: str, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setObjectName("PageTitle")
        self.summary = QLabel(summary)
        self.summary.setObjectName("PageSubtitle")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
