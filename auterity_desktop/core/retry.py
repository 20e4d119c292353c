"""Retry with exponential backoff and jitter, for calls to things that fail transiently.

Delays grow ``base_delay × multiplier^(n-1)``, never beyond ``max_delay``; jitter spreads
callers that failed together so they do not retry in lock-step. A ``retry_after`` in a
ServiceError's details (rate limits, open circuits) is honoured as a floor.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from auterity_desktop.core.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {
        ErrorCode.TIMEOUT,
        ErrorCode.SERVICE_UNAVAILABLE,
        ErrorCode.RATE_LIMITED,
        ErrorCode.POOL_EXHAUSTED,
        ErrorCode.CIRCUIT_OPEN,
    }
)


def is_transient(error: BaseException) -> bool:
    """Worth trying again: timeouts, dropped connections, overload, rate limits."""
    if isinstance(error, ServiceError):
        return error.code in TRANSIENT_CODES
    return isinstance(error, TimeoutError | ConnectionError)


def retry_after(error: BaseException) -> float | None:
    """The server's or breaker's requested wait, when the error carries one."""
    if isinstance(error, ServiceError):
        value = error.details.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5  # share of each delay that is randomised, 0 (none) … 1 (full jitter)

    def __post_init__(self) -> None:
        problems = []
        if self.max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            problems.append("need 0 ≤ base_delay ≤ max_delay")
        if self.multiplier < 1:
            problems.append("multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            problems.append("jitter must be between 0 and 1")
        if problems:
            raise ServiceError(ErrorCode.INVALID_INPUT, "; ".join(problems), {"policy": repr(self)})

    def ceiling(self, failure: int) -> float:
        """The largest delay after the ``failure``-th failed attempt (1-based)."""
        try:
            raw = self.base_delay * float(self.multiplier) ** (failure - 1)
        except OverflowError:  # absurd attempt counts: the cap applies anyway
            return float(self.max_delay)
        return float(min(self.max_delay, raw))

    def delay(self, failure: int, rng: random.Random | None = None) -> float:
        """A delay in ``[ceiling × (1 − jitter), ceiling]``."""
        ceiling = self.ceiling(failure)
        spread = ceiling * self.jitter
        return ceiling - spread + (rng or random).random() * spread


async def retry_async(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy = RetryPolicy(),
    *,
    retry_on: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run ``operation`` until it succeeds, fails permanently or runs out of attempts."""
    failure = 0
    while True:
        try:
            return await operation()
        except Exception as exc:
            failure += 1
            if failure >= policy.max_attempts or not retry_on(exc):
                raise
            wait = policy.delay(failure, rng)
            floor = retry_after(exc)
            if floor is not None:
                wait = min(max(wait, floor), policy.max_delay)
            logger.info(
                "retrying after failure",
                extra={"attempt": failure, "delay": round(wait, 3), "error": repr(exc)},
            )
            if on_retry is not None:
                on_retry(failure, exc, wait)
            await sleep(wait)
