from __future__ import annotations

import pytest

from auterity_desktop.core.circuit_breaker import BreakerState, CircuitBreaker
from auterity_desktop.core.errors import ErrorCode, ServiceError
from tests.fakes import FakeClock


async def fail() -> None:
    raise ConnectionError("down")


async def succeed() -> str:
    return "ok"


async def test_full_cycle_closed_open_half_open_closed() -> None:
    clock = FakeClock()
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        "dms",
        failure_threshold=3,
        reset_timeout=10,
        clock=clock,
        on_state_change=lambda b, old, new: changes.append((old.value, new.value)),
    )
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state is BreakerState.OPEN

    clock.now = 4
    with pytest.raises(ServiceError) as info:
        await breaker.call(succeed)
    assert info.value.code is ErrorCode.CIRCUIT_OPEN
    assert info.value.details["retry_after"] == pytest.approx(6)
    assert "ConnectionError" in info.value.details["last_error"]

    clock.now = 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert await breaker.call(succeed) == "ok"
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


async def test_failed_trial_reopens_for_a_full_timeout() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("x", failure_threshold=1, reset_timeout=5, clock=clock)
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    clock.now = 5
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after() == pytest.approx(5)


async def test_half_open_allows_limited_trial_calls() -> None:
    import asyncio

    clock = FakeClock()
    breaker = CircuitBreaker("x", failure_threshold=1, reset_timeout=1, clock=clock)
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    clock.now = 1
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "ok"

    trial = asyncio.create_task(breaker.call(slow))
    await asyncio.sleep(0)
    with pytest.raises(ServiceError) as info:
        await breaker.call(succeed)  # a second caller during the trial is refused
    assert info.value.code is ErrorCode.CIRCUIT_OPEN
    gate.set()
    assert await trial == "ok"
    assert breaker.state is BreakerState.CLOSED


async def test_client_errors_do_not_count_and_success_resets() -> None:
    breaker = CircuitBreaker("x", failure_threshold=2, reset_timeout=1)

    async def bad_request() -> None:
        raise ServiceError(ErrorCode.VALIDATION_ERROR, "bad field")

    for _ in range(5):
        with pytest.raises(ServiceError):
            await breaker.call(bad_request)
    assert breaker.state is BreakerState.CLOSED
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    await breaker.call(succeed)
    with pytest.raises(ConnectionError):
        await breaker.call(fail)
    assert breaker.state is BreakerState.CLOSED  # the success in between reset the count

    async def throttled() -> None:
        raise ServiceError(ErrorCode.RATE_LIMITED, "429")

    with pytest.raises(ServiceError):
        await breaker.call(throttled)
    assert breaker.state is BreakerState.OPEN


def test_invalid_configuration() -> None:
    with pytest.raises(ServiceError):
        CircuitBreaker("x", failure_threshold=0)
