"""Turns ``alert_firing`` events into toasts in the main window, whatever page is open.

Silenced alerts make no toast, and nobody sees one who may not read alerts (permission
``analytics:read``) or is not signed in. "Show" opens the Alerts page on that alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from auterity_desktop.core.events import Event
from auterity_desktop.ui.models.alert_models import SEVERITY_COLOURS
from auterity_desktop.ui.platform_bridge import PlatformBridge
from auterity_desktop.ui.session import SessionController
from auterity_desktop.ui.theme import ThemeManager
from auterity_desktop.ui.widgets.toast import ToastArea, ToastWidget


class AlertToaster(QObject):
    def __init__(
        self,
        window: QMainWindow,
        bridge: PlatformBridge,
        session: SessionController,
        theme: ThemeManager,
        show_page: Callable[[str], Any],
    ) -> None:
        super().__init__(window)
        self.session = session
        self.theme = theme
        self.show_page = show_page
        self.area = ToastArea(window, lambda: window.statusBar().height())
        bridge.sig_event.connect(self._on_event)

    @property
    def toasts(self) -> list[ToastWidget]:
        return self.area.toasts

    def _on_event(self, event: Event) -> None:
        if event.name != "alert_firing" or event.payload.get("silenced"):
            return
        principal = self.session.principal
        if principal is None or "analytics:read" not in principal.permissions:
            return
        payload = event.payload
        severity = str(payload.get("severity") or "warning")
        colours = self.theme.colors
        alert_id = str(payload.get("alert_id") or "")
        self.area.show_toast(
            f"{severity.capitalize()}: {payload.get('name', 'alert')}",
            str(payload.get("message") or ""),
            colours,
            colours.get(SEVERITY_COLOURS.get(severity, "accent"), colours["accent"]),
            ("Show alerts", lambda: self._open(alert_id)),
        )

    def _open(self, alert_id: str) -> None:
        page = self.show_page("alerts")
        select = getattr(page, "select_alert", None)
        if callable(select):
            select(alert_id)
