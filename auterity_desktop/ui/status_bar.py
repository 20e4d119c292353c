"""The status bar: which database is in use, whether every service is healthy and, in team
mode, whether this console still hears the other processes on the team database."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget

from auterity_desktop.core.events import Event
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
        # Team mode only: while it says "reconnecting", other processes' runs and alerts do
        # not show up live here (the views reload once it is connected again).
        self.team_label = QLabel()
        self.team_label.setObjectName("HealthOk")
        self.team_label.setAccessibleName("Team database connection")
        self.team_label.hide()
        self.addPermanentWidget(self.database_label)
        self.addPermanentWidget(self.team_label)
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

    def show_team(self, connected: bool | None) -> None:
        """``None`` outside team mode (SQLite, or a relay that is off) hides the indicator."""
        if connected is None:
            self.team_label.hide()
            return
        if connected:
            self.team_label.setText("Team database: connected")
            self.team_label.setToolTip("Runs and alerts from other consoles appear live")
        else:
            self.team_label.setText("Team database: reconnecting…")
            self.team_label.setToolTip(
                "Other consoles' runs and alerts are not shown live until the connection "
                "is back; the views then reload"
            )
        restyle(self.team_label, "HealthOk" if connected else "HealthWarning")
        self.team_label.show()

    def on_event(self, event: Event) -> None:
        if event.name == "team_connection_changed":
            self.show_team(bool(event.payload.get("connected")))

    def show_health(self, health: Mapping[str, Health]) -> None:
        relay = health.get("team_relay")
        if relay is not None and relay.data.get("team"):
            self.show_team(bool(relay.data.get("connected")))
        elif relay is not None:
            self.show_team(None)
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
