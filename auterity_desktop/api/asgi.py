"""The ASGI application: HTTP in, ``APIGatewayService.handle`` in the middle, HTTP out.

It reads the body in chunks and stops at the gateway's limit, so an oversized upload is
refused with 413 without being held in memory — including one that lies about its
``Content-Length`` or sends none. Everything else (routing, authentication, limits,
errors) is the gateway's business, which is why this file is small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.http import JSON, ApiRequest, ApiResponse
from auterity_desktop.services.gateway.service import APIGatewayService

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# API answers are never to be sniffed as another type nor cached (they may carry tokens).
_SAFETY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
_JSON_HEADERS = [(b"content-type", JSON.encode()), *_SAFETY_HEADERS]


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    if declared == 0:
        return b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class GatewayApp:
    def __init__(self, gateway: APIGatewayService) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", ())
        }
        client = scope.get("client")
        raw_query = scope.get("query_string", b"")
        request = ApiRequest(
            method=scope["method"],
            path=scope.get("path", "/"),
            query={},
            headers=headers,
            client=client[0] if client else "local",
        )
        declared = headers.get("content-length")
        try:
            if raw_query:  # inside the try: too many fields is the client's error, not a 500
                request.query = parse_qs(raw_query.decode("latin-1"), max_num_fields=200)
            if declared is not None or "transfer-encoding" in headers:
                request.body = await _read_body(
                    receive,
                    self.gateway.max_body,
                    int(declared) if declared and declared.isdigit() else None,
                )  # else HTTP/1.1 says there is no body (a GET): nothing to wait for
            response = await self.gateway.handle(request)
        except _Disconnected:
            return
        except _TooLarge:
            response = ApiResponse.from_error(
                ServiceError(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    f"The body is larger than {self.gateway.max_body:,} bytes",
                    {"max_bytes": self.gateway.max_body},
                )
            )
        except ValueError as exc:  # a query string with too many fields
            response = ApiResponse.from_error(
                ServiceError(ErrorCode.INVALID_INPUT, "The query string is malformed",
                             {"reason": str(exc)[:200]})
            )  # fmt: skip
        await self._send(send, response, head=request.method == "HEAD")

    @staticmethod
    async def _send(send: Send, response: ApiResponse, head: bool) -> None:
        if response.content_type == JSON and not response.headers:  # most answers
            raw = [*_JSON_HEADERS, (b"content-length", b"%d" % len(response.body))]
        else:
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
            raw += _SAFETY_HEADERS
            if response.content_type:
                raw.append((b"content-type", response.content_type.encode()))
            if response.status != 204:
                raw.append((b"content-length", b"%d" % len(response.body)))
        await send({"type": "http.response.start", "status": response.status, "headers": raw})
        body = b"" if head or response.status == 204 else response.body
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        """The platform is started and stopped by its owner, not by the server."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
