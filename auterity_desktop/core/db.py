"""The database: an async SQLAlchemy engine, sessions and schema migrations.

SQLite (the default, in the data directory) runs in WAL mode with foreign keys on and a busy
timeout, so the GUI, a background job and the CLI can share the file. PostgreSQL is chosen by
URL for team mode. Migrations run on start; a database whose schema is newer than this code
is refused rather than risked, because an older build could silently corrupt it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.orm import AppMeta
from auterity_desktop.core.service import BaseService, Health, HealthState

SQLITE_BUSY_TIMEOUT_MS = 5000
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def normalise_url(url: str | URL) -> URL:
    """Parse a user's URL and pick the async driver (``postgresql://`` → asyncpg)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError as exc:
        raise ServiceError(ErrorCode.INVALID_INPUT, f"Not a database URL: {exc}", {}) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"Unsupported database {backend!r}; use SQLite or PostgreSQL",
            {"backend": backend},
        )
    # Only an explicitly named async driver is kept; the sync defaults are swapped out.
    driver = parsed.drivername.partition("+")[2]
    if driver not in ("aiosqlite", "asyncpg", "psycopg"):
        driver = _ASYNC_DRIVERS[backend]
    return parsed.set(drivername=f"{backend}+{driver}")


def describe_url(url: URL) -> str:
    """A human label without the password: 'SQLite · /path' or 'PostgreSQL · host:5432/db'."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite · {url.database or 'in memory'}"
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL · {host}{port}/{url.database or ''}"


def migrations_config() -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("auterity_desktop.core") / "migrations")
    )
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(migrations_config()).get_current_head()
    assert head is not None
    return head


class Database(BaseService):
    name = "database"

    def __init__(self, url: str | URL, *, migrate: bool = True, echo: bool = False) -> None:
        super().__init__()
        self.url = normalise_url(url)
        self.migrate = migrate
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        # SQLite has one writer at a time and makes a waiting connection sleep and poll;
        # queueing this process's hot write paths here instead keeps that latency away.
        self._write_lock = asyncio.Lock()

    # -- properties -------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def description(self) -> str:
        return describe_url(self.url)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "The database is not open", {})
        return self._engine

    # -- lifecycle --------------------------------------------------------------------
    def _create_engine(self) -> AsyncEngine:
        kwargs: dict[str, Any] = {"echo": self._echo, "pool_pre_ping": self.dialect != "sqlite"}
        if self.dialect == "sqlite":
            path = self.url.database
            if path and path != ":memory:":
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise ServiceError(
                        ErrorCode.DATABASE_ERROR,
                        f"Cannot create the database folder {Path(path).parent}: {exc.strerror}",
                        {"path": path},
                    ) from None
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["connect_args"] = {"timeout": 10}
        engine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine

    async def initialize(self) -> None:
        self._engine = self._create_engine()
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            raise self._connection_error(exc) from None
        await self.check_schema_version()
        if self.migrate:
            await self.upgrade()

    def _connection_error(self, exc: BaseException) -> ServiceError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return ServiceError(
            ErrorCode.DATABASE_ERROR,
            f"Cannot open the database ({self.description}): {reason}",
            {"database": self.description},
        )

    async def cleanup(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    async def health(self) -> Health:
        if self._engine is None:
            return Health(HealthState.STOPPED, "database is closed")
        started = time.perf_counter()
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            return Health(HealthState.DOWN, self._connection_error(exc).message)
        latency = time.perf_counter() - started
        return Health(HealthState.OK, self.description, {"latency_seconds": latency})

    @property
    def write_lock(self) -> asyncio.Lock:
        """The in-process queue of SQLite writers that ``begin`` joins; writers with a
        connection of their own (see ``thread_engine``) hold it while they write."""
        return self._write_lock

    def thread_engine(self) -> Engine | None:
        """A synchronous engine on the same SQLite file with the same settings, for batched
        work run in one worker thread (through the async driver every statement crosses
        threads, which dominates small statements). ``None`` for PostgreSQL and in-memory
        SQLite, which such callers reach through ``begin`` and ``run_sync`` instead."""
        if self.dialect != "sqlite" or self.url.database in (None, "", ":memory:"):
            return None
        engine = create_engine(
            self.url.set(drivername="sqlite"),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    # -- sessions ---------------------------------------------------------------------
    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a connection, queued in-process on SQLite."""
        if self.dialect != "sqlite":
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        if self._sessions is None:
            raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "The database is not open", {})
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    # -- schema -----------------------------------------------------------------------
    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current_revision)

    async def check_schema_version(self) -> None:
        current = await self.current_revision()
        if current is None:
            return
        try:
            ScriptDirectory.from_config(migrations_config()).get_revision(current)
        except CommandError:
            raise ServiceError(
                ErrorCode.DATABASE_TOO_NEW,
                f"The database ({self.description}) has schema version {current}, which this "
                f"version of Auterity Desktop does not know; it was written by a newer release. "
                f"Upgrade Auterity Desktop to open it.",
                {"database_revision": current, "code_head": head_revision()},
            ) from None

    async def upgrade(self) -> str:
        """Apply pending migrations; returns the revision the database is now at."""
        await self.check_schema_version()
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(_upgrade)
                await _record_instance(conn)
        except (OSError, DBAPIError, OperationalError) as exc:
            raise ServiceError(
                ErrorCode.DATABASE_ERROR,
                f"Migrating the database failed: {str(getattr(exc, 'orig', exc)).strip()}",
                {"database": self.description},
            ) from None
        revision = await self.current_revision()
        assert revision is not None
        return revision

    async def instance_id(self) -> str | None:
        async with self.session() as session:
            row = await session.get(AppMeta, "instance_id")
            return row.value if row else None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _current_revision(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    return heads[0] if heads else None


def _upgrade(conn: Connection) -> None:
    cfg = migrations_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def _record_instance(conn: Any) -> None:
    """Give a new database an instance id (shown in About, used by team mode)."""
    existing = (
        await conn.execute(select(AppMeta.value).where(AppMeta.key == "instance_id"))
    ).first()
    if existing is None:
        now = datetime.now(UTC)
        await conn.execute(
            insert(AppMeta),
            [
                {"key": "instance_id", "value": uuid.uuid4().hex, "updated_at": now},
                {"key": "created_at", "value": now.isoformat(), "updated_at": now},
            ],
        )
