"""Requests and tokens per minute: the sliding window on its own, and fifty concurrent calls
through the service that must not get past a deployment's rpm or tpm."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.limits import RateLimiter, Refusal, Reservation
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.security.principal import Principal
from tests.services.ai.conftest import Sleeper, build, deploy, started
from tests.services.ai.provider_server import ProviderServer
from tests.services.conftest import Stack


def ask(i: int, **options: Any) -> dict[str, Any]:
    return {"prompt": f"question {i}", "cache": False, "max_tokens": 100, **options}


def test_rpm_allows_exactly_n_in_any_minute() -> None:
    limiter = RateLimiter()
    for t in (0.0, 10.0, 20.0):
        assert isinstance(limiter.reserve("d", 3, None, 10, t), Reservation)
    refusal = limiter.reserve("d", 3, None, 10, 30.0)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == "over its rpm (3 requests a minute)" and refusal.retry_at == 60.0
    assert isinstance(limiter.reserve("d", 3, None, 10, 59.999), Refusal)
    assert isinstance(limiter.reserve("d", 3, None, 10, 60.0), Reservation)  # the first left
    assert limiter.usage("d", 60.0) == (3, 30)


def test_tpm_counts_reserved_tokens_and_settles_to_actual_ones() -> None:
    limiter = RateLimiter()
    first = limiter.reserve("d", None, 1000, 600, 0.0)
    assert isinstance(first, Reservation)
    refusal = limiter.reserve("d", None, 1000, 500, 1.0)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == "over its tpm (1,000 tokens a minute)" and refusal.retry_at == 60.0
    first.settle(120)  # the call used far fewer than estimated
    assert isinstance(limiter.reserve("d", None, 1000, 500, 2.0), Reservation)
    assert limiter.usage("d", 2.0) == (2, 620)
    too_big = limiter.reserve("d", None, 1000, 1001, 3.0)
    assert isinstance(too_big, Refusal) and too_big.retry_at is None
    assert too_big.reason == "needs about 1,001 tokens, more than its tpm of 1,000"
    first.settle(5000)  # an old reservation that left the window changes nothing
    assert limiter.usage("d", 61.0) == (1, 500)
    assert isinstance(limiter.reserve("e", None, None, 10**9, 0.0), Reservation)
    assert limiter.usage("e", 0.0) == (0, 0)  # no limits: nothing is kept


def test_tpm_retry_time_is_when_enough_tokens_have_left() -> None:
    limiter = RateLimiter()
    for t, tokens in ((0.0, 300), (10.0, 300), (20.0, 300)):
        assert isinstance(limiter.reserve("d", None, 1000, tokens, t), Reservation)
    refusal = limiter.reserve("d", None, 1000, 500, 30.0)
    assert isinstance(refusal, Refusal) and refusal.retry_at == 70.0  # two must leave


async def test_fifty_concurrent_calls_never_pass_the_rpm(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    await deploy(ai, admin, server, "a", rpm=10)
    await deploy(ai, admin, server, "b", rpm=10)
    await ai.save_policy(admin, {"name": "default", "strategy": "least_busy"})
    results = await asyncio.gather(*(ai.route_request(ask(i)) for i in range(50)),
                                   return_exceptions=True)  # fmt: skip
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(served) == 20
    assert {r.deployment for r in served} == {"a", "b"}
    assert len(server.calls("a")) == 10 and len(server.calls("b")) == 10
    assert all(isinstance(r, ServiceError) and r.code is ErrorCode.RATE_LIMITED for r in refused)
    error = refused[0]
    assert isinstance(error, ServiceError)
    assert "a: over its rpm (10 requests a minute)" in error.message
    assert error.details["retry_after"] == 60.0
    assert sleeper.waits == []  # a minute is more than the 5 s a request may wait


async def test_fifty_concurrent_calls_never_pass_the_tpm(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    # Each reserves its prompt (about 10 tokens) and its max_tokens (100): nine fit in 1,000.
    await deploy(ai, admin, server, "a", tpm=1000)
    results = await asyncio.gather(*(ai.route_request(ask(i)) for i in range(50)),
                                   return_exceptions=True)  # fmt: skip
    assert sum(not isinstance(r, BaseException) for r in results) == 9
    assert len(server.calls("a")) == 9
    # The calls used about 15 tokens each, not 110: what they reserved was given back.
    assert (await ai.route_request(ask(99))).deployment == "a"


async def test_waiting_for_capacity_when_a_request_may_wait_long_enough(
    stack: Stack, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    ai = await started(build(stack, sleeper, request_timeout=600))
    try:
        await deploy(ai, admin, server, "a", rpm=10)
        start = stack.clock.now
        results = await asyncio.gather(*(ai.route_request(ask(i)) for i in range(50)))
        assert len(results) == 50 and len(server.calls("a")) == 50
        # 50 calls at 10 a minute: the last ten cannot start before minute four.
        assert stack.clock.now - start >= 240
        assert max(sleeper.waits) <= 60
        waited = [r for r in results if r.decision.skipped]
        assert waited == []  # it was only waiting: served by it, nothing was skipped
    finally:
        await ai.cleanup()


@pytest.mark.parametrize("rpm", [1, 7])
async def test_rpm_is_not_off_by_one(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, rpm: int
) -> None:
    await deploy(ai, admin, server, "a", rpm=rpm)
    for i in range(rpm):
        await ai.route_request(ask(i))
    with pytest.raises(ServiceError) as info:
        await ai.route_request(ask(rpm))
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert len(server.calls("a")) == rpm
