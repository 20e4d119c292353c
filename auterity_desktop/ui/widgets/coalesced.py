"""One reload at a time: requests made while it runs make it run once more, not N times.

Live views get bursts of reasons to reload (every node of a run starting and finishing, a
poll tick, the user pressing F5). Each request while a load is in flight just marks it
dirty; when the load ends, one more runs and picks up everything that changed meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject

from auterity_desktop.ui.pages.service_page import ServicePage


class Coalesced(QObject):
    """Runs one coroutine factory at a time; calls while it runs make it run once more."""

    def __init__(
        self,
        page: ServicePage,
        factory: Callable[[], Coroutine[Any, Any, Any]],
    ) -> None:
        super().__init__(page)
        self._page = page
        self._factory = factory
        self._task: asyncio.Task[Any] | None = None
        self._again = False

    @property
    def busy(self) -> bool:
        return self._task is not None

    def __call__(self) -> asyncio.Task[Any] | None:
        if self._task is not None:
            self._again = True
            return self._task
        self._again = False
        self._task = self._page.context.tasks.spawn(
            self._factory(), on_done=self._finished, on_error=self._failed
        )
        return self._task

    def _finished(self, _result: Any) -> None:
        self._task = None
        if self._again:
            self()

    def _failed(self, exc: BaseException) -> None:
        self._task = None
        self._page.failed(exc)
