"""A message queue over the shared service stack (SQLite by default; ``any_stack`` runs
on PostgreSQL too), with a hand-moved clock so delays, timeouts and expiry need no sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from auterity_desktop.services.messaging.queue import MessageQueue
from tests.services.conftest import Stack, build_stack, close_stack


def new_queue(stack: Stack, **options: Any) -> MessageQueue:
    """A service as another process (or the next start) would build it."""
    options.setdefault("sweep_interval", 0)
    options.setdefault("clock", stack.clock)
    return MessageQueue(stack.database, stack.audit, stack.security.authz, stack.events, **options)


@pytest.fixture
async def mq(stack: Stack) -> AsyncIterator[MessageQueue]:
    service = new_queue(stack)
    await service.initialize()
    yield service
    await service.cleanup()


@pytest.fixture
async def any_stack(any_database_url: str) -> AsyncIterator[Stack]:
    built = await build_stack(any_database_url)
    try:
        yield built
    finally:
        await close_stack(built)


@pytest.fixture
async def any_mq(any_stack: Stack) -> AsyncIterator[MessageQueue]:
    service = new_queue(any_stack)
    await service.initialize()
    yield service
    await service.cleanup()
