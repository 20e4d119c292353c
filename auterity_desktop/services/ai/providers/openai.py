"""OpenAI-compatible chat completions: OpenAI itself, vLLM, LM Studio, llama.cpp's server
and Ollama's ``/v1``.

``POST {api_base}/chat/completions``. Streams are server-sent events of chunks, ending
with ``data: [DONE]``; usage arrives only when asked for with
``stream_options.include_usage``, in a last chunk with no choices. ``prompt_tokens``
already includes ``prompt_tokens_details.cached_tokens``. Servers that ignore
``include_usage`` get their counts estimated so cost and limits still add up.
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
    sse_data,
)
from auterity_desktop.services.ai.tokens import estimate_messages, estimate_text
from auterity_desktop.services.ai.types import ModelRequest, ProviderKind, Usage


def usage_of(data: Any) -> Usage:
    details = data.get("prompt_tokens_details") if isinstance(data, dict) else None
    cached = count(details.get("cached_tokens")) if isinstance(details, dict) else 0
    prompt = count(field(data, "prompt_tokens"))
    return Usage(prompt, count(data.get("completion_tokens")), min(cached, prompt))


class OpenAIProvider(Provider):
    kind = ProviderKind.OPENAI

    def build(
        self, endpoint: Endpoint, request: ModelRequest, stream: bool
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": stream,
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": request.json_schema},
            }
        if stream:
            body["stream_options"] = {"include_usage": True}
        return f"{endpoint.api_base.rstrip('/')}/chat/completions", headers, body

    def parse(self, endpoint: Endpoint, data: Any, fail: Failures) -> Completion:
        choice = field(data, "choices", 0)
        text = field(choice, "message").get("content") or ""
        if not isinstance(text, str):
            raise KeyError("choices.0.message.content")
        return Completion(
            id=str(data.get("id") or uuid.uuid4().hex),
            text=text,
            model=str(data.get("model") or endpoint.model),
            usage=usage_of(field(data, "usage")),
            finish_reason=choice.get("finish_reason"),
        )

    async def events(
        self, endpoint: Endpoint, request: ModelRequest, lines: AsyncIterator[str], fail: Failures
    ) -> AsyncGenerator[str | Completion, None]:
        pieces: list[str] = []
        usage: Usage | None = None
        finish: str | None = None
        reply_id, model = "", endpoint.model
        async for data in sse_data(lines):
            if data.strip() == "[DONE]":
                reported = usage is not None
                if usage is None:
                    usage = Usage(
                        estimate_messages(request.messages), estimate_text("".join(pieces))
                    )
                yield Completion(
                    id=reply_id or uuid.uuid4().hex,
                    text="".join(pieces),
                    model=model,
                    usage=usage,
                    finish_reason=finish,
                    usage_reported=reported,
                )
                return
            chunk = json.loads(data)
            if not isinstance(chunk, dict):
                raise fail.malformed("stream (a chunk is not an object)", data)
            if "error" in chunk:
                error = chunk["error"]
                said = error.get("message") if isinstance(error, dict) else error
                raise fail.error(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "server_error",
                    f"{endpoint.deployment} failed mid-stream: {said}",
                )
            reply_id = reply_id or str(chunk.get("id") or "")
            model = str(chunk.get("model") or model)
            if isinstance(chunk.get("usage"), dict):
                usage = usage_of(chunk["usage"])
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                piece = delta.get("content")
                if isinstance(piece, str) and piece:
                    pieces.append(piece)
                    yield piece
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
