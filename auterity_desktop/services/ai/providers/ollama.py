"""Ollama's native API.

``POST {api_base}/api/chat``: a stream is newline-delimited JSON, each line a piece of the
message, the last one ``done: true`` with the counts (``prompt_eval_count``,
``eval_count``) and timings in nanoseconds (``eval_duration``), from which the generation
speed is exact rather than inferred from wall time. ``GET /api/tags`` lists the models
pulled on that server. Structured output is the ``format`` field (a JSON schema);
``max_tokens`` and ``temperature`` go in ``options`` (``num_predict``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx

from auterity_desktop.core.errors import ErrorCode
from auterity_desktop.services.ai.providers.base import (
    Completion,
    Endpoint,
    Failures,
    Provider,
    count,
    field,
)
from auterity_desktop.services.ai.types import ModelRequest, ProviderKind, Usage


def _speed(data: dict[str, Any]) -> float | None:
    tokens, duration = count(data.get("eval_count")), count(data.get("eval_duration"))
    return tokens / duration * 1e9 if tokens and duration else None


class OllamaProvider(Provider):
    kind = ProviderKind.OLLAMA

    def build(
        self, endpoint: Endpoint, request: ModelRequest, stream: bool
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": stream,
        }
        options: dict[str, Any] = {}
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if options:
            body["options"] = options
        if request.json_schema is not None:
            body["format"] = request.json_schema
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        return f"{endpoint.api_base.rstrip('/')}/api/chat", headers, body

    def _final(self, endpoint: Endpoint, data: dict[str, Any], text: str) -> Completion:
        return Completion(
            id=uuid.uuid4().hex,
            text=text,
            model=str(data.get("model") or endpoint.model),
            usage=Usage(count(data.get("prompt_eval_count")), count(data.get("eval_count"))),
            finish_reason=data.get("done_reason") or "stop",
            tokens_per_s=_speed(data),
        )

    def parse(self, endpoint: Endpoint, data: Any, fail: Failures) -> Completion:
        if not isinstance(data, dict):
            raise KeyError("message")
        text = field(data, "message", "content")
        if not isinstance(text, str):
            raise KeyError("message.content")
        return self._final(endpoint, data, text)

    async def events(
        self, endpoint: Endpoint, request: ModelRequest, lines: AsyncIterator[str], fail: Failures
    ) -> AsyncGenerator[str | Completion, None]:
        pieces: list[str] = []
        async for line in lines:
            if not line.strip():
                continue
            data = json.loads(line)
            if not isinstance(data, dict):
                raise fail.malformed("stream (a line is not an object)", line)
            if "error" in data:
                raise fail.error(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "server_error",
                    f"{endpoint.deployment} failed mid-stream: {data['error']}",
                )
            piece = (data.get("message") or {}).get("content")
            if isinstance(piece, str) and piece:
                pieces.append(piece)
                yield piece
            if data.get("done"):
                yield self._final(endpoint, data, "".join(pieces))
                return


async def list_models(
    client: httpx.AsyncClient, api_base: str, time_limit: float, fail: Failures
) -> list[str]:
    """The names of the models pulled on an Ollama server (``GET /api/tags``)."""
    url = f"{api_base.rstrip('/')}/api/tags"
    try:
        response = await client.get(url, timeout=time_limit)
    except httpx.HTTPError as exc:
        raise fail.transport(exc, time_limit) from None
    if response.status_code >= 400:
        raise fail.http(response.status_code, response.text, response.headers, 0.0)
    try:
        models = response.json()["models"]
        return sorted(str(m["name"]) for m in models)
    except (ValueError, KeyError, TypeError):
        raise fail.malformed("model list", response.text) from None
