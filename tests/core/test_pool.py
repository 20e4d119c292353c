from __future__ import annotations

import asyncio
import itertools

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.pool import ConnectionPool


class Conn:
    ids = itertools.count(1)

    def __init__(self) -> None:
        self.id = next(self.ids)
        self.closed = False


async def create() -> Conn:
    return Conn()


async def close(conn: Conn) -> None:
    conn.closed = True


async def test_exhausted_pool_times_out_with_service_error() -> None:
    pool: ConnectionPool[Conn] = ConnectionPool(
        create, close=close, min_size=0, max_size=2, timeout=0.05
    )
    a = await pool.acquire()
    b = await pool.acquire()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ServiceError) as info:
        await pool.acquire()
    waited = loop.time() - started
    assert info.value.code is ErrorCode.POOL_EXHAUSTED
    assert info.value.details["max_size"] == 2
    assert info.value.details["in_use"] == 2
    assert waited >= 0.04  # it did wait for the timeout, it did not fail at once
    assert pool.stats.waiting == 0
    await pool.release(a)
    c = await pool.acquire()
    assert c is a  # reused
    await pool.release(b)
    await pool.release(c)
    await pool.close()
    assert a.closed and b.closed


async def test_waiter_gets_a_connection_when_one_is_released() -> None:
    pool: ConnectionPool[Conn] = ConnectionPool(create, min_size=0, max_size=1, timeout=2)
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    assert pool.stats.waiting == 1
    await pool.release(held)
    assert await waiter is held


async def test_min_size_prefill_and_stats() -> None:
    pool: ConnectionPool[Conn] = ConnectionPool(create, min_size=3, max_size=5, timeout=1)
    await pool.open()
    assert pool.stats.idle == 3 and pool.stats.size == 3
    async with pool.connection():
        assert pool.stats.in_use == 1 and pool.stats.idle == 2


async def test_broken_connections_are_discarded() -> None:
    pool: ConnectionPool[Conn] = ConnectionPool(
        create, close=close, min_size=0, max_size=1, timeout=1
    )
    with pytest.raises(RuntimeError):
        async with pool.connection() as conn:
            raise RuntimeError("socket reset")
    assert conn.closed
    async with pool.connection() as fresh:
        assert fresh is not conn


async def test_invalid_idle_connections_are_replaced() -> None:
    async def validate(conn: Conn) -> bool:
        return not conn.closed

    pool: ConnectionPool[Conn] = ConnectionPool(
        create, validate=validate, min_size=0, max_size=1, timeout=1
    )
    first = await pool.acquire()
    await pool.release(first)
    first.closed = True  # the server dropped it while idle
    second = await pool.acquire()
    assert second is not first


async def test_failed_create_frees_the_slot() -> None:
    attempts = 0

    async def flaky() -> Conn:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionRefusedError("no server")
        return Conn()

    pool: ConnectionPool[Conn] = ConnectionPool(flaky, min_size=0, max_size=1, timeout=0.1)
    with pytest.raises(ConnectionRefusedError):
        await pool.acquire()
    assert isinstance(await pool.acquire(), Conn)


@pytest.mark.parametrize(
    ("kwargs"),
    [{"min_size": 3, "max_size": 2}, {"max_size": 0, "min_size": 0}, {"timeout": 0}],
)
def test_bad_configuration(kwargs: dict) -> None:
    with pytest.raises(ServiceError) as info:
        ConnectionPool(create, **kwargs)
    assert info.value.code is ErrorCode.INVALID_INPUT


async def test_release_of_foreign_connection_and_closed_pool() -> None:
    pool: ConnectionPool[Conn] = ConnectionPool(create, min_size=0, max_size=1, timeout=1)
    with pytest.raises(ServiceError):
        await pool.release(Conn())
    await pool.close()
    with pytest.raises(ServiceError) as info:
        await pool.acquire()
    assert info.value.code is ErrorCode.SERVICE_UNAVAILABLE
