"""What every provider shares: the call over the service's one httpx client, the mapping of
HTTP and transport failures to ``ServiceError``s, ``Retry-After``, and stream framing.

A provider only says how to build its request and read its replies. Failures carry an
``outcome`` in their details ("rate_limited", "server_error", "timeout", "unreachable",
"bad_response", "auth_failed", "not_found", "bad_request") that routing acts on: the first
five are worth another attempt, the rest are not. The timeout bounds connecting, sending
and every wait for data: a whole reply's wait is its generation, and a stream's are the
first token and each gap between chunks, so a long answer that keeps arriving is never cut
off. (httpx's own per-phase timeouts, so no extra timer per call.)
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.types import ModelRequest, ProviderKind, Usage

MAX_ERROR_TEXT = 300
MAX_BODY = 32 * 1024 * 1024
RETRYABLE = frozenset({"rate_limited", "server_error", "timeout", "unreachable", "bad_response"})


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One deployment as a provider needs it: where, which model, with which key."""

    deployment: str
    provider: ProviderKind
    model: str
    api_base: str
    api_key: str | None
    max_output_tokens: int


@dataclass(frozen=True, slots=True)
class Completion:
    """A provider's answer, in the shared vocabulary."""

    id: str
    text: str
    model: str
    usage: Usage
    finish_reason: str | None
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None  # when the provider timed the generation itself
    usage_reported: bool = True  # False: the counts are estimates (a stream sent none)


def outcome_of(error: ServiceError) -> str:
    return str(error.details.get("outcome") or "error")


def retryable(error: ServiceError) -> bool:
    return outcome_of(error) in RETRYABLE


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def provider_message(body: str) -> str:
    """The provider's own words from an error body: OpenAI and Anthropic put them in
    ``error.message``, Ollama in ``error``; anything else is shown as sent."""
    try:
        data = json.loads(body)
    except ValueError:
        return _snippet(body) or "(no message)"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _snippet(error["message"])
        if isinstance(error, str):
            return _snippet(error)
        if isinstance(data.get("message"), str):
            return _snippet(data["message"])
        if isinstance(data.get("detail"), str):
            return _snippet(data["detail"])
    return _snippet(body)


def parse_retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP
    date (RFC 9110 allows both)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


class Failures:
    """Builds the errors of one endpoint, so every message names the deployment."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def error(self, code: ErrorCode, outcome: str, message: str, **details: Any) -> ServiceError:
        return ServiceError(
            code,
            message,
            {
                "deployment": self.endpoint.deployment,
                "provider": self.endpoint.provider.value,
                "outcome": outcome,
                **details,
            },
        )

    def http(self, status: int, body: str, headers: httpx.Headers, now: float) -> ServiceError:
        name, said = self.endpoint.deployment, provider_message(body)
        extra: dict[str, Any] = {"status": status, "provider_message": said}
        if status == 429:
            wait = parse_retry_after(headers, now)
            hint = f"; retry after {wait:.3g} s" if wait is not None else ""
            return self.error(
                ErrorCode.RATE_LIMITED,
                "rate_limited",
                f"{name} is rate limited by its provider{hint}: {said}",
                retry_after=wait,
                **extra,
            )
        if status in (401, 403):
            key = "" if self.endpoint.api_key else " (no API key is stored for it)"
            return self.error(
                ErrorCode.CONFIG_INVALID,
                "auth_failed",
                f"{name} was refused with HTTP {status}{key}: {said}",
                **extra,
            )
        if status == 404:
            return self.error(
                ErrorCode.NOT_FOUND,
                "not_found",
                f"{name}: model {self.endpoint.model!r} or its endpoint was not found at "
                f"{self.endpoint.api_base} (HTTP 404): {said}",
                **extra,
            )
        if status == 408:
            return self.error(
                ErrorCode.TIMEOUT, "timeout", f"{name} timed out (HTTP 408): {said}", **extra
            )
        if status >= 500:
            return self.error(
                ErrorCode.SERVICE_UNAVAILABLE,
                "server_error",
                f"{name} failed with HTTP {status}: {said}",
                **extra,
            )
        code = ErrorCode.PAYLOAD_TOO_LARGE if status == 413 else ErrorCode.INVALID_INPUT
        return self.error(
            code, "bad_request", f"{name} rejected the request (HTTP {status}): {said}", **extra
        )

    def transport(self, exc: BaseException, timeout: float) -> ServiceError:
        name = self.endpoint.deployment
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return self.error(
                ErrorCode.TIMEOUT,
                "timeout",
                f"{name} did not answer within {timeout:g} s",
                timeout=timeout,
            )
        if isinstance(exc, httpx.ConnectError):
            return self.error(
                ErrorCode.SERVICE_UNAVAILABLE,
                "unreachable",
                f"Cannot reach {name} at {self.endpoint.api_base}: {exc or type(exc).__name__}",
            )
        return self.error(
            ErrorCode.SERVICE_UNAVAILABLE,
            "server_error",
            f"{name} broke off the exchange: {exc or type(exc).__name__}",
        )

    def malformed(self, what: str, sample: str = "") -> ServiceError:
        return self.error(
            ErrorCode.SERVICE_UNAVAILABLE,
            "bad_response",
            f"{self.endpoint.deployment} sent a malformed {what}",
            sample=_snippet(sample),
        )


def field(data: Any, *path: str | int) -> Any:
    """``data[path...]``, or ``KeyError`` naming the path (made a malformed-reply error)."""
    current = data
    for key in path:
        try:
            current = current[key]
        except (KeyError, IndexError, TypeError):
            raise KeyError(".".join(map(str, path))) from None
    return current


def count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined by newlines)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)


class Provider(ABC):
    """One wire format. Stateless apart from the shared client, so one instance serves
    every deployment of its kind."""

    kind: ClassVar[ProviderKind]

    def __init__(self, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock

    # -- what each wire format says ----------------------------------------------------
    @abstractmethod
    def build(
        self, endpoint: Endpoint, request: ModelRequest, stream: bool
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, headers and JSON body of the call."""

    @abstractmethod
    def parse(self, endpoint: Endpoint, data: Any, fail: Failures) -> Completion:
        """A complete (non-streamed) reply."""

    @abstractmethod
    def events(
        self, endpoint: Endpoint, request: ModelRequest, lines: AsyncIterator[str], fail: Failures
    ) -> AsyncGenerator[str | Completion, None]:
        """Text pieces as they arrive, then the ``Completion``."""

    # -- the calls ---------------------------------------------------------------------
    async def complete(
        self, endpoint: Endpoint, request: ModelRequest, time_limit: float
    ) -> Completion:
        url, headers, body = self.build(endpoint, request, stream=False)
        fail = Failures(endpoint)
        extra: dict[str, Any] = {}  # only what differs from the client's own settings
        if headers:
            extra["headers"] = headers
        if time_limit != self.client.timeout.read:
            extra["timeout"] = time_limit
        try:
            response = await self.client.post(url, json=body, **extra)
        except httpx.HTTPError as exc:
            raise fail.transport(exc, time_limit) from None
        if response.status_code >= 400:
            raise fail.http(response.status_code, response.text, response.headers, self.clock())
        try:
            data = response.json()
        except ValueError:
            raise fail.malformed("reply (not JSON)", response.text) from None
        try:
            return self.parse(endpoint, data, fail)
        except KeyError as exc:
            raise fail.malformed(f"reply (no {exc.args[0]})", response.text) from None

    async def stream(
        self, endpoint: Endpoint, request: ModelRequest, time_limit: float
    ) -> AsyncGenerator[str | Completion, None]:
        url, headers, body = self.build(endpoint, request, stream=True)
        fail = Failures(endpoint)
        started = time.perf_counter()
        try:
            async with self.client.stream(
                "POST", url, json=body, headers=headers, timeout=time_limit
            ) as response:
                if response.status_code >= 400:
                    text = (await response.aread()).decode("utf-8", "replace")
                    raise fail.http(response.status_code, text, response.headers, self.clock())
                first: float | None = None
                events = self.events(endpoint, request, response.aiter_lines(), fail)
                async with aclosing(events):
                    async for item in events:
                        if isinstance(item, Completion):
                            ttft = None if first is None else first - started
                            yield replace(item, time_to_first_token_s=ttft)
                            return
                        if first is None:
                            first = time.perf_counter()
                        yield item
        except httpx.HTTPError as exc:
            raise fail.transport(exc, time_limit) from None
        except json.JSONDecodeError as exc:
            raise fail.malformed("stream (a chunk is not JSON)", exc.doc) from None
        except KeyError as exc:
            raise fail.malformed(f"stream (no {exc.args[0]})") from None
        raise fail.malformed("stream (it ended before its final message)")


def json_instruction(schema: dict[str, Any]) -> str:
    """For wire formats without a structured-output switch: ask in words."""
    return (
        "Reply with one JSON value only, no prose and no code fences, that matches this "
        f"JSON schema: {json.dumps(schema, separators=(',', ':'))}"
    )
