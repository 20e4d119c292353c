"""The response cache: what makes two requests the same, TTL and size bounds, errors never
cached, identical requests in flight sharing one call, and edits emptying it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.ai.types import ModelResponse, StreamDelta
from auterity_desktop.services.security.principal import Principal
from tests.services.ai.conftest import build, deploy, started
from tests.services.ai.provider_server import ProviderServer, Step
from tests.services.conftest import Stack


def ask(prompt: str = "Opening hours on Saturday?", **options: Any) -> dict[str, Any]:
    return {"prompt": prompt, **options}


@pytest.fixture
async def gpt(ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer) -> None:
    await deploy(ai, admin, server, "gpt", price_input_per_1k=1.0, price_output_per_1k=2.0)


async def test_a_repeated_request_is_answered_from_the_cache_for_free(
    ai: AIModelOrchestrationService, server: ProviderServer, gpt: None
) -> None:
    first = await ai.route_request(ask())
    second = await ai.route_request(ask())
    assert (first.cached, second.cached) == (False, True)
    assert first.cost > 0 and second.cost == 0.0
    assert second.text == first.text and second.usage == first.usage
    assert second.decision.chosen == "gpt" and second.decision.attempts == ()
    assert second.decision.reason == "answered from the response cache (first answered by gpt)"
    assert len(server.calls()) == 1


@pytest.mark.parametrize(
    "change",
    [{"temperature": 0.9}, {"max_tokens": 5}, {"system": "Be formal."}, {"deployment": "gpt"},
     {"json_schema": {"type": "object"}, "capabilities": ["json"]}],
)  # fmt: skip
async def test_anything_that_shapes_the_answer_is_part_of_the_key(
    ai: AIModelOrchestrationService,
    admin: Principal,
    server: ProviderServer,
    gpt: None,
    change: dict[str, Any],
) -> None:
    await ai.save_deployment(admin, {"name": "gpt", "capabilities": ["json"]})
    await ai.route_request(ask())
    assert not (await ai.route_request(ask(**change))).cached
    assert (await ai.route_request(ask(**change))).cached
    assert len(server.calls()) == 2


async def test_entries_expire(stack: Stack, admin: Principal, server: ProviderServer) -> None:
    ai = await started(build(stack, cache_ttl=60))
    try:
        await deploy(ai, admin, server, "gpt")
        await ai.route_request(ask())
        stack.clock.now += 59
        assert (await ai.route_request(ask())).cached
        stack.clock.now += 2
        assert not (await ai.route_request(ask())).cached
    finally:
        await ai.cleanup()


async def test_the_cache_is_bounded(stack: Stack, admin: Principal, server: ProviderServer) -> None:
    ai = await started(build(stack, cache_size=2))
    try:
        await deploy(ai, admin, server, "gpt")
        for prompt in ("one", "two", "three"):
            await ai.route_request(ask(prompt))
        assert len(ai.cache) == 2
        assert (await ai.route_request(ask("three"))).cached
        assert not (await ai.route_request(ask("one"))).cached  # the oldest went
    finally:
        await ai.cleanup()


async def test_size_zero_turns_caching_off(
    stack: Stack, admin: Principal, server: ProviderServer
) -> None:
    ai = await started(build(stack, cache_size=0))
    try:
        await deploy(ai, admin, server, "gpt")
        await ai.route_request(ask())
        assert not (await ai.route_request(ask())).cached
        assert len(server.calls()) == 2
    finally:
        await ai.cleanup()


async def test_errors_are_never_cached_and_cache_false_bypasses(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, gpt: None
) -> None:
    await ai.save_policy(admin, {"name": "default", "num_retries": 0})
    server.plan("gpt", Step(status=500))
    with pytest.raises(ServiceError):
        await ai.route_request(ask())
    assert not (await ai.route_request(ask())).cached
    assert not (await ai.route_request(ask(cache=False))).cached
    assert len(server.calls()) == 3


async def test_identical_requests_in_flight_share_one_call(
    ai: AIModelOrchestrationService, server: ProviderServer, gpt: None
) -> None:
    server.plan("gpt", Step(delay=0.2))
    replies = await asyncio.gather(*(ai.route_request(ask()) for _ in range(5)))
    assert len(server.calls()) == 1
    assert sorted(r.cached for r in replies) == [False, True, True, True, True]
    assert sum(r.cost > 0 for r in replies) == 1


async def test_catalogue_changes_empty_the_cache(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, gpt: None
) -> None:
    await ai.route_request(ask())
    await ai.save_deployment(admin, {"name": "gpt", "model": "gpt-4.1"})
    reply = await ai.route_request(ask())
    assert not reply.cached and reply.model == "gpt-4.1"


async def test_streams_use_the_cache_too(
    ai: AIModelOrchestrationService, server: ProviderServer, gpt: None
) -> None:
    items = [item async for item in ai.stream_request(ask())]
    again = [item async for item in ai.stream_request(ask())]
    assert len(items) > 2
    delta, response = again
    assert isinstance(delta, StreamDelta) and isinstance(response, ModelResponse)
    assert response.cached and delta.text == response.text == items[-1].text  # type: ignore[union-attr]
    assert (await ai.route_request(ask())).cached  # a streamed answer serves plain calls
    assert len(server.calls()) == 1
