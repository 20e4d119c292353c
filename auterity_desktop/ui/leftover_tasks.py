"""Cancels the tasks still pending on the loop once every service has stopped.

Services and the task runner stop their own work, but a task nobody owns (a handler a
library spawned, a step that lost its waker) would otherwise stay suspended when the loop
closes. The garbage collector then closes its coroutine with no loop to run the cleanup, so
a database connection it held is torn down unreturned ("non-checked-in connection"). This
does what ``asyncio.run`` does on exit: cancel them and let their cleanup run while the loop
still runs, and name them in the log so the owner can be fixed.
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


def describe(task: asyncio.Task[object]) -> str:
    """The task's name and where it is suspended (innermost frame)."""
    frames = task.get_stack()
    where = f" at {frames[-1].f_code.co_filename}:{frames[-1].f_lineno}" if frames else ""
    return f"{task.get_name()} {task.get_coro()!r}{where}"


async def cancel_leftover_tasks(grace: float = 5.0) -> list[str]:
    """Cancel every other pending task of the running loop and wait up to ``grace`` seconds
    for them to finish; returns their descriptions (empty when nothing was left)."""
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if not leftover:
        return []
    described = [describe(task) for task in leftover]
    logger.warning("cancelling %d task(s) left at shutdown: %s", len(leftover), described)
    for task in leftover:
        task.cancel()
    await asyncio.wait(leftover, timeout=grace)
    for task in leftover:  # retrieve outcomes so none is reported as never retrieved
        if task.done() and not task.cancelled():
            task.exception()
    return described
