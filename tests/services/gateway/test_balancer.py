"""Round robin and least busy across a route's backends, skipping unhealthy ones."""

from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.balancer import Backend, Balancer


def backends() -> list[Backend]:
    return [Backend("a", "http://10.0.0.1"), Backend("b", "http://10.0.0.2"),
            Backend("c", "http://10.0.0.3")]  # fmt: skip


def test_round_robin_takes_turns_and_skips_the_unhealthy() -> None:
    balancer = Balancer(backends())
    assert [balancer.pick().name for _ in range(4)] == ["a", "b", "c", "a"]
    balancer.set_healthy("c", False)
    assert [balancer.pick().name for _ in range(4)] == ["b", "a", "b", "a"]
    balancer.set_healthy("c", True)
    assert "c" in {balancer.pick().name for _ in range(3)}


def test_least_busy_counts_requests_in_flight() -> None:
    balancer = Balancer(backends(), "least_busy")
    with balancer.use() as first, balancer.use() as second:
        assert (first.name, second.name) == ("a", "b")
        with balancer.use() as third:
            assert third.name == "c"
        assert balancer.pick().name == "c"  # the only one idle again
    assert [b.in_flight for b in balancer.backends] == [0, 0, 0]
    with pytest.raises(RuntimeError), balancer.use() as failing:
        assert failing.in_flight == 1
        raise RuntimeError("backend error")
    assert failing.in_flight == 0  # counted out however the request ended


def test_no_healthy_backend_is_unavailable_and_bad_setups_are_refused() -> None:
    balancer = Balancer(backends())
    for name in "abc":
        balancer.set_healthy(name, False)
    with pytest.raises(ServiceError) as info:
        balancer.pick()
    assert info.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert info.value.details["backends"] == ["a", "b", "c"]
    with pytest.raises(KeyError):
        balancer.set_healthy("z", True)
    with pytest.raises(ValueError, match="at least one backend"):
        Balancer([])
    with pytest.raises(ValueError, match="strategy must be one of"):
        Balancer(backends(), "random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        Balancer([Backend("a", 1), Backend("a", 2)])
