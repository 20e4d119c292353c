"""A consumer process killed with SIGKILL in the middle of handling messages loses none:
its claims run out, another consumer gets them, and every message is acked.

At-least-once: a message the killed process finished but had not yet acknowledged may be
handled twice; what must never happen is a message handled by nobody.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from auterity_desktop.services.messaging.message import Message
from auterity_desktop.services.security.principal import SYSTEM
from tests.services.conftest import Stack
from tests.services.messaging.conftest import new_queue

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("crash_consumer.py")
MESSAGES = 40


def log_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


async def wait_for(predicate: Callable[[], bool], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_killed_consumer_loses_no_message(stack: Stack, tmp_path: Path) -> None:
    mq = new_queue(stack, clock=time.time)
    await mq.initialize()
    try:
        await mq.declare_queue("jobs", "jobs.#", visibility_timeout=1.0)
        ids = [i for n in range(MESSAGES) for i in await mq.publish("jobs.run", {"n": n})]

        log = tmp_path / "child.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        url = stack.database.url.render_as_string(hide_password=False)
        with open(tmp_path / "child.out", "w") as out:
            child = await asyncio.create_subprocess_exec(
                sys.executable, str(CHILD), url, str(log), env=env, stdout=out, stderr=out
            )
        try:

            def busy_mid_message() -> bool:
                lines = log_lines(log)
                done = {line[1] for line in lines if line[0] == "done"}
                started = {line[1] for line in lines if line[0] == "start"}
                return len(done) >= 8 and bool(started - done)

            await wait_for(busy_mid_message, "the child to be handling messages")
            child.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(child.wait(), 30) == -signal.SIGKILL
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()

        lines = log_lines(log)
        started = {line[1] for line in lines if line[0] == "start"}
        finished = {line[1] for line in lines if line[0] == "done"}
        cut_off = started - finished
        assert cut_off, "the child was killed while handling messages"
        assert len(finished) < MESSAGES

        # the next consumer (here, in this process) picks up where the dead one stopped
        handled: dict[str, Message] = {}

        async def handle(message: Message) -> None:
            handled[message.id] = message

        subscription = await mq.subscribe("jobs.#", handle, queue="jobs", concurrency=8)

        async def empty() -> bool:
            config = await mq.queue("jobs")
            return config is not None and config.depth == 0

        deadline = time.monotonic() + 60
        while not await empty():
            assert time.monotonic() < deadline, "the queue never emptied"
            await asyncio.sleep(0.05)
        await subscription.stop()

        assert finished | set(handled) == set(ids)  # every message handled by someone
        for message_id in cut_off:  # the ones cut off came back after their timeout
            again = handled[message_id]
            assert again.deliveries >= 2
            assert again.history[-1]["outcome"] == "timeout"
        stats = await mq.stats(SYSTEM)
        assert stats.dead == 0 and stats.queues[0].depth == 0
    finally:
        await mq.cleanup()
