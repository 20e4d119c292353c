"""A task left suspended at shutdown is cancelled while the loop runs, so the database
connection it holds goes back to the pool instead of being torn down by the collector."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from auterity_desktop.ui.leftover_tasks import cancel_leftover_tasks


async def test_leftover_task_is_cancelled_and_returns_its_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'left.db'}")
    holding = asyncio.Event()
    cleaned: list[str] = []

    async def lost_its_waker() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
            holding.set()
            try:
                await asyncio.get_running_loop().create_future()  # never resolved
            finally:
                cleaned.append("ran")

    task = asyncio.create_task(lost_its_waker(), name="orphan")
    await holding.wait()
    assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING):
        described = await cancel_leftover_tasks(grace=2.0)
    assert task.cancelled() and cleaned == ["ran"]
    assert len(described) == 1 and described[0].startswith("orphan ")
    assert "lost_its_waker" in described[0] and "test_leftover_tasks.py" in described[0]
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert "1 task(s) left at shutdown" in caplog.text
    await engine.dispose()


async def test_nothing_left_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert await cancel_leftover_tasks() == []
    assert not caplog.text
