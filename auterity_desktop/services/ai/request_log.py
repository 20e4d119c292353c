"""One row per served request in ``ai_requests``, written off the request's path.

A request only appends its row to a list; a background task writes what gathered in one
transaction (``executemany``) a moment later, so a burst of calls costs one commit, not one
each, and no caller waits on the database. On a SQLite file the batch goes through the
database's own worker-thread engine (``Database.thread_engine``) at the driver level,
holding the in-process write lock: SQLite does the work with the GIL released, so it
overlaps with calls waiting on their providers, and the event loop is spared SQLAlchemy's
per-row parameter handling (about three times the cost of the insert itself).

Reads that must see every row (usage reports, statistics, budget re-reads) flush first. A
failed write keeps its rows and is tried again with growing pauses; past ``max_pending``
the oldest rows are dropped with a warning rather than letting memory grow while the
database is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import operator
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from auterity_desktop.core.db import Database
from auterity_desktop.services.ai.dispatch import decision_dict
from auterity_desktop.services.ai.models import AIRequestRow
from auterity_desktop.services.ai.types import RoutingDecision

logger = logging.getLogger(__name__)
T = TypeVar("T")
# "decision" last: the rest of a row is picked in one C call, the decision made JSON apart.
PLAIN = tuple(c.name for c in AIRequestRow.__table__.columns if c.name not in ("id", "decision"))
COLUMNS = (*PLAIN, "decision")
INSERT_QMARK = (
    f"INSERT INTO ai_requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
_plain = operator.itemgetter(*PLAIN)
_encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per row


def _decision(value: Any) -> dict[str, Any]:
    """Rows may carry the ``RoutingDecision`` itself: turning it into JSON is left to the
    writer, off the request's path."""
    return decision_dict(value) if isinstance(value, RoutingDecision) else value


def _write_sync(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """In a worker thread: one transaction, one ``executemany`` of plain tuples."""
    values = [(*_plain(row), _encode(_decision(row["decision"]))) for row in rows]
    with engine.begin() as conn:
        conn.exec_driver_sql(INSERT_QMARK, values)


class RequestLog:
    def __init__(
        self, database: Database, *, delay: float = 0.25, max_pending: int = 100_000
    ) -> None:
        self.database = database
        self.delay = delay
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._engine: Engine | None = None
        self._engine_known = False
        self._wake = asyncio.Event()
        self._closing = False
        self.written = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, row: dict[str, Any]) -> None:
        pending = self._pending
        pending.append(row)
        if len(pending) > self.max_pending:
            excess = len(pending) - self.max_pending
            del pending[:excess]
            if self.dropped == 0:
                logger.warning("AI request log is not being written; dropping old rows")
            self.dropped += excess
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        """Never cancelled mid-write (a statement cut off in aiosqlite's thread could
        leave the file locked): ``close`` wakes it and waits for it instead."""
        pause = self.delay
        try:
            while self._pending and not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)
                if self._closing:
                    break
                try:
                    await self.flush()
                    pause = self.delay
                except Exception:
                    logger.exception("writing AI request rows failed; retrying")
                    pause = min(max(pause * 2, 0.5), 30.0)
        finally:
            self._task = None

    async def flush(self) -> None:
        await self.sync(None, None)

    async def sync(
        self,
        on_take: Callable[[], None] | None,
        then: Callable[[AsyncConnection], Awaitable[T]] | None,
    ) -> T | None:
        """Write every pending row, calling ``on_take`` in the same step the rows are
        taken and ``then(conn)`` in the same transaction after they are written."""
        async with self._lock:
            rows, self._pending = self._pending, []
            if on_take is not None:
                on_take()
            if not rows and then is None:
                return None
            try:
                if rows:
                    await self._write(rows)
            except BaseException:
                self._pending[:0] = rows  # keep them, in order, for the next try
                raise
            self.written += len(rows)
            if then is None:
                return None
            async with self.database.engine.connect() as conn:
                return await then(conn)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        if not self._engine_known:
            self._engine = self.database.thread_engine()
            self._engine_known = True
        engine = self._engine
        if engine is None:  # PostgreSQL, or SQLite in memory
            prepared = [{**row, "decision": _decision(row["decision"])} for row in rows]
            async with self.database.begin() as conn:
                await conn.execute(insert(AIRequestRow), prepared)
            return
        async with self.database.write_lock:
            await asyncio.to_thread(_write_sync, engine, rows)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        try:
            task = self._task
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            await self.flush()
        except Exception:
            logger.exception("AI request rows could not be written at shutdown")
        finally:
            self._closing = False
            self._wake.clear()
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._engine_known = None, False
