"""Group commit for run and node state.

Every node transition must be durable before anything depends on it, but one transaction
per transition caps throughput at the database's commit rate. Writers hand their change to
this queue and await it; everything queued while a commit is in progress goes into the next
single transaction. Each caller still returns only after its own change is committed.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.sql import Executable

from auterity_desktop.core.db import Database


class StateWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[tuple[list[Executable], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0

    async def write(self, *statements: Executable) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((list(statements), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        await future

    async def _flush_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.database.begin() as conn:
                    for statements, _ in batch:
                        for statement in statements:
                            await conn.execute(statement)
            except BaseException as exc:  # every waiter of this batch learns of the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                        )
                if not isinstance(exc, Exception):
                    raise
                continue
            self.commits += 1
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
