"""``CacheService.get_or_set``: an async LRU cache with TTL and single-flight misses.

When many callers miss the same key at once (a dashboard refresh fanning out, say), only
the first one runs the getter; the others await its result. A getter that fails caches
nothing and every waiter sees the same error, so a transient failure is retried by the next
caller rather than remembered.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.service import BaseService, Health, HealthState

T = TypeVar("T")
_MISSING = object()


class CacheService(BaseService):
    name = "cache"

    def __init__(
        self,
        max_size: int = 1000,
        default_ttl: float | None = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if max_size < 1:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "cache size must be at least 1", {"max_size": max_size}
            )
        self.max_size = max_size
        self.default_ttl = default_ttl
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[Any, float | None]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _expiry(self, ttl: float | None) -> float | None:
        ttl = self.default_ttl if ttl is None else ttl
        if ttl is None:
            return None
        if ttl <= 0:
            raise ServiceError(ErrorCode.INVALID_INPUT, "ttl must be positive", {"ttl": ttl})
        return self._clock() + ttl

    def _lookup(self, key: Hashable) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return _MISSING
        value, expires = entry
        if expires is not None and self._clock() >= expires:
            del self._entries[key]
            return _MISSING
        self._entries.move_to_end(key)
        return value

    async def get(self, key: Hashable, default: Any = None) -> Any:
        value = self._lookup(key)
        return default if value is _MISSING else value

    async def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        self._store(key, value, self._expiry(ttl))

    def _store(self, key: Hashable, value: Any, expires: float | None) -> None:
        self._entries[key] = (value, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)
            self.evictions += 1

    async def delete(self, key: Hashable) -> bool:
        return self._entries.pop(key, _MISSING) is not _MISSING

    async def clear(self) -> None:
        self._entries.clear()

    async def get_or_set(
        self, key: Hashable, getter: Callable[[], Awaitable[T]], ttl: float | None = None
    ) -> T:
        self._expiry(ttl)  # reject a bad ttl before doing any work
        while True:
            value = self._lookup(key)
            if value is not _MISSING:
                self.hits += 1
                return value  # type: ignore[no-any-return]
            inflight = self._inflight.get(key)
            if inflight is None:
                return await self._compute(key, getter, ttl)
            try:
                # shield: a waiter being cancelled must not cancel the shared computation
                result = await asyncio.shield(inflight)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if inflight.cancelled() and not (task and task.cancelling()):
                    continue  # the leader was cancelled, not us: compute it ourselves
                raise
            self.hits += 1
            return result  # type: ignore[no-any-return]

    async def _compute(
        self, key: Hashable, getter: Callable[[], Awaitable[T]], ttl: float | None
    ) -> T:
        self.misses += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await getter()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: no "never retrieved" warning without waiters
            raise
        else:
            self._store(key, result, self._expiry(ttl))
            future.set_result(result)
            return result
        finally:
            self._inflight.pop(key, None)

    async def cleanup(self) -> None:
        self._entries.clear()

    async def health(self) -> Health:
        if not self.started:
            return await super().health()
        return Health(
            HealthState.OK,
            f"{len(self._entries)}/{self.max_size} entries",
            {"hits": self.hits, "misses": self.misses, "evictions": self.evictions},
        )
