"""``ErrorRecoveryService.get_recovery_strategy(error)``: decide how to react to a failure.

The decision is made once, here, from the error's code, instead of every service growing its
own ad-hoc ``except`` ladders: permanent errors fail fast, transient ones are retried with
backoff, rate limits and open circuits wait for the time they ask for, and codes with a
registered fallback use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.retry import RetryPolicy, is_transient, retry_after, retry_async
from auterity_desktop.core.service import BaseService

Operation = Callable[[], Awaitable[Any]]


class RecoveryStrategy:
    """What to do about one error; ``execute()`` carries it out."""

    name = "base"

    async def execute(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class FailFast(RecoveryStrategy):
    """Nothing will help: re-raise the error so the caller reports it."""

    name = "fail_fast"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def execute(self) -> Any:
        raise self.error


class RetryWithBackoff(RecoveryStrategy):
    name = "retry"

    def __init__(self, operation: Operation, policy: RetryPolicy) -> None:
        self.operation = operation
        self.policy = policy

    async def execute(self) -> Any:
        return await retry_async(self.operation, self.policy)


class WaitThenRetry(RecoveryStrategy):
    """Wait the time the dependency asked for (rate limit, open circuit), then retry."""

    name = "wait_then_retry"

    def __init__(self, operation: Operation, delay: float, policy: RetryPolicy) -> None:
        self.operation = operation
        self.delay = delay
        self.policy = policy

    async def execute(self) -> Any:
        await asyncio.sleep(self.delay)
        return await retry_async(self.operation, self.policy)


class UseFallback(RecoveryStrategy):
    name = "fallback"

    def __init__(
        self, fallback: Callable[[BaseException], Awaitable[Any]], error: BaseException
    ) -> None:
        self.fallback = fallback
        self.error = error

    async def execute(self) -> Any:
        return await self.fallback(self.error)


async def with_fallback(
    primary: Operation,
    fallback: Callable[[BaseException], Awaitable[Any]],
    *,
    when: Callable[[BaseException], bool] = lambda error: True,
) -> Any:
    """Run ``primary``; if it raises an error ``when`` accepts, return ``fallback(error)``."""
    try:
        return await primary()
    except Exception as exc:
        if not when(exc):
            raise
        return await fallback(exc)


class ErrorRecoveryService(BaseService):
    name = "error_recovery"

    def __init__(self, policy: RetryPolicy | None = None, max_wait: float = 60.0) -> None:
        super().__init__()
        self.policy = policy or RetryPolicy()
        self.max_wait = max_wait
        self._fallbacks: dict[ErrorCode, Callable[[BaseException], Awaitable[Any]]] = {}

    def register_fallback(
        self, code: ErrorCode, fallback: Callable[[BaseException], Awaitable[Any]]
    ) -> None:
        self._fallbacks[code] = fallback

    async def get_recovery_strategy(
        self, error: BaseException, operation: Operation | None = None
    ) -> RecoveryStrategy:
        """Pick a strategy; ``operation`` is what to run again when retrying makes sense."""
        code = error.code if isinstance(error, ServiceError) else None
        if code is not None and code in self._fallbacks:
            return UseFallback(self._fallbacks[code], error)
        if not is_transient(error) or operation is None:
            return FailFast(error)
        wait = retry_after(error)
        if wait is not None and wait > 0:
            if wait > self.max_wait:
                return FailFast(
                    ServiceError(
                        ErrorCode.SERVICE_UNAVAILABLE,
                        f"The dependency asked to wait {wait:g} s, longer than {self.max_wait:g} s",
                        {"retry_after": wait, "cause": repr(error)},
                    )
                )
            return WaitThenRetry(operation, wait, self.policy)
        return RetryWithBackoff(operation, self.policy)
