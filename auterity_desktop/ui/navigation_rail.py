"""The vertical rail of workspaces on the left of the main window."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.resources import icon

RAIL_WIDTH = 104


class NavigationRail(QWidget):
    sig_page_requested = Signal(str)

    def __init__(self, pages: tuple[PageSpec, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NavigationRail")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedWidth(RAIL_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self._pages = pages
        self._colors = ("#5f6b7a", "#1f2933")
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.setSpacing(2)
        for number, spec in enumerate(pages, start=1):
            button = QToolButton()
            button.setObjectName(f"nav_{spec.key}")
            button.setText(spec.title.replace("&", "&&"))
            button.setAccessibleName(spec.title)
            shortcut = (
                f" (Ctrl+{number})"
                if number <= 9
                else (" (Ctrl+,)" if spec.key == "settings" else "")
            )
            button.setToolTip(f"{spec.title}{shortcut}\n{spec.summary}")
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setIconSize(QSize(24, 24))
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setMinimumHeight(50)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(lambda _=False, key=spec.key: self.sig_page_requested.emit(key))
            button.toggled.connect(lambda _checked, b=button, s=spec: self._paint(b, s))
            self._group.addButton(button)
            self.buttons[spec.key] = button
            if spec.key == "settings":
                layout.addStretch(1)
            layout.addWidget(button)

    def set_allowed(self, allowed: set[str]) -> None:
        """Show only the pages the signed-in role may open."""
        for key, button in self.buttons.items():
            button.setVisible(key in allowed)

    def set_current(self, key: str) -> None:
        self.buttons[key].setChecked(True)

    def current(self) -> str | None:
        for key, button in self.buttons.items():
            if button.isChecked():
                return key
        return None

    def set_colors(self, normal: str, checked: str) -> None:
        """Icon colours for the current theme: muted normally, full text colour when active."""
        self._colors = (normal, checked)
        for spec in self._pages:
            self._paint(self.buttons[spec.key], spec)

    def _paint(self, button: QToolButton, spec: PageSpec) -> None:
        normal, checked = self._colors
        button.setIcon(icon(spec.icon, checked if button.isChecked() else normal))
