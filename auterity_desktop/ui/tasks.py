"""Runs coroutines for widgets on the qasync loop and keeps track of them.

Qt signals cannot await, and qasync's ``asyncSlot`` does not work for closures or
argument-less signals, so widgets call ``tasks.spawn(coro)`` instead. Failures go to the
crash handler instead of vanishing in an unobserved task, and ``shutdown`` cancels what is
still running when the window closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject


class TaskRunner(QObject):
    def __init__(self, on_error: Callable[[BaseException], Any]) -> None:
        super().__init__()
        self._on_error = on_error
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def report_error(self, exc: BaseException) -> None:
        """Show an error through the same channel as failed tasks."""
        self._on_error(exc)

    @property
    def active(self) -> int:
        return len(self._tasks)

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        on_done: Callable[[Any], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        if self._closed:
            # A timer or a late signal while the window closes: the services under the
            # work are stopping, so it must not start (cancelled before its first step, the
            # coroutine never runs and leaves nothing half-open).
            task.cancel()
            return task
        self._tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                (on_error or self._on_error)(exc)
            elif on_done is not None:
                on_done(t.result())

        task.add_done_callback(finished)
        return task

    async def shutdown(self, grace: float = 5.0) -> None:
        """Let running work finish (cancelling a database call midway leaves connections
        half-closed), then cancel whatever is still running after ``grace`` seconds. Work
        spawned from now on is refused."""
        self._closed = True
        tasks = list(self._tasks)
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
