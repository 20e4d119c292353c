"""Light and dark themes, following the operating system unless the user picks one.

A theme is a palette (from ``resources/themes/<name>.json``) applied both as a QPalette, so
native-drawn controls match, and as the shared style sheet ``base.qss``. The preference is
stored with the window state; ``system`` tracks the OS colour scheme live.
"""

from __future__ import annotations

import json
from enum import StrEnum
from string import Template

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from auterity_desktop.ui.resources import read_text


class ThemeMode(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


def load_palette(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(read_text("themes", f"{name}.json"))
    return data


def _qpalette(colors: dict[str, str]) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    for qrole, key in (
        (role.Window, "window"),
        (role.WindowText, "text"),
        (role.Base, "base"),
        (role.AlternateBase, "alternate_base"),
        (role.Text, "text"),
        (role.Button, "surface"),
        (role.ButtonText, "text"),
        (role.Highlight, "highlight"),
        (role.HighlightedText, "accent_text"),
        (role.ToolTipBase, "tooltip_base"),
        (role.ToolTipText, "tooltip_text"),
        (role.PlaceholderText, "muted_text"),
        (role.Link, "accent"),
        (role.Mid, "border"),
    ):
        palette.setColor(qrole, QColor(colors[key]))
    disabled = QColor(colors["disabled_text"])
    for qrole in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, qrole, disabled)
    return palette


class ThemeManager(QObject):
    """Owns the current theme; ``sig_theme_changed(name)`` tells icon owners to recolour."""

    sig_theme_changed = Signal(str)
    sig_mode_changed = Signal(str)

    def __init__(self, app: QApplication, mode: ThemeMode = ThemeMode.SYSTEM) -> None:
        super().__init__(app)
        self._app = app
        self._mode = mode
        self._applied = ""
        self.colors: dict[str, str] = {}
        self._system_scheme = app.styleHints().colorScheme()
        app.setStyle("Fusion")
        app.styleHints().colorSchemeChanged.connect(self._on_system_scheme_changed)
        self.apply()

    @property
    def mode(self) -> ThemeMode:
        return self._mode

    @property
    def current(self) -> str:
        """The theme actually shown: ``light`` or ``dark``."""
        return self._applied

    def set_mode(self, mode: ThemeMode | str) -> None:
        mode = ThemeMode(mode)
        changed = mode is not self._mode
        self._mode = mode
        self.apply()
        if changed:
            self.sig_mode_changed.emit(mode.value)

    def resolved(self) -> str:
        if self._mode is not ThemeMode.SYSTEM:
            return self._mode.value
        return "dark" if self._system_scheme == Qt.ColorScheme.Dark else "light"

    def apply(self) -> None:
        name = self.resolved()
        if name == self._applied:
            return
        self.colors = load_palette(name)
        self._app.setPalette(_qpalette(self.colors))
        self._app.setStyleSheet(
            Template(read_text("themes", "base.qss")).safe_substitute(self.colors)
        )
        self._applied = name
        self.sig_theme_changed.emit(name)

    def detach(self) -> None:
        """Stop following the system (before this manager is dropped)."""
        self._app.styleHints().colorSchemeChanged.disconnect(self._on_system_scheme_changed)

    def _on_system_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._system_scheme = scheme
        if self._mode is ThemeMode.SYSTEM:
            self.apply()
