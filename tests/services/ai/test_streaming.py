"""Streaming through the service: text as it arrives and the response last, falling back
only while nothing was delivered, a reader that stops early, and the guarded form."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.ai.types import ModelResponse, StreamDelta
from auterity_desktop.services.security.principal import Principal
from tests.services.ai.conftest import deploy
from tests.services.ai.provider_server import ProviderServer, Step
from tests.services.conftest import Stack


def ask(**options: Any) -> dict[str, Any]:
    return {"prompt": "Which trims does the Corolla come in?", "cache": False, **options}


async def collect(stream: Any) -> list[Any]:
    return [item async for item in stream]


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt"), ("anthropic", "claude"), ("ollama", "qwen2.5:7b")]
)
async def test_text_arrives_in_pieces_then_the_response(
    ai: AIModelOrchestrationService,
    admin: Principal,
    server: ProviderServer,
    provider: str,
    model: str,
) -> None:
    await deploy(
        ai, admin, server, "d", provider, model, price_input_per_1k=1, price_output_per_1k=1
    )
    server.plan(model, Step(gap=0.02))
    items = await collect(ai.stream_request(ask()))
    *deltas, response = items
    assert all(isinstance(d, StreamDelta) for d in deltas) and len(deltas) == 9
    assert isinstance(response, ModelResponse)
    assert "".join(d.text for d in deltas) == response.text
    assert response.text == f"{model} says: Which trims does the Corolla come in?"
    assert response.usage.output_tokens == 9 and response.cost > 0
    assert response.time_to_first_token_s is not None
    assert 0 < response.time_to_first_token_s < response.latency_s
    assert response.tokens_per_s is not None and response.tokens_per_s > 0
    if provider == "ollama":
        assert response.tokens_per_s == pytest.approx(40.0)


async def test_a_failure_before_the_first_piece_falls_back(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a", price_input_per_1k=0.1)
    await deploy(ai, admin, server, "b", price_input_per_1k=1)
    await ai.save_policy(admin, {"name": "default", "num_retries": 0})
    server.plan("a", Step(status=503))
    *_, response = await collect(ai.stream_request(ask()))
    assert response.deployment == "b"
    assert [a.outcome for a in response.decision.attempts] == ["server_error", "ok"]


async def test_a_failure_after_text_was_delivered_ends_the_request(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a", price_input_per_1k=0.1)
    await deploy(ai, admin, server, "b", price_input_per_1k=1)
    server.plan("a", Step(break_after=3))
    received: list[str] = []
    with pytest.raises(ServiceError) as info:
        async for item in ai.stream_request(ask()):
            received.append(item.text)
    assert received == ["a ", "says: ", "Which "]
    assert info.value.code is ErrorCode.SERVICE_UNAVAILABLE
    assert info.value.details["decision"]["chosen"] == "a"
    assert server.calls("b") == []  # the reader has half an answer: no second one


async def test_a_reader_that_stops_early_frees_everything(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a", rpm=100)
    server.plan("a", Step(gap=0.05))
    async with aclosing(ai.stream_request(ask())) as stream:
        async for _ in stream:
            break
    assert ai.health_book.in_flight("a") == 0
    await ai.log.flush()
    async with stack.database.session() as db:
        from sqlalchemy import text

        row = (await db.execute(text("SELECT outcome, streamed FROM ai_requests"))).one()
    assert tuple(row) == ("cancelled", True)


async def test_a_cancelled_stream_task_frees_everything(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a")
    server.plan("a", Step(gap=0.2))

    async def read() -> None:
        async for _ in ai.stream_request(ask()):
            pass

    task = asyncio.create_task(read())
    assert await asyncio.to_thread(server.wait_for_call, "a")
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ai.health_book.in_flight("a") == 0


async def test_chat_stream_checks_the_permission_before_anything(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a")
    analyst = await stack.user("ana", "analyst")
    items = await collect(ai.chat_stream(analyst, ask(purpose="playground")))
    assert isinstance(items[-1], ModelResponse)
    viewer = await stack.user("vic", "viewer")
    stream = ai.chat_stream(viewer, ask())
    with pytest.raises(ServiceError) as info:
        await stream.__anext__()
    assert info.value.code is ErrorCode.UNAUTHORIZED
    assert len(server.calls()) == 1
    assert AIModelOrchestrationService.chat_stream.__guard__ == ("ai", "execute")  # type: ignore[attr-defined]
