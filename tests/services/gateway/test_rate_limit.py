"""Token buckets per client and per route, against a hand-driven clock."""

from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.rate_limit import Limit, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(limiter: RateLimiter, client: str, route: str) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        limiter.check(client, route)
    assert info.value.code is ErrorCode.RATE_LIMITED
    return info.value


def test_a_burst_then_the_rate_with_an_exact_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(Limit(rate=0.5, burst=3), clock=clock)
    for _ in range(3):
        limiter.check("ci-bot", "/api/v1/workflows")
    error = refused(limiter, "ci-bot", "/api/v1/workflows")
    assert error.details == {"retry_after": 2, "scope": "client", "route": "/api/v1/workflows"}
    limiter.check("crm", "/api/v1/workflows")  # another client has its own bucket
    clock.now += 1.0  # half a token back: still refused, one second left
    assert refused(limiter, "ci-bot", "/api/v1/workflows").details["retry_after"] == 1
    clock.now += 1.0
    limiter.check("ci-bot", "/api/v1/workflows")
    clock.now += 3600  # a quiet hour refills to the burst, not beyond
    for _ in range(3):
        limiter.check("ci-bot", "/api/v1/workflows")
    refused(limiter, "ci-bot", "/api/v1/workflows")


def test_a_route_limit_protects_the_route_from_many_clients() -> None:
    clock = Clock()
    limiter = RateLimiter(Limit(10, 10), {"/api/v1/analytics": Limit(1, 2)}, clock=clock)
    limiter.check("a", "/api/v1/analytics")
    limiter.check("b", "/api/v1/analytics")
    error = refused(limiter, "c", "/api/v1/analytics")
    assert error.details["scope"] == "route" and error.details["retry_after"] == 1
    limiter.check("c", "/api/v1/workflows")  # other routes are unaffected
    # the refusal took no route token: one second later exactly one is back, and c gets it
    clock.now += 1.0
    limiter.check("c", "/api/v1/analytics")


def test_memory_is_bounded_by_the_most_recent_clients() -> None:
    limiter = RateLimiter(Limit(1, 1), max_clients=3, clock=Clock())
    for client in ("a", "b", "c", "d"):
        limiter.check(client, "/")
    assert limiter.tracked_clients == 3
    limiter.check("a", "/")  # forgotten, so it starts full again
    refused(limiter, "d", "/")


def test_bad_limits_are_refused() -> None:
    for rate in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="rate must be a positive number"):
            Limit(rate, 1)
    with pytest.raises(ValueError, match="burst must be at least 1"):
        Limit(1, 0)
    unlimited = RateLimiter(None, clock=Clock())
    for _ in range(1000):
        unlimited.check("x", "/")
