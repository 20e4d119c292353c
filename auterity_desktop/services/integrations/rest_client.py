"""Calling a REST API: one pooled httpx client per integration, authentication (API key,
bearer, basic, OAuth2 client credentials with token refresh), retries with backoff that
honour ``Retry-After``, and errors that say what went wrong in words."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.retry import RetryPolicy, retry_async

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class RestResponse:
    status: int
    headers: dict[str, str]
    body: Any
    latency: float


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it, down to the operating system's error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            for inner in current.exceptions:
                yield from _chain(inner)
        current = current.__cause__ or current.__context__


def describe(exc: httpx.HTTPError, url: str) -> ServiceError:
    """An httpx failure as a sentence a dealership's IT person can act on."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ServiceError(ErrorCode.TIMEOUT, f"{url} did not answer in time", {"url": url})
    if isinstance(exc, httpx.ConnectError):
        causes = list(_chain(exc))
        lowered = " ".join(str(c) for c in causes).lower()
        if any(isinstance(c, ssl.SSLError) for c in causes) or "certificate" in lowered:
            reason = f"the TLS certificate was not accepted ({text})"
        elif any(isinstance(c, socket.gaierror) for c in causes) or "name or service" in lowered:
            reason = "the host name is unknown"
        elif any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in lowered:
            reason = "the connection was refused (nothing listens there)"
        else:
            reason = text
        return ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE, f"Cannot reach {url}: {reason}", {"url": url}
        )
    return ServiceError(ErrorCode.SERVICE_UNAVAILABLE, f"{url} failed: {text}", {"url": url})


class RestClient:
    def __init__(
        self,
        config: dict[str, Any],
        secrets: dict[str, str],
        *,
        max_connections: int = 100,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.base_url = str(config["base_url"]).rstrip("/")
        self.timeout = float(config.get("timeout") or 30)
        self.retry = retry or RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=10.0)
        self._client = httpx.AsyncClient(
            timeout=self.timeout,
            verify=bool(config.get("verify_tls", True)),
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=True,
        )
        self._token: tuple[str, float] | None = None  # OAuth2 access token, expiry
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._client.aclose()

    # -- authentication -------------------------------------------------------------------
    async def _auth_headers(self, refresh: bool = False) -> dict[str, str]:
        auth = self.config.get("auth", "none")
        if auth == "api_key":
            return {str(self.config.get("api_key_header") or "X-API-Key"): self.secrets["api_key"]}
        if auth == "bearer":
            return {"Authorization": f"Bearer {self.secrets['token']}"}
        if auth == "basic":
            basic = httpx.BasicAuth(str(self.config["username"]), self.secrets["password"])
            request = next(basic.auth_flow(httpx.Request("GET", self.base_url)))
            return {"Authorization": request.headers["Authorization"]}
        if auth == "oauth2":
            return {"Authorization": f"Bearer {await self._oauth_token(refresh)}"}
        return {}

    async def _oauth_token(self, refresh: bool) -> str:
        async with self._token_lock:  # one token request however many calls wait for it
            if self._token and not refresh and self._token[1] > time.time() + 30:
                return self._token[0]
            data = {"grant_type": "client_credentials"}
            if self.config.get("scope"):
                data["scope"] = str(self.config["scope"])
            url = str(self.config["token_url"])
            try:
                response = await self._client.post(
                    url,
                    data=data,
                    auth=(str(self.config["client_id"]), self.secrets["client_secret"]),
                )
            except httpx.HTTPError as exc:
                raise describe(exc, url) from None
            if response.status_code >= 400:
                raise ServiceError(
                    ErrorCode.UNAUTHENTICATED,
                    f"The token endpoint refused the client credentials "
                    f"({response.status_code} {response.reason_phrase})",
                    {"url": url, "status": response.status_code},
                )
            try:
                payload = response.json()
                token = str(payload["access_token"])
            except (ValueError, KeyError, TypeError):
                raise ServiceError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    "The token endpoint answered without an access_token",
                    {"url": url},
                ) from None
            expires = float(payload.get("expires_in") or 3600)
            self._token = (token, time.time() + expires)
            return token

    # -- requests -------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}" if path else self.base_url

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> RestResponse:
        """One call, retried on timeouts, 429 and 5xx; a 401 refreshes an OAuth2 token once."""
        url = self.url(path)

        async def attempt() -> RestResponse:
            return await self._send(method, url, params, json_body, content, headers)

        return await retry_async(attempt, self.retry)

    async def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json_body: Any,
        content: bytes | None,
        headers: dict[str, str] | None,
    ) -> RestResponse:
        started = time.perf_counter()
        for refresh in (False, True):
            sent = {**(headers or {}), **await self._auth_headers(refresh)}
            try:
                response = await self._client.request(
                    method.upper(),
                    url,
                    params=params,
                    json=json_body if content is None else None,
                    content=content,
                    headers=sent,
                )
            except httpx.HTTPError as exc:
                raise describe(exc, url) from None
            if response.status_code == 401 and self.config.get("auth") == "oauth2" and not refresh:
                continue  # the token expired early or was revoked: get a new one, once
            break
        latency = time.perf_counter() - started
        if len(response.content) > MAX_BODY:
            raise ServiceError(
                ErrorCode.PAYLOAD_TOO_LARGE, f"{url} answered with more than 10 MB", {"url": url}
            )
        status = response.status_code
        if status == 429 or status >= 500:
            code = ErrorCode.RATE_LIMITED if status == 429 else ErrorCode.SERVICE_UNAVAILABLE
            details: dict[str, Any] = {"url": url, "status": status}
            wait = _retry_after(response)
            if wait is not None:
                details["retry_after"] = wait
            raise ServiceError(code, f"{url} answered {status} {response.reason_phrase}", details)
        if status in (401, 403):
            raise ServiceError(
                ErrorCode.UNAUTHENTICATED,
                f"{url} refused the credentials ({status} {response.reason_phrase})",
                {"url": url, "status": status},
            )
        body: Any = response.text
        if "json" in response.headers.get("content-type", "") and body.strip():
            with contextlib.suppress(ValueError):  # not JSON after all: keep the text
                body = json.loads(body)
        return RestResponse(status, dict(response.headers), body, latency)
