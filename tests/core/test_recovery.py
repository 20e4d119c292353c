from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.recovery import (
    ErrorRecoveryService,
    FailFast,
    RetryWithBackoff,
    UseFallback,
    WaitThenRetry,
    with_fallback,
)
from auterity_desktop.core.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0, jitter=0)


async def test_transient_error_with_operation_is_retried() -> None:
    recovery = ErrorRecoveryService(FAST)
    attempts = 0

    async def operation() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 2:
            raise ServiceError(ErrorCode.TIMEOUT, "slow")
        return "done"

    strategy = await recovery.get_recovery_strategy(
        ServiceError(ErrorCode.TIMEOUT, "slow"), operation
    )
    assert isinstance(strategy, RetryWithBackoff)
    assert await strategy.execute() == "done"
    assert attempts == 2


async def test_permanent_errors_fail_fast() -> None:
    recovery = ErrorRecoveryService(FAST)
    error = ServiceError(ErrorCode.UNAUTHORIZED, "no")

    async def operation() -> None:
        raise AssertionError("must not be retried")

    strategy = await recovery.get_recovery_strategy(error, operation)
    assert isinstance(strategy, FailFast)
    with pytest.raises(ServiceError) as info:
        await strategy.execute()
    assert info.value is error
    # transient but nothing to retry: also fail fast
    assert isinstance(await recovery.get_recovery_strategy(TimeoutError()), FailFast)


async def test_rate_limit_waits_the_requested_time() -> None:
    recovery = ErrorRecoveryService(FAST, max_wait=5)

    async def operation() -> str:
        return "ok"

    error = ServiceError(ErrorCode.RATE_LIMITED, "slow down", {"retry_after": 0.01})
    strategy = await recovery.get_recovery_strategy(error, operation)
    assert isinstance(strategy, WaitThenRetry)
    assert strategy.delay == 0.01
    assert await strategy.execute() == "ok"

    too_long = ServiceError(ErrorCode.CIRCUIT_OPEN, "open", {"retry_after": 600})
    strategy = await recovery.get_recovery_strategy(too_long, operation)
    assert isinstance(strategy, FailFast)
    with pytest.raises(ServiceError) as info:
        await strategy.execute()
    assert info.value.code is ErrorCode.SERVICE_UNAVAILABLE


async def test_registered_fallback_wins() -> None:
    recovery = ErrorRecoveryService(FAST)

    async def cached_answer(error: BaseException) -> str:
        return f"cached after {type(error).__name__}"

    recovery.register_fallback(ErrorCode.SERVICE_UNAVAILABLE, cached_answer)
    strategy = await recovery.get_recovery_strategy(
        ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "x")
    )
    assert isinstance(strategy, UseFallback)
    assert await strategy.execute() == "cached after ServiceError"


async def test_with_fallback() -> None:
    async def primary() -> str:
        raise ConnectionError("down")

    async def backup(error: BaseException) -> str:
        return "backup"

    assert await with_fallback(primary, backup) == "backup"
    with pytest.raises(ConnectionError):
        await with_fallback(primary, backup, when=lambda e: isinstance(e, TimeoutError))
