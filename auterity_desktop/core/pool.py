"""An async pool of reusable connections with a hard upper bound and a wait timeout.

Integrations share scarce connections (``MAX_CONNECTIONS``); a caller that cannot get one
within ``timeout`` seconds gets ``POOL_EXHAUSTED`` instead of waiting forever, which is what
lets the circuit breaker and retry logic above it make a decision.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class PoolStats:
    size: int
    in_use: int
    idle: int
    waiting: int
    max_size: int


class ConnectionPool(Generic[T]):
    """``ConnectionPool(create, min_size=5, max_size=20, timeout=30)``.

    ``create`` opens a connection, ``close`` (optional) closes one, and ``validate``
    (optional) checks an idle connection before it is handed out again.
    """

    def __init__(
        self,
        create: Callable[[], Awaitable[T]],
        *,
        close: Callable[[T], Awaitable[None]] | None = None,
        validate: Callable[[T], Awaitable[bool]] | None = None,
        min_size: int = 5,
        max_size: int = 20,
        timeout: float = 30.0,
        name: str = "pool",
    ) -> None:
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "pool sizes must satisfy 0 ≤ min_size ≤ max_size and max_size ≥ 1",
                {"min_size": min_size, "max_size": max_size},
            )
        if timeout <= 0:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "pool timeout must be positive", {"timeout": timeout}
            )
        self._create = create
        self._close = close
        self._validate = validate
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.name = name
        self._idle: deque[T] = deque()
        self._in_use: set[int] = set()
        self._slots = asyncio.Semaphore(max_size)
        self._waiting = 0
        self._closed = False

    @property
    def stats(self) -> PoolStats:
        in_use = len(self._in_use)
        return PoolStats(
            in_use + len(self._idle), in_use, len(self._idle), self._waiting, self.max_size
        )

    async def open(self) -> None:
        """Pre-create ``min_size`` idle connections."""
        while len(self._idle) + len(self._in_use) < self.min_size:
            self._idle.append(await self._create())

    async def acquire(self) -> T:
        if self._closed:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, f"{self.name} is closed", {"pool": self.name}
            )
        self._waiting += 1
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceError(
                ErrorCode.POOL_EXHAUSTED,
                f"No connection in {self.name} became free within {self.timeout:g} s",
                {
                    "pool": self.name,
                    "max_size": self.max_size,
                    "timeout": self.timeout,
                    "in_use": len(self._in_use),
                },
            ) from None
        finally:
            self._waiting -= 1
        try:
            conn = await self._checkout()
        except BaseException:
            self._slots.release()
            raise
        self._in_use.add(id(conn))
        return conn

    async def _checkout(self) -> T:
        while self._idle:
            conn = self._idle.popleft()
            if self._validate is None or await self._safe_validate(conn):
                return conn
            await self._discard(conn)
        return await self._create()

    async def _safe_validate(self, conn: T) -> bool:
        assert self._validate is not None
        try:
            return await self._validate(conn)
        except Exception:
            return False

    async def release(self, conn: T, *, discard: bool = False) -> None:
        """Return a connection; ``discard=True`` closes it (use after a broken connection)."""
        if id(conn) not in self._in_use:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"connection was not acquired from {self.name}",
                {"pool": self.name},
            )
        self._in_use.discard(id(conn))
        try:
            if discard or self._closed:
                await self._discard(conn)
            else:
                self._idle.append(conn)
        finally:
            self._slots.release()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[T]:
        """``async with pool.connection() as conn``: broken on error, reused otherwise."""
        conn = await self.acquire()
        try:
            yield conn
        except BaseException:
            await self.release(conn, discard=True)
            raise
        else:
            await self.release(conn)

    async def _discard(self, conn: T) -> None:
        if self._close is None:
            return
        try:
            await self._close(conn)
        except Exception:
            logger.warning(
                "closing a pooled connection failed", extra={"pool": self.name}, exc_info=True
            )

    async def close(self) -> None:
        """Close idle connections now; busy ones are closed when released."""
        self._closed = True
        while self._idle:
            await self._discard(self._idle.popleft())
