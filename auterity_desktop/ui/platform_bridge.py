"""Starts the service layer behind an already visible window and adapts it to Qt signals.

The window appears first; importing SQLAlchemy and Alembic (about half a second) happens in a
worker thread, and services start on the asyncio loop, so the user sees and can use the
window at once. Service events come up through ``sig_event``; health is polled on a timer
and announced with ``sig_health_changed``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from auterity_desktop.config import Settings
from auterity_desktop.core.events import ALL, Event
from auterity_desktop.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

logger = logging.getLogger(__name__)

HEALTH_INTERVAL_MS = 10_000


class PlatformBridge(QObject):
    sig_starting = Signal()
    sig_started = Signal(object)  # Platform
    sig_start_failed = Signal(object)  # exception
    sig_health_changed = Signal(object)  # dict[str, Health]
    sig_event = Signal(object)  # core.events.Event

    def __init__(self, settings: Settings, sources: Mapping[str, str], tasks: TaskRunner) -> None:
        super().__init__()
        self.settings = settings
        self.sources = dict(sources)
        self.tasks = tasks
        self.platform: Platform | None = None
        self.error: BaseException | None = None
        self._start_task: asyncio.Task[Any] | None = None
        self._health_timer = QTimer(self)
        self._health_timer.setInterval(HEALTH_INTERVAL_MS)
        self._health_timer.timeout.connect(self.refresh_health)

    @property
    def state(self) -> str:
        if self.platform is not None and self.platform.running:
            return "running"
        if self.error is not None:
            return "failed"
        if self._start_task is not None and not self._start_task.done():
            return "starting"
        return "stopped"

    def start(self) -> asyncio.Task[Any]:
        self.sig_starting.emit()
        self._start_task = self.tasks.spawn(self._start(), on_error=self._failed)
        return self._start_task

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        module = await loop.run_in_executor(
            None, importlib.import_module, "auterity_desktop.platform"
        )
        platform: Platform = module.Platform(self.settings, self.sources)
        self.platform = platform
        await platform.start()
        platform.events.subscribe(ALL, self._forward_event)
        self.error = None
        self.sig_started.emit(platform)
        self._health_timer.start()
        await self._refresh_health()

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        logger.error("the platform failed to start", exc_info=exc)
        self.sig_start_failed.emit(exc)
        self.tasks.report_error(exc)

    def _forward_event(self, event: Event) -> None:
        self.sig_event.emit(event)
        if event.name == "team_connection_changed":
            # Health (the status bar's team indicator among it) is polled every few seconds;
            # a lost or regained team connection is worth showing at once.
            self.refresh_health()

    def refresh_health(self) -> None:
        if self.platform is not None and self.platform.running:
            self.tasks.spawn(self._refresh_health())

    async def _refresh_health(self) -> None:
        if self.platform is not None and self.platform.running:
            self.sig_health_changed.emit(await self.platform.health())

    async def stop(self) -> None:
        """Cancel a start still in progress, then clean up every service."""
        self._health_timer.stop()
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
            await asyncio.gather(self._start_task, return_exceptions=True)
        if self.platform is not None:
            await self.platform.stop()
