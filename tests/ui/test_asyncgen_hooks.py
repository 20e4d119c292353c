"""qasync's loop does not install asyncio's async-generator hooks; the app and the tests do,
so a generator abandoned mid-way (httpx's line iterator after a streamed model reply) is
closed by a task on the loop rather than synchronously outside any task."""

from __future__ import annotations

import asyncio
import gc

import qasync


def test_an_abandoned_async_generator_is_closed_by_a_task_on_the_loop(
    qloop: qasync.QEventLoop,
) -> None:
    closed: list[bool] = []

    async def numbers() -> object:
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)  # cleanup that awaits, as httpx's does
            closed.append(asyncio.current_task() is not None)

    async def take_one() -> None:
        generator = numbers()
        async for _ in generator:  # type: ignore[attr-defined]
            break
        del generator
        gc.collect()
        await asyncio.sleep(0.05)

    qloop.run_until_complete(take_one())
    assert closed == [True]
