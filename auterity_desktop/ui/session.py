"""Who is signed in, for the GUI: the token, the principal, and expiry handling.

The window is usable only with a session. When the session expires (idle or maximum age),
the sign-in dialog comes back over the unchanged window, so nothing the user was working on
is lost; signing in again continues where they were.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

logger = logging.getLogger(__name__)

CHECK_INTERVAL_MS = 30_000


class SessionController(QObject):
    sig_signed_in = Signal(object)  # Principal
    sig_signed_out = Signal(str)  # reason
    sig_needs_sign_in = Signal(bool, str)  # first_run, message

    def __init__(self, tasks: TaskRunner) -> None:
        super().__init__()
        self.tasks = tasks
        self.platform: Platform | None = None
        self.token: str | None = None
        self.principal: Principal | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check)

    @property
    def signed_in(self) -> bool:
        return self.principal is not None

    def attach(self, platform: Platform) -> None:
        self.platform = platform
        self.tasks.spawn(self._ask_for_sign_in(""))

    async def _ask_for_sign_in(self, message: str) -> None:
        assert self.platform is not None
        first_run = await self.platform.security.needs_first_admin()
        self.sig_needs_sign_in.emit(first_run, message)

    async def sign_in(self, username: str, password: str) -> Principal:
        assert self.platform is not None
        session = await self.platform.security.authenticate_user(
            {"username": username, "password": password}
        )
        self.token, self.principal = session.token, session.principal
        self._timer.start()
        self.sig_signed_in.emit(session.principal)
        return session.principal

    async def create_first_admin(
        self, username: str, password: str, display_name: str
    ) -> Principal:
        assert self.platform is not None
        await self.platform.security.users.create_first_admin(username, password, display_name)
        return await self.sign_in(username, password)

    async def sign_out(self, reason: str = "Signed out.") -> None:
        token, self.token, self.principal = self.token, None, None
        self._timer.stop()
        if token and self.platform is not None and self.platform.running:
            await self.platform.security.logout(token)
        self.sig_signed_out.emit(reason)
        if self.platform is not None and self.platform.running:
            await self._ask_for_sign_in(reason)

    def check(self) -> None:
        if self.token is not None:
            self.tasks.spawn(self.refresh(), on_error=self._refresh_failed)

    async def refresh(self) -> None:
        """Confirm the session is alive; an expired one asks for sign-in again."""
        if self.platform is None or self.token is None:
            return
        try:
            self.principal = await self.platform.security.resume(self.token)
        except ServiceError as exc:
            if exc.code is not ErrorCode.UNAUTHENTICATED:
                raise
            self.token, self.principal = None, None
            self._timer.stop()
            self.sig_signed_out.emit(exc.message)
            await self._ask_for_sign_in(
                f"Your session ended ({exc.details.get('reason', 'expired')}). "
                "Sign in to continue where you left off."
            )

    def _refresh_failed(self, exc: BaseException) -> None:
        logger.warning("session check failed", exc_info=exc)

    def stop(self) -> None:
        self._timer.stop()

    def require(self) -> Principal:
        if self.principal is None:
            raise ServiceError(ErrorCode.UNAUTHENTICATED, "Sign in first", {})
        return self.principal
