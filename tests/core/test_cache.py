from __future__ import annotations

import asyncio

import pytest

from auterity_desktop.core.cache import CacheService
from auterity_desktop.core.errors import ErrorCode, ServiceError
from tests.fakes import FakeClock


async def test_concurrent_misses_call_the_getter_once() -> None:
    cache = CacheService()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "value"

    waiters = [asyncio.create_task(cache.get_or_set("k", fetch, ttl=60)) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert calls == 1
    release.set()
    results = await asyncio.gather(*waiters)
    assert results == ["value"] * 50
    assert calls == 1
    assert await cache.get_or_set("k", fetch) == "value"
    assert calls == 1
    assert cache.misses == 1


async def test_getter_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = CacheService()
    attempts = 0
    gate = asyncio.Event()

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        await gate.wait()
        if attempts == 1:
            raise ConnectionError("down")
        return 42

    tasks = [asyncio.create_task(cache.get_or_set("k", flaky)) for _ in range(5)]
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert attempts == 1
    assert await cache.get_or_set("k", flaky) == 42
    assert attempts == 2


async def test_cancelled_leader_does_not_fail_the_waiters() -> None:
    cache = CacheService()
    gate = asyncio.Event()
    calls = 0

    async def slow() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "done"

    leader = asyncio.create_task(cache.get_or_set("k", slow))
    await asyncio.sleep(0)
    follower = asyncio.create_task(cache.get_or_set("k", slow))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    assert await follower == "done"
    assert calls == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_ttl_expiry_and_lru_eviction() -> None:
    clock = FakeClock()
    cache = CacheService(max_size=2, default_ttl=10, clock=clock)
    await cache.set("a", 1)
    await cache.set("b", 2)
    assert await cache.get("a") == 1  # a is now most recently used
    await cache.set("c", 3)  # evicts b
    assert await cache.get("b") is None
    assert await cache.get("a") == 1
    assert cache.evictions == 1
    clock.now = 10.0
    assert await cache.get("a", "gone") == "gone"
    await cache.set("forever", 1, ttl=None)
    assert len(cache) <= 2


async def test_get_or_set_ttl_starts_after_the_getter_returns() -> None:
    clock = FakeClock()
    cache = CacheService(clock=clock)

    async def slow_getter() -> str:
        clock.now += 100  # the getter itself takes 100 s
        return "v"

    await cache.get_or_set("k", slow_getter, ttl=50)
    clock.now += 49
    assert await cache.get("k") == "v"


async def test_bad_arguments() -> None:
    with pytest.raises(ServiceError) as info:
        CacheService(max_size=0)
    assert info.value.code is ErrorCode.INVALID_INPUT
    cache = CacheService()

    async def getter() -> int:
        raise AssertionError("must not run")

    with pytest.raises(ServiceError):
        await cache.get_or_set("k", getter, ttl=-1)
    assert await cache.delete("missing") is False
