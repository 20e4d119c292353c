"""Anthropic's messages API.

``POST {api_base}/v1/messages`` with ``x-api-key`` and ``anthropic-version: 2023-06-01``;
``max_tokens`` is required and system text goes in a top-level ``system``. Streams are
server-sent events: ``message_start`` (id, model, input usage), ``content_block_delta``
(text), ``message_delta`` (stop reason, cumulative output tokens), ``message_stop``; an
``error`` event may arrive mid-stream (``overloaded_error``). Anthropic's ``input_tokens``
exclude prompt-cache reads and writes, so they are added back: ``Usage.input_tokens`` is
every input token and ``cached_tokens`` the part read from the cache, as for OpenAI.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from auterity_desktop.core.errors import ErrorCode
from auterity_desktop.services.ai.providers.base import (
    Completion,
    Endpoint,
    Failures,
    Provider,
    count,
    field,
    json_instruction,
    sse_data,
)
from auterity_desktop.services.ai.types import ModelRequest, ProviderKind, Usage

API_VERSION = "2023-06-01"


def usage_of(data: Any) -> Usage:
    if not isinstance(data, dict):
        raise KeyError("usage")
    read = count(data.get("cache_read_input_tokens"))
    written = count(data.get("cache_creation_input_tokens"))
    return Usage(
        count(data.get("input_tokens")) + read + written, count(data.get("output_tokens")), read
    )


class AnthropicProvider(Provider):
    kind = ProviderKind.ANTHROPIC

    def build(
        self, endpoint: Endpoint, request: ModelRequest, stream: bool
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        headers = {"anthropic-version": API_VERSION}
        if endpoint.api_key:
            headers["x-api-key"] = endpoint.api_key
        system = [m.content for m in request.messages if m.role == "system"]
        if request.json_schema is not None:
            system.append(json_instruction(request.json_schema))
        body: dict[str, Any] = {
            "model": endpoint.model,
            "max_tokens": request.max_tokens or endpoint.max_output_tokens,
            "messages": [
                {"role": m.role, "content": m.content}
                for m in request.messages
                if m.role != "system"
            ],
            "stream": stream,
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)  # Anthropic's range is 0–1
        return f"{endpoint.api_base.rstrip('/')}/v1/messages", headers, body

    def parse(self, endpoint: Endpoint, data: Any, fail: Failures) -> Completion:
        blocks = field(data, "content")
        if not isinstance(blocks, list):
            raise KeyError("content")
        text = "".join(
            b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
        return Completion(
            id=str(data.get("id") or uuid.uuid4().hex),
            text=text,
            model=str(data.get("model") or endpoint.model),
            usage=usage_of(field(data, "usage")),
            finish_reason=data.get("stop_reason"),
        )

    async def events(
        self, endpoint: Endpoint, request: ModelRequest, lines: AsyncIterator[str], fail: Failures
    ) -> AsyncGenerator[str | Completion, None]:
        pieces: list[str] = []
        start: dict[str, Any] | None = None
        usage = Usage()
        finish: str | None = None
        async for data in sse_data(lines):
            event = json.loads(data)
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "message_start":
                start = field(event, "message")
                usage = usage_of(field(start, "usage"))
            elif kind == "content_block_delta":
                delta = field(event, "delta")
                piece = delta.get("text") if delta.get("type") == "text_delta" else None
                if isinstance(piece, str) and piece:
                    pieces.append(piece)
                    yield piece
            elif kind == "message_delta":
                finish = (event.get("delta") or {}).get("stop_reason") or finish
                more = event.get("usage")
                if isinstance(more, dict):  # output_tokens here is the running total
                    usage = Usage(
                        usage.input_tokens,
                        count(more.get("output_tokens")) or usage.output_tokens,
                        usage.cached_tokens,
                    )
            elif kind == "message_stop":
                if start is None:
                    raise fail.malformed("stream (message_stop before message_start)", data)
                yield Completion(
                    id=str(start.get("id") or uuid.uuid4().hex),
                    text="".join(pieces),
                    model=str(start.get("model") or endpoint.model),
                    usage=usage,
                    finish_reason=finish,
                )
                return
            elif kind == "error":
                error = event.get("error") or {}
                raise fail.error(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "server_error",
                    f"{endpoint.deployment} failed mid-stream: "
                    f"{error.get('type', 'error')}: {error.get('message', '')}",
                )
            elif kind is None:
                raise fail.malformed("stream (an event has no type)", data)
