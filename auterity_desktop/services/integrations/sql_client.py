"""Querying a SQL database (PostgreSQL, MySQL/MariaDB, SQLite) with bound parameters only:
values never become part of the statement text, so data cannot turn into SQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auterity_desktop.core.errors import ErrorCode, ServiceError

DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "sqlite": "sqlite+aiosqlite",
}
MAX_ROWS = 10_000


def engine_url(url: str, password: str | None) -> Any:
    """The SQLAlchemy URL with the async driver and the keyring's password put in."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"{url!r} is not a database URL", {"url": url}
        ) from None
    backend = parsed.get_backend_name()
    if backend not in DRIVERS:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"Databases of type {backend!r} are not supported (use PostgreSQL, MySQL or SQLite)",
            {"url": url},
        )
    parsed = parsed.set(drivername=DRIVERS[backend])
    if password:
        parsed = parsed.set(password=password)
    return parsed


class SqlClient:
    def __init__(
        self, config: dict[str, Any], secrets: dict[str, str], *, max_connections: int = 100
    ) -> None:
        self.url = engine_url(str(config["url"]), secrets.get("password"))
        self.timeout = float(config.get("timeout") or 30)
        size = max(1, min(int(config.get("pool_size") or 5), max_connections))
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.url.get_backend_name() != "sqlite":
            options.update(pool_size=size, max_overflow=0, pool_timeout=self.timeout)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)

    async def close(self) -> None:
        await self.engine.dispose()

    def _describe(self, exc: BaseException) -> ServiceError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        where = self.url.render_as_string(hide_password=True)
        code = ErrorCode.INVALID_INPUT
        if isinstance(exc, OSError | ConnectionError) or "connect" in reason.lower():
            code = ErrorCode.SERVICE_UNAVAILABLE
        if "password" in reason.lower() or "authentication" in reason.lower():
            code = ErrorCode.UNAUTHENTICATED
        return ServiceError(code, f"{where}: {reason}", {"database": where})

    async def query(self, sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one statement; rows come back as records (at most ``MAX_ROWS``)."""
        if not isinstance(sql, str) or not sql.strip():
            raise ServiceError(ErrorCode.INVALID_INPUT, "The query is empty", {})
        if params is not None and not isinstance(params, dict):
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "Query parameters must be an object of names", {}
            )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                async with self.engine.begin() as conn:
                    result = await conn.execute(text(sql), params or {})
                    if result.returns_rows:
                        rows = result.mappings().fetchmany(MAX_ROWS + 1)
                        records = [dict(r) for r in rows[:MAX_ROWS]]
                        truncated = len(rows) > MAX_ROWS
                    else:
                        records, truncated = [], False
                    affected = result.rowcount if not result.returns_rows else len(records)
        except TimeoutError:
            raise ServiceError(
                ErrorCode.TIMEOUT, f"The query took longer than {self.timeout:g} s", {}
            ) from None
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            raise self._describe(exc) from None
        return {
            "rows": records,
            "row_count": affected,
            "truncated": truncated,
            "latency": time.perf_counter() - started,
        }

    async def ping(self) -> float:
        started = time.perf_counter()
        await self.query("SELECT 1")
        return time.perf_counter() - started
