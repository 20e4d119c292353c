"""What pages that work on service data share: the platform, the signed-in principal, a
message line for results and expected errors, and a hook that runs when someone signs in."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QLabel, QWidget

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.style import restyle


class ServicePage(QWidget):
    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.message = QLabel("")
        self.message.setWordWrap(True)

    stopped = False  # set once the platform announced it is stopping

    def _colours(self) -> dict[str, str]:
        return self.context.theme.colors

    def has(self, permission: str) -> bool:
        """The signed-in principal holds ``"resource:action"``."""
        principal = self.context.session.principal
        return principal is not None and permission in principal.permissions

    def _live(self) -> bool:
        """Loading makes sense: someone is signed in and the services run."""
        platform = self.context.bridge.platform
        return (
            not self.stopped
            and self.context.session.signed_in
            and platform is not None
            and platform.running
        )

    @property
    def platform(self) -> Any:
        platform = self.context.bridge.platform
        assert platform is not None, "pages are used only after the platform started"
        return platform

    def watch_session(self) -> None:
        """Call ``on_signed_in`` now if someone is signed in, and at every later sign-in."""
        self.context.session.sig_signed_in.connect(self.on_signed_in)
        if self.context.session.signed_in:
            self.on_signed_in(self.context.session.principal)

    def on_signed_in(self, principal: Any) -> None:
        """Override: load data and show what the principal's role allows."""

    def show_message(self, text: str, error: bool = False) -> None:
        if not shiboken6.isValid(self.message):
            return  # late news for a page already closed
        self.message.setText(text)
        restyle(self.message, "HealthError" if error else "HealthOk")

    def failed(self, exc: BaseException) -> None:
        """Expected errors go on the message line; anything else to the crash report."""
        if not shiboken6.isValid(self) or not shiboken6.isValid(self.message):
            return  # the page closed while the work ran: its late failure concerns no one
        if isinstance(exc, ServiceError):
            self.show_message(exc.message, error=True)
        else:
            self.context.tasks.report_error(exc)
