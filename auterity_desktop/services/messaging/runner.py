"""How the queue talks to the database: whole transactions as plain functions.

The queue's writes are batches of small statements. Through the async SQLite driver each
statement crosses to the driver's thread and back (several times, with the result), and
while the event loop is busy those crossings wait for the GIL — measured, they cost far more
than the statements. So on a SQLite file a transaction is one function run in one worker
thread on a synchronous connection with the same settings: one crossing per batch. The
process's SQLite write queue (``Database.write_lock``) is held meanwhile, so the batch waits
its turn with every other writer of this process instead of spinning on SQLite's lock.

On PostgreSQL (and in-memory SQLite) the same function runs through the async driver with
``run_sync``: there the round trip is the network's, and asyncpg pays it once per statement
whatever the thread.

Every write transaction takes the write lock at its start (``BEGIN IMMEDIATE`` on SQLite),
so what it reads cannot change under it before it writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError

T = TypeVar("T")


class Runner:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._engine: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._checked = False
        self._closed = False

    def open(self) -> None:
        self._closed = False

    def _threaded(self) -> bool:
        if self._closed:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, "The message queue is not running", {}
            )
        if not self._checked:
            self._engine = self.database.thread_engine()
            if self._engine is not None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="message-queue")
            self._checked = True
        return self._engine is not None

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` in a write transaction; committed when it returns."""
        try:
            if self._threaded():
                async with self.database.write_lock:
                    loop = asyncio.get_running_loop()
                    return await loop.run_in_executor(self._thread, self._write, work)
            async with self.database.begin() as conn:
                if self.database.dialect == "sqlite":
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                return await conn.run_sync(work)
        except DBAPIError as exc:  # the driver's; SQLAlchemy's own errors are bugs: let them be
            raise database_error(exc) from None

    def _write(self, work: Callable[[Connection], T]) -> T:
        assert self._engine is not None
        with self._engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return result

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` on a connection of the database's own pool (no lock)."""
        try:
            async with self.database.engine.connect() as conn:
                return await conn.run_sync(work)
        except DBAPIError as exc:
            raise database_error(exc) from None

    async def close(self) -> None:
        """Wait for the worker thread and close its connections."""
        if self._thread is not None:
            # Let the worker finish what it has (in order), then join it: idle, that is
            # immediate. Not through the loop's default executor: under qasync that is a
            # QThread, which would leave a foreign thread behind in ``threading``.
            await asyncio.get_running_loop().run_in_executor(self._thread, _idle)
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._checked = False
        self._closed = True


def _idle() -> None:
    """Nothing: queued behind the worker's last job, it returns when that one is done."""


def database_error(exc: BaseException) -> ServiceError:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return ServiceError(ErrorCode.DATABASE_ERROR, f"The message queue's database: {reason}", {})
