"""A circuit breaker: stop calling a dependency that keeps failing, probe it later.

closed → (``failure_threshold`` consecutive failures) → open → (after ``reset_timeout``)
half-open → one trial call: success closes the circuit, failure opens it again. While open,
calls fail at once with ``CIRCUIT_OPEN`` and a ``retry_after``, which spares the dependency
and gives the caller an immediate, precise answer instead of another timeout. Client errors
(a 4xx-style ServiceError other than rate limiting) say nothing about the dependency's
health and do not count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def counts_as_failure(error: BaseException) -> bool:
    if isinstance(error, ServiceError):
        return error.http_status >= 500 or error.code is ErrorCode.RATE_LIMITED
    return isinstance(error, Exception)


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        is_failure: Callable[[BaseException], bool] = counts_as_failure,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: Callable[[CircuitBreaker, BreakerState, BreakerState], None] | None = None,
    ) -> None:
        if failure_threshold < 1 or reset_timeout <= 0 or half_open_max_calls < 1:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "breaker needs failure_threshold ≥ 1, reset_timeout > 0, half_open_max_calls ≥ 1",
                {"breaker": name},
            )
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_max_calls = half_open_max_calls
        self._is_failure = is_failure
        self._clock = clock
        self._on_state_change = on_state_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0
        self.last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.reset_timeout
        ):
            self._transition(BreakerState.HALF_OPEN)
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after(self) -> float:
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def _transition(self, new: BreakerState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        if new is BreakerState.OPEN:
            self._opened_at = self._clock()
        if new is not BreakerState.CLOSED:
            self._trials = 0
        if self._on_state_change is not None:
            self._on_state_change(self, old, new)

    def _before_call(self) -> None:
        state = self.state
        if state is BreakerState.OPEN or (
            state is BreakerState.HALF_OPEN and self._trials >= self.half_open_max_calls
        ):
            raise ServiceError(
                ErrorCode.CIRCUIT_OPEN,
                f"Calls to {self.name} are suspended after {self._failures} failures",
                {
                    "breaker": self.name,
                    "retry_after": round(self.retry_after(), 3),
                    "last_error": self.last_error,
                },
            )
        if state is BreakerState.HALF_OPEN:
            self._trials += 1

    def record_success(self) -> None:
        self._failures = 0
        self._transition(BreakerState.CLOSED)

    def record_failure(self, error: BaseException | None = None) -> None:
        self._failures += 1
        if error is not None:
            self.last_error = f"{type(error).__name__}: {error}"
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            if self._state is BreakerState.OPEN:
                self._opened_at = self._clock()
            self._transition(BreakerState.OPEN)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        self._before_call()
        try:
            result = await operation()
        except BaseException as exc:
            if self._is_failure(exc):
                self.record_failure(exc)
            elif self._state is BreakerState.HALF_OPEN:
                self._trials = max(0, self._trials - 1)  # the trial told us nothing
            raise
        self.record_success()
        return result
