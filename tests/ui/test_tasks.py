"""The window's task runner: work spawned while it shuts down never starts."""

from __future__ import annotations

import asyncio
from typing import Any

from auterity_desktop.ui.tasks import TaskRunner


def test_work_spawned_during_shutdown_never_runs(qloop: Any) -> None:
    errors: list[BaseException] = []
    runner = TaskRunner(errors.append)
    ran: list[str] = []

    async def work(name: str) -> None:
        ran.append(name)
        await asyncio.sleep(0.01)

    async def scenario() -> asyncio.Task[Any]:
        runner.spawn(work("before"))
        closing = asyncio.ensure_future(runner.shutdown())
        await asyncio.sleep(0)  # shutdown has begun and waits for "before"
        late = runner.spawn(work("late"))  # e.g. a refresh timer firing now
        await closing
        return late

    late = qloop.run_until_complete(scenario())
    assert ran == ["before"]
    assert late.cancelled() and runner.active == 0 and errors == []
