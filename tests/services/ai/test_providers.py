"""The three wire formats against the loopback server: whole replies and streams, usage as
each provider reports it, and every failure mapped to a ServiceError that routing can act
on."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.providers.base import (
    Completion,
    Endpoint,
    Failures,
    Provider,
    parse_retry_after,
    provider_message,
)
from auterity_desktop.services.ai.providers.ollama import list_models
from auterity_desktop.services.ai.providers.registry import build_providers
from auterity_desktop.services.ai.types import ChatMessage, ModelRequest, ProviderKind, Usage
from tests.services.ai.provider_server import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    ProviderServer,
    Step,
    provider_server,
)

REQUEST = ModelRequest(
    [ChatMessage("system", "Be brief."), ChatMessage("user", "Is the RAV4 in stock?")],
    max_tokens=64,
    temperature=0.2,
)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with provider_server() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def endpoint(server: ProviderServer, kind: str, model: str, key: str | None = None) -> Endpoint:
    provider = ProviderKind(kind)
    base = server.openai_base if provider is ProviderKind.OPENAI else server.url
    if key is None and provider is ProviderKind.ANTHROPIC:
        key = ANTHROPIC_KEY
    return Endpoint(f"{kind}-test", provider, model, base, key, 256)


def provider(client: httpx.AsyncClient, kind: str) -> Provider:
    return build_providers(client)[ProviderKind(kind)]


async def streamed(
    p: Provider, e: Endpoint, request: ModelRequest = REQUEST
) -> tuple[list[str], Completion]:
    pieces: list[str] = []
    final: Completion | None = None
    async for item in p.stream(e, request, 5.0):
        if isinstance(item, Completion):
            final = item
        else:
            pieces.append(item)
    assert final is not None
    return pieces, final


async def failure(coro: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        await coro
    return info.value


# -- whole replies ----------------------------------------------------------------------------
async def test_openai_reply_usage_and_request_shape(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    server.plan("gpt-4o-mini", Step(cached=5))
    done = await provider(client, "openai").complete(
        endpoint(server, "openai", "gpt-4o-mini", key="sk-x"), REQUEST, 5.0
    )
    assert done.text == "gpt-4o-mini says: Is the RAV4 in stock?"
    assert done.finish_reason == "stop" and done.id.startswith("chatcmpl-")
    # prompt: 3 + (4 + 2) + (4 + 5) = 18; cached tokens are part of it
    assert done.usage == Usage(18, 7, 5)
    seen = server.calls("gpt-4o-mini")[0]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["Authorization"] == "Bearer sk-x"
    assert seen.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (seen.body["max_tokens"], seen.body["temperature"], seen.body["stream"]) == (
        64,
        0.2,
        False,
    )


async def test_openai_json_schema_is_asked_for_with_response_format(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    request = ModelRequest([ChatMessage("user", "hi")], json_schema=schema)
    await provider(client, "openai").complete(endpoint(server, "openai", "m"), request, 5.0)
    body = server.calls("m")[0].body
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": schema},
    }  # fmt: skip
    assert "Authorization" not in server.calls("m")[0].headers  # no key stored: none sent


async def test_anthropic_reply_counts_cache_reads_as_input(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    server.plan("claude-haiku", Step(cached=8))
    done = await provider(client, "anthropic").complete(
        endpoint(server, "anthropic", "claude-haiku"), REQUEST, 5.0
    )
    assert done.text == "claude-haiku says: Is the RAV4 in stock?"
    assert done.finish_reason == "end_turn"
    # The server reports input_tokens without the 8 read from its cache; they are added back.
    # (System text is no message here: 3 + (4 + 5) + 2 = 14.)
    assert done.usage == Usage(14, 7, 8)
    seen = server.calls("claude-haiku")[0]
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == ANTHROPIC_KEY
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body["system"] == "Be brief."
    assert [m["role"] for m in seen.body["messages"]] == ["user"]
    assert seen.body["max_tokens"] == 64


async def test_anthropic_needs_max_tokens_so_the_deployment_default_is_sent(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    request = ModelRequest([ChatMessage("user", "hi")], json_schema={"type": "object"})
    await provider(client, "anthropic").complete(endpoint(server, "anthropic", "c"), request, 5.0)
    body = server.calls("c")[0].body
    assert body["max_tokens"] == 256
    assert "JSON schema" in body["system"]  # no structured-output switch: asked in words


async def test_ollama_reply_with_counts_and_speed(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    done = await provider(client, "ollama").complete(
        endpoint(server, "ollama", "llama3.2:3b"), REQUEST, 5.0
    )
    assert done.text == "llama3.2:3b says: Is the RAV4 in stock?"
    assert done.usage == Usage(18, 7, 0)
    assert done.tokens_per_s == pytest.approx(40.0)  # eval_count / eval_duration × 1e9
    body = server.calls("llama3.2:3b")[0].body
    assert body["options"] == {"num_predict": 64, "temperature": 0.2}
    assert body["stream"] is False


async def test_ollama_lists_local_models(server: ProviderServer, client: httpx.AsyncClient) -> None:
    e = endpoint(server, "ollama", "")
    assert await list_models(client, server.url, 5.0, Failures(e)) == ["llama3.2:3b", "qwen2.5:7b"]


# -- streams ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "model"), [("openai", "gpt-4o"), ("anthropic", "claude"), ("ollama", "qwen2.5:7b")]
)
async def test_streams_deliver_pieces_then_the_completion(
    server: ProviderServer, client: httpx.AsyncClient, kind: str, model: str
) -> None:
    server.plan(model, Step(gap=0.01))
    pieces, done = await streamed(provider(client, kind), endpoint(server, kind, model))
    assert len(pieces) == 7
    assert "".join(pieces) == done.text == f"{model} says: Is the RAV4 in stock?"
    assert done.usage.input_tokens == (14 if kind == "anthropic" else 18)
    assert done.usage.output_tokens == 7
    assert done.usage_reported
    assert done.time_to_first_token_s is not None and 0 < done.time_to_first_token_s < 1.0
    body = server.calls(model)[0].body
    assert body["stream"] is True
    if kind == "openai":
        assert body["stream_options"] == {"include_usage": True}


async def test_openai_stream_without_usage_is_estimated(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    server.plan("vllm", Step(no_usage=True))
    _, done = await streamed(provider(client, "openai"), endpoint(server, "openai", "vllm"))
    assert not done.usage_reported
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0


# -- failures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama"])
async def test_429_honours_retry_after_in_seconds(
    server: ProviderServer, client: httpx.AsyncClient, kind: str
) -> None:
    model = "llama3.2:3b" if kind == "ollama" else "m"
    server.plan(model, Step(status=429, retry_after="7", message="Slow down"))
    error = await failure(
        provider(client, kind).complete(endpoint(server, kind, model), REQUEST, 5.0)
    )
    assert error.code is ErrorCode.RATE_LIMITED
    assert error.details["retry_after"] == 7.0
    assert error.details["outcome"] == "rate_limited" and error.details["status"] == 429
    assert "Slow down" in error.message and f"{kind}-test" in error.message


async def test_429_honours_retry_after_as_an_http_date(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    server.plan("m", Step(status=429, retry_after=formatdate(time.time() + 30, usegmt=True)))
    error = await failure(
        provider(client, "openai").complete(endpoint(server, "openai", "m"), REQUEST, 5.0)
    )
    assert 28 <= error.details["retry_after"] <= 31


def test_retry_after_forms() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "2.5"}), 0) == 2.5
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "1500"}), 0) == 1.5
    assert parse_retry_after(httpx.Headers({"retry-after": "-3"}), 0) == 0.0
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"}), 0) is None
    assert parse_retry_after(httpx.Headers({}), 0) is None
    past = formatdate(1_000_000, usegmt=True)
    assert parse_retry_after(httpx.Headers({"retry-after": past}), 2_000_000) == 0.0


def test_provider_messages_are_read_from_each_error_shape() -> None:
    assert provider_message('{"error": {"message": "bad key"}}') == "bad key"
    assert provider_message('{"error": "model not found"}') == "model not found"
    assert provider_message('{"detail": "nope"}') == "nope"
    assert provider_message("<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"
    assert len(provider_message("x" * 5000)) == 300


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama"])
async def test_5xx_is_service_unavailable_with_the_providers_words(
    server: ProviderServer, client: httpx.AsyncClient, kind: str
) -> None:
    model = "llama3.2:3b" if kind == "ollama" else "m"
    server.plan(model, Step(status=503, message="upstream overloaded"))
    error = await failure(
        provider(client, kind).complete(endpoint(server, kind, model), REQUEST, 5.0)
    )
    assert error.code is ErrorCode.SERVICE_UNAVAILABLE
    assert error.details["outcome"] == "server_error" and error.details["status"] == 503
    assert "upstream overloaded" in error.message


async def test_401_names_the_deployment_and_says_what_the_provider_said(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    error = await failure(
        provider(client, "anthropic").complete(
            endpoint(server, "anthropic", "c", key="wrong"), REQUEST, 5.0
        )
    )
    assert error.code is ErrorCode.CONFIG_INVALID
    assert error.details["outcome"] == "auth_failed" and error.details["status"] == 401
    assert error.message == "anthropic-test was refused with HTTP 401: invalid x-api-key"
    error = await failure(
        provider(client, "openai").complete(endpoint(server, "openai", "secure-gpt"), REQUEST, 5.0)
    )
    assert "no API key is stored" in error.message and "Incorrect API key" in error.message
    ok = await provider(client, "openai").complete(
        endpoint(server, "openai", "secure-gpt", key=OPENAI_KEY), REQUEST, 5.0
    )
    assert ok.text.startswith("secure-gpt says")


@pytest.mark.parametrize(("kind", "model"), [("ollama", "mistral:7b"), ("openai", "missing-model")])
async def test_404_names_the_model(
    server: ProviderServer, client: httpx.AsyncClient, kind: str, model: str
) -> None:
    error = await failure(
        provider(client, kind).complete(endpoint(server, kind, model), REQUEST, 5.0)
    )
    assert error.code is ErrorCode.NOT_FOUND
    assert error.details["outcome"] == "not_found"
    assert f"model {model!r}" in error.message
    assert ("try pulling it first" if kind == "ollama" else "does not exist") in error.message


async def test_a_slow_reply_times_out(server: ProviderServer, client: httpx.AsyncClient) -> None:
    server.plan("slow", Step(delay=1.0))
    started = time.perf_counter()
    error = await failure(
        provider(client, "openai").complete(endpoint(server, "openai", "slow"), REQUEST, 0.2)
    )
    # gave up before the reply came (a timeout is never early, so no lower bound is needed)
    assert time.perf_counter() - started < 1.0
    assert error.code is ErrorCode.TIMEOUT
    assert error.details["outcome"] == "timeout" and error.details["timeout"] == 0.2
    assert error.message == "openai-test did not answer within 0.2 s"


async def test_a_stream_that_stalls_times_out_between_chunks(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    server.plan("stall", Step(gap=0.5))
    with pytest.raises(ServiceError) as info:
        async for _ in provider(client, "openai").stream(
            endpoint(server, "openai", "stall"), REQUEST, 0.2
        ):
            pass
    assert info.value.code is ErrorCode.TIMEOUT


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama"])
async def test_malformed_json_is_a_bad_response(
    server: ProviderServer, client: httpx.AsyncClient, kind: str
) -> None:
    model = "llama3.2:3b" if kind == "ollama" else "m"
    server.plan(model, Step(raw="{'choices': oops"))
    error = await failure(
        provider(client, kind).complete(endpoint(server, kind, model), REQUEST, 5.0)
    )
    assert error.code is ErrorCode.SERVICE_UNAVAILABLE
    assert error.details["outcome"] == "bad_response"
    assert error.details["sample"] == "{'choices': oops"
    assert "malformed reply (not JSON)" in error.message


async def test_json_of_the_wrong_shape_is_a_bad_response(
    server: ProviderServer, client: httpx.AsyncClient
) -> None:
    server.plan("m", Step(raw='{"choices": []}'))
    error = await failure(
        provider(client, "openai").complete(endpoint(server, "openai", "m"), REQUEST, 5.0)
    )
    assert error.details["outcome"] == "bad_response"
    assert "no choices.0" in error.message


@pytest.mark.parametrize(
    ("kind", "model"), [("openai", "m"), ("anthropic", "m"), ("ollama", "llama3.2:3b")]
)
@pytest.mark.parametrize(
    ("step", "outcome", "words"),
    [
        (Step(bad_chunk=True), "bad_response", "malformed stream"),
        (Step(break_after=2), "server_error", "broke off"),
        (Step(error_event=True), "server_error", "failed mid-stream"),
    ],
)
async def test_broken_streams(
    server: ProviderServer,
    client: httpx.AsyncClient,
    kind: str,
    model: str,
    step: Step,
    outcome: str,
    words: str,
) -> None:
    server.plan(model, step)
    received: list[str] = []
    with pytest.raises(ServiceError) as info:
        async for item in provider(client, kind).stream(
            endpoint(server, kind, model), REQUEST, 5.0
        ):
            if isinstance(item, str):
                received.append(item)
    assert received  # the first piece arrived before the trouble
    assert info.value.details["outcome"] == outcome
    assert words in info.value.message


async def test_nothing_listening_is_unreachable(client: httpx.AsyncClient) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    e = Endpoint("local", ProviderKind.OLLAMA, "llama3.2:3b", f"http://127.0.0.1:{port}", None, 64)
    error = await failure(provider(client, "ollama").complete(e, REQUEST, 5.0))
    assert error.code is ErrorCode.SERVICE_UNAVAILABLE
    assert error.details["outcome"] == "unreachable"
    assert f"Cannot reach local at http://127.0.0.1:{port}" in error.message
