"""The status bar: which database is in use and whether every service is healthy."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget

from auterity_desktop.core.service import Health, HealthState
from auterity_desktop.ui.style import restyle

_STYLE = {
    HealthState.OK: "HealthOk",
    HealthState.DEGRADED: "HealthWarning",
    HealthState.DOWN: "HealthError",
    HealthState.STOPPED: "HealthError",
}


class PlatformStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database_label = QLabel("Database: opening…")
        self.database_label.setObjectName("DatabaseLabel")
        self.health_label = QLabel("● Starting services…")
        self.health_label.setObjectName("HealthWarning")
        self.health_label.setAccessibleName("Service health")
        self.user_label = QLabel("Not signed in")
        self.user_label.setObjectName("UserLabel")
        self.sign_out_button = QToolButton()
        self.sign_out_button.setText("Sign out")
        self.sign_out_button.setToolTip("Sign out (Ctrl+Shift+Q)")
        self.sign_out_button.setAutoRaise(True)
        self.sign_out_button.hide()
        self.addPermanentWidget(self.user_label)
        self.addPermanentWidget(self.sign_out_button)
        self.addPermanentWidget(self.database_label)
        self.addPermanentWidget(self.health_label)

    def show_user(self, username: str | None, role: str | None) -> None:
        if username is None:
            self.user_label.setText("Not signed in")
            self.sign_out_button.hide()
        else:
            self.user_label.setText(f"{username} · {role}")
            self.sign_out_button.show()

    def _set_health(self, text: str, style: str, tooltip: str = "") -> None:
        self.health_label.setText(f"● {text}")
        self.health_label.setToolTip(tooltip)
        restyle(self.health_label, style)

    def show_starting(self) -> None:
        self._set_health("Starting services…", "HealthWarning")

    def show_database(self, description: str) -> None:
        self.database_label.setText(f"Database: {description}")

    def show_failed(self, message: str) -> None:
        self._set_health("Services failed to start", "HealthError", message)
        self.showMessage(message)

    def show_health(self, health: Mapping[str, Health]) -> None:
        bad = {name: h for name, h in health.items() if not h.ok}
        tooltip = "\n".join(
            f"{name}: {h.state.value}" + (f" — {h.detail}" if h.detail else "")
            for name, h in sorted(health.items())
        )
        if not bad:
            self._set_health(f"All {len(health)} services healthy", "HealthOk", tooltip)
            return
        worst = max((h.state for h in bad.values()), key=list(_STYLE).index)
        noun = "service" if len(bad) == 1 else "services"
        self._set_health(
            f"{len(bad)} {noun} {worst.value}: {', '.join(sorted(bad))}", _STYLE[worst], tooltip
        )
