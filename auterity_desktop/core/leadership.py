"""``Leadership``: which of the processes sharing one database does a singleton job.

Consoles and workers pointed at one PostgreSQL database all run the same background
services, but some work (firing schedules) must be done by one of them. The leader is the
process holding a session-level advisory lock on one connection of its own. The server
releases such a lock as soon as the session ends — a clean close, a dropped network
connection, or the holder killed with SIGKILL (the kernel closes its socket) — so no lease
has to expire and no stale row has to be cleaned up: the next process to try takes over.

Leadership is a way to keep the others idle, not the guarantee against doing a job twice:
a leader cut off from the server keeps believing it leads until its next ``refresh``, while
the server may already have handed the lock to another process. Work that must happen once
protects itself in the database as well (the scheduler locks the trigger's row).

On SQLite every process is leader. A SQLite file is only shared by processes on one machine
(the console, a worker, the CLI), there is no session that outlives a crash in the same way
to hang a lock on, and the file's own single-writer transactions already serialise the
work that must happen once.

Behind a transaction-pooling proxy (PgBouncer in ``transaction`` mode) session locks do not
work; point the application at the server or at a session-mode pool.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from auterity_desktop.core.db import Database

logger = logging.getLogger(__name__)

# A statement on the lock's connection that takes longer than this means the connection is
# not usable (a half-open TCP connection can hang far longer): leadership is given up.
STATEMENT_TIMEOUT = 10.0


def lock_key(name: str) -> int:
    """The advisory lock key for ``name``: the same in every process and every release
    (Python's ``hash`` is salted per process), as a signed 64-bit int as PostgreSQL wants."""
    digest = hashlib.blake2b(f"auterity:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    def __init__(self, database: Database, name: str) -> None:
        self.database = database
        self.name = name
        self.key = lock_key(name)
        self._conn: AsyncConnection | None = None
        self._leader = False
        self._guard = asyncio.Lock()  # one refresh or close at a time on the connection

    @property
    def is_leader(self) -> bool:
        """As of the last ``refresh`` (see the module's note on why that can be stale)."""
        return self._leader

    @property
    def shared(self) -> bool:
        """Whether other machines can share the database, so a lock is needed at all."""
        return self.database.dialect == "postgresql"

    async def refresh(self) -> bool:
        """Check that the lock is still held, or try to take it; returns ``is_leader``.

        Never raises for a database problem: a broken connection only means this process
        is not the leader until a later try succeeds."""
        async with self._guard:
            if not self.shared:
                self._set(True)
                return True
            if self._conn is not None:
                if await self._alive(self._conn):
                    return True
                await self._drop()
            self._set(await self._try_lock())
            return self._leader

    async def close(self) -> None:
        """Give the lock up now, so another process need not wait for this one to exit."""
        async with self._guard:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                try:
                    await asyncio.wait_for(
                        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}),
                        STATEMENT_TIMEOUT,
                    )
                except Exception:  # closing the session below releases it as well
                    await self._discard(conn)
                else:
                    await conn.close()
            self._set(False)

    async def _try_lock(self) -> bool:
        try:
            conn = await asyncio.wait_for(self.database.engine.connect(), STATEMENT_TIMEOUT)
        except Exception as exc:
            logger.warning(
                "cannot reach the database to try for leadership",
                extra={"leadership": self.name, "error": str(exc)},
            )
            return False
        try:
            # Autocommit: the session holds the lock, and no transaction sits open on it.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = (
                await asyncio.wait_for(
                    conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}),
                    STATEMENT_TIMEOUT,
                )
            ).scalar()
        except Exception as exc:
            # The lock may have been granted before the failure: the session must end so it
            # is not handed back to the pool holding it.
            await self._discard(conn)
            logger.warning(
                "trying for leadership failed",
                extra={"leadership": self.name, "error": str(exc)},
            )
            return False
        if got:
            self._conn = conn
            return True
        await conn.close()  # not granted, so nothing is held: the pool may reuse it
        return False

    async def _alive(self, conn: AsyncConnection) -> bool:
        try:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), STATEMENT_TIMEOUT)
        except Exception as exc:
            logger.warning(
                "the leadership connection broke",
                extra={"leadership": self.name, "error": str(exc)},
            )
            return False
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._discard(conn)

    @staticmethod
    async def _discard(conn: AsyncConnection) -> None:
        """Close the session itself (not return it to the pool): that releases its lock."""
        try:
            await conn.invalidate()
            await conn.close()
        except Exception:
            logger.debug("closing a broken leadership connection failed", exc_info=True)

    def _set(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        logger.info(
            "became the leader" if leader else "no longer the leader",
            extra={"leadership": self.name, "database": self.database.description},
        )
