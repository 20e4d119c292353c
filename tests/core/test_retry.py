from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.retry import RetryPolicy, is_transient, retry_async


@given(
    base=st.floats(min_value=0, max_value=5),
    extra=st.floats(min_value=0, max_value=100),
    multiplier=st.floats(min_value=1, max_value=4),
    jitter=st.floats(min_value=0, max_value=1),
    failure=st.integers(min_value=1, max_value=200),
    seed=st.integers(),
)
def test_backoff_delay_stays_within_bounds(
    base: float, extra: float, multiplier: float, jitter: float, failure: int, seed: int
) -> None:
    policy = RetryPolicy(
        base_delay=base, max_delay=base + extra, multiplier=multiplier, jitter=jitter
    )
    ceiling = policy.ceiling(failure)
    delay = policy.delay(failure, random.Random(seed))
    assert 0 <= delay <= ceiling <= policy.max_delay
    assert delay >= ceiling * (1 - jitter) - 1e-9
    assert ceiling == pytest.approx(min(policy.max_delay, base * multiplier ** (failure - 1)))


def test_ceiling_grows_exponentially_until_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=5, multiplier=2, jitter=0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]
    assert policy.delay(3) == 2


async def test_retries_transient_failures_then_succeeds() -> None:
    sleeps: list[float] = []
    attempts = 0

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def operation() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ServiceError(ErrorCode.TIMEOUT, "slow")
        return "ok"

    policy = RetryPolicy(max_attempts=5, base_delay=1, max_delay=10, jitter=0)
    assert await retry_async(operation, policy, sleep=sleep) == "ok"
    assert attempts == 3
    assert sleeps == [1, 2]


async def test_gives_up_after_max_attempts_and_on_permanent_errors() -> None:
    calls = 0

    async def always_down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("refused")

    async def no_sleep(_: float) -> None:
        return None

    with pytest.raises(ConnectionError):
        await retry_async(always_down, RetryPolicy(max_attempts=4), sleep=no_sleep)
    assert calls == 4

    calls = 0

    async def invalid() -> None:
        nonlocal calls
        calls += 1
        raise ServiceError(ErrorCode.VALIDATION_ERROR, "bad")

    with pytest.raises(ServiceError):
        await retry_async(invalid, RetryPolicy(max_attempts=4), sleep=no_sleep)
    assert calls == 1


async def test_retry_after_is_a_floor_capped_by_max_delay() -> None:
    sleeps: list[float] = []
    attempts = 0

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def limited() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ServiceError(ErrorCode.RATE_LIMITED, "slow down", {"retry_after": 3})
        if attempts == 2:
            raise ServiceError(ErrorCode.RATE_LIMITED, "slow down", {"retry_after": 999})
        return "ok"

    policy = RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=20, jitter=0)
    assert await retry_async(limited, policy, sleep=sleep) == "ok"
    assert sleeps == [3, 20]


def test_transient_classification() -> None:
    assert is_transient(TimeoutError())
    assert is_transient(ConnectionResetError())
    assert is_transient(ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "x"))
    assert not is_transient(ServiceError(ErrorCode.UNAUTHORIZED, "x"))
    assert not is_transient(ValueError())


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay": 5, "max_delay": 1}, {"multiplier": 0.5}, {"jitter": 2}],
)
def test_invalid_policy(kwargs: dict) -> None:
    with pytest.raises(ServiceError):
        RetryPolicy(**kwargs)
