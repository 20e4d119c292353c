"""Group commit for run and node state.

Every node transition must be durable before anything depends on it, but one transaction
per transition caps throughput at the database's commit rate, and one driver round trip per
statement caps it again. Writers hand their change to this queue as a prepared statement
plus its parameters and await it; everything queued while a commit is in progress goes into
the next single transaction, where the changes of one statement are sent together
(``executemany``). Each caller still returns only after its own change is committed.

Grouping reorders changes across statements, which is safe because one batch never holds
two changes to the same row: every writer awaits its own change before making the next, and
the statements of one ``write`` call run in the order given.

A batch that fails because the database went away (a PostgreSQL restart, a dropped
connection, a locked SQLite file) is tried again with backoff for up to ``RETRY_FOR``
seconds rather than failing the runs it belongs to: their state is only ever written
from here, so losing a batch would leave runs that nobody drives. Changes are updates of
a row to a given state, which can be applied twice; only an insert whose commit went
through unseen could fail on retry, and it then fails as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.sql import Executable

from auterity_desktop.core.db import Database

Change = tuple[Executable, dict[str, Any]]
RETRY_FOR = 60.0
logger = logging.getLogger(__name__)


# PostgreSQL's SQLSTATEs for "not now": class 08 (the connection failed or was lost) and the
# server shutting down, crashed or still starting up. asyncpg's errors carry no
# OperationalError type for these: while a restarted server replays its log, a connection
# gets 57P03 "the database system is starting up".
TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def transient(exc: BaseException) -> bool:
    """The database was unreachable or busy, not the change wrong."""
    if isinstance(exc, OSError | ConnectionError | InterfaceError | OperationalError):
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(orig, OSError | ConnectionError)
    ):
        return True
    return str(getattr(orig, "sqlstate", None) or "").startswith(TRANSIENT_SQLSTATES)


class StateWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[tuple[tuple[Change, ...], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0

    async def write(self, *changes: Change) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((changes, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        await future

    async def _flush_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            groups: dict[Executable, list[dict[str, Any]]] = {}
            for changes, _ in batch:
                for statement, params in changes:
                    groups.setdefault(statement, []).append(params)
            try:
                await self._commit(groups)
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

    async def _commit(self, groups: dict[Executable, list[dict[str, Any]]]) -> None:
        deadline = time.monotonic() + RETRY_FOR
        delay = 0.1
        while True:
            try:
                async with self.database.begin() as conn:
                    for statement, rows in groups.items():
                        await conn.execute(statement, rows if len(rows) > 1 else rows[0])
                return
            except Exception as exc:
                if not transient(exc) or time.monotonic() + delay > deadline:
                    raise
                logger.warning(
                    "run state could not be written; trying again",
                    extra={"error": str(exc)[:200], "retry_in": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
