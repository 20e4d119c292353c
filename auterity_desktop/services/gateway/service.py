"""``APIGatewayService``: one door for the REST API — routes, authentication, rate limits,
load balancing, request metrics, a live request log and audit entries.

``handle(request)`` never raises: every failure becomes the one error body with the
status of its ``ServiceError`` code, and an unexpected exception is logged with its
traceback and answered ``INTERNAL_ERROR`` without leaking it.

Authentication takes ``Authorization: Bearer <token>`` (or ``X-API-Key``): a session token
from the security service or an API key (``aut_…``). Verified sessions are remembered for a
few seconds (``SESSION_CACHE_SECONDS``, never past their expiry) so a busy client does not
cost a database read per request; a sign-out or a revoked session clears that memory at
once. A failed authentication is still rate-limited by address, so guessing tokens is slow.

What is audited: every request that may change something (not GET/HEAD), and every refusal
(401, 403 and — at most once a minute per client — 429); reads are counted in metrics but
would drown the trail. The domain services audit their own actions as well (a workflow
created over REST leaves both ``api.request`` and ``workflow.created``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.service import BaseService, Health, HealthState
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.gateway.api_keys import ApiKeyStore, looks_like_key
from auterity_desktop.services.gateway.balancer import Backend, Balancer, Strategy
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
from auterity_desktop.services.gateway.operations import Controller
from auterity_desktop.services.gateway.rate_limit import Limit, RateLimiter
from auterity_desktop.services.gateway.routes import RouteTable
from auterity_desktop.services.security.principal import Principal
from auterity_desktop.services.security.service import SecurityService

logger = logging.getLogger(__name__)

SESSION_CACHE_SECONDS = 5.0
REQUEST_LOG_SIZE = 1000
HEALTH_INTERVAL = 10.0
FLUSH_INTERVAL = 60.0
METRICS_FLUSH = 1.0
KEY_REFRESH = 5.0  # a key revoked by another process (CLI, another console) stops working
RATE_AUDIT_EVERY = 60.0
DEFAULT_LIMIT = Limit(20.0, 40)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RequestRecord:
    """One line of the live request log."""

    seq: int
    time: float
    method: str
    path: str
    status: int
    duration_ms: float
    client: str
    actor: str
    route: str
    backend: str
    error: str | None = None


class APIGatewayService(BaseService):
    name = "gateway"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        security: SecurityService,
        metrics: MetricsCollector,
        *,
        client_limit: Limit | None = DEFAULT_LIMIT,
        max_body: int = 10 * 1024 * 1024,
        background: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.database = database
        self.audit = audit
        self.security = security
        self.metrics = metrics
        self.max_body = max_body
        self.background = background
        self.clock = clock
        self.routes = RouteTable()
        self.limiter = RateLimiter(client_limit)
        self.keys = ApiKeyStore(database, audit, security.permissions_of, self._role_exists, clock)
        self._balancers: dict[str, Balancer] = {}
        self._sessions: dict[str, tuple[Principal, float]] = {}
        self._log: deque[tuple[Any, ...]] = deque(maxlen=REQUEST_LOG_SIZE)
        self._pending_metrics: dict[tuple[str, str, int], list[float]] = {}
        self._resuming: dict[str, asyncio.Future[Principal]] = {}
        self._seq = 0
        self._rate_audited: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        security.auth.revocation_listeners.append(self._sessions.clear)
        metrics.describe(
            "auterity_api_requests_total", MetricKind.COUNTER, "REST requests answered"
        )
        metrics.describe(
            "auterity_api_request_seconds", MetricKind.HISTOGRAM, "REST request duration"
        )

    def _role_exists(self, role: str) -> bool:
        return bool(self.security.permissions_of(role))

    # -- lifecycle ----------------------------------------------------------------------
    async def initialize(self) -> None:
        await self.keys.load()
        if self.background:
            self._tasks = [
                asyncio.ensure_future(self._every(METRICS_FLUSH, self._flush_async)),
                asyncio.ensure_future(self._every(HEALTH_INTERVAL, self.check_backends)),
                asyncio.ensure_future(self._every(FLUSH_INTERVAL, self.keys.flush_last_used)),
                asyncio.ensure_future(self._every(KEY_REFRESH, self.keys.load)),
            ]

    async def cleanup(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.flush_metrics()
        with contextlib.suppress(Exception):
            await self.keys.flush_last_used()

    async def _flush_async(self) -> None:
        self.flush_metrics()

    async def _every(self, seconds: float, work: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:
                logger.exception("gateway background work failed")

    async def health(self) -> Health:
        if not self.started:
            return await super().health()
        down = [
            f"{prefix} ({b.name})"
            for prefix, balancer in self._balancers.items()
            for b in balancer.backends
            if not b.healthy
        ]
        state = HealthState.DEGRADED if down else HealthState.OK
        detail = f"unhealthy: {', '.join(down)}" if down else f"{len(self._balancers)} routes"
        return Health(state, detail, {"routes": len(self._balancers), "unhealthy": down})

    # -- routes -------------------------------------------------------------------------
    def register_route(
        self,
        prefix: str,
        controller: Controller,
        *more: Controller,
        strategy: Strategy = "round_robin",
        limit: Limit | None = None,
    ) -> str:
        """Mount ``controller`` (and any further ones: load balanced by ``strategy``) at
        ``prefix``; ``limit`` caps the whole route whoever calls it."""
        controllers = (controller, *more)
        backends = [
            Backend(c.name if len(controllers) == 1 else f"{c.name}#{i + 1}", c)
            for i, c in enumerate(controllers)
        ]
        balancer = Balancer(backends, strategy)
        cleaned = self.routes.register_route(prefix, balancer)
        self._balancers[cleaned] = balancer
        if limit is not None:
            self.limiter.per_route[cleaned] = limit
        return cleaned

    def controllers(self) -> list[tuple[str, Controller]]:
        """Each route's first controller (they are alike), for the OpenAPI document."""
        return [(p, b.backends[0].target) for p, b in sorted(self._balancers.items())]

    async def check_backends(self) -> None:
        for balancer in self._balancers.values():
            for backend in balancer.backends:
                try:
                    healthy = bool(await backend.target.healthy())
                except Exception:
                    healthy = False
                if healthy != backend.healthy:
                    logger.warning(
                        "gateway backend health changed",
                        extra={"backend": backend.name, "healthy": healthy},
                    )
                balancer.set_healthy(backend.name, healthy)

    # -- authentication -----------------------------------------------------------------
    @staticmethod
    def credential(request: ApiRequest) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        key = request.headers.get("x-api-key", "").strip()
        return key or None

    async def authenticate(self, request: ApiRequest) -> Principal:
        token = self.credential(request)
        if token is None:
            raise ServiceError(
                ErrorCode.UNAUTHENTICATED,
                "Send a session token or an API key: Authorization: Bearer <token>",
                {"reason": "no credentials"},
            )
        if looks_like_key(token):
            return self.keys.verify(token)
        now = self.clock()
        cached = self._sessions.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        pending = self._resuming.get(token)
        if pending is not None:  # many requests of one client missed together: check once
            return await asyncio.shield(pending)
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._resuming[token] = future
        try:
            principal = await self.security.resume(token)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: the waiters re-raise it
            raise
        finally:
            self._resuming.pop(token, None)
        future.set_result(principal)
        until = now + SESSION_CACHE_SECONDS
        if principal.session_expires_at is not None:
            until = min(until, principal.session_expires_at)
        if len(self._sessions) >= 10_000:
            self._sessions.clear()
        self._sessions[token] = (principal, until)
        return principal

    @staticmethod
    def client_key(request: ApiRequest) -> str:
        p = request.principal
        # user names cannot hold ":", so "ip:…" and API keys' "apikey:…" never collide
        return p.username if p is not None else f"ip:{request.client}"

    # -- the pipeline -------------------------------------------------------------------
    async def handle(self, request: ApiRequest) -> ApiResponse:
        began = time.perf_counter()
        backend_name = ""
        try:
            if len(request.body) > self.max_body:
                raise ServiceError(
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    f"The body is larger than {self.max_body:,} bytes",
                    {"max_bytes": self.max_body},
                )
            match = self.routes.match(request.path)
            request.route = match.prefix
            balancer: Balancer = match.controller
            backend = balancer.pick()
            backend_name = backend.name
            backend.in_flight += 1
            try:
                controller: Controller = backend.target
                op, request.path_params = controller.resolve(request.method, match.rest)
                if op.auth:
                    try:
                        request.principal = await self.authenticate(request)
                    except ServiceError:
                        self.limiter.check(self.client_key(request), match.prefix)
                        raise
                self.limiter.check(self.client_key(request), match.prefix)
                response = await controller.call(op, request)
            finally:
                backend.in_flight -= 1
        except ServiceError as exc:
            response = ApiResponse.from_error(exc)
        except Exception:
            logger.exception(
                "REST request failed", extra={"method": request.method, "path": request.path}
            )
            response = ApiResponse.from_error(
                ServiceError(ErrorCode.INTERNAL_ERROR, "An unexpected error; see the log", {})
            )
        duration = time.perf_counter() - began
        if self._record(request, response, duration, backend_name):
            await self._audit(request, response, duration)
        return response

    def _record(
        self, request: ApiRequest, response: ApiResponse, duration: float, backend: str
    ) -> bool:
        """Count and log the request; True when it is to be audited as well."""
        route = request.route or "unmatched"
        key = (route, request.method, response.status)
        pending = self._pending_metrics.get(key)
        if pending is None:
            pending = self._pending_metrics[key] = []
        pending.append(duration)
        actor = request.principal.username if request.principal else "anonymous"
        error = response.error
        self._seq += 1
        self._log.append(
            (self._seq, self.clock(), request.method, request.path, response.status, duration,
             request.client, actor, route, backend, error.code.value if error else None)
        )  # fmt: skip
        if response.status < 400 and request.method in _READS:
            return False  # the common case: counted, logged, not audited
        return self._audited(request, response)

    async def _audit(self, request: ApiRequest, response: ApiResponse, duration: float) -> None:
        route = request.route or "unmatched"
        actor = request.principal.username if request.principal else "anonymous"
        error = response.error
        details: dict[str, Any] = {
            "method": request.method, "path": request.path[:300], "status": response.status,
            "client": request.client, "duration_ms": round(duration * 1000, 1),
        }  # fmt: skip
        if error is not None:
            details["error"] = error.code.value
        try:
            await self.audit.record(
                actor,
                "api.request",
                route.strip("/") or "api",
                "success" if response.status < 400 else "failure",
                details,
            )
        except Exception:
            logger.exception("could not audit a REST request")

    def _audited(self, request: ApiRequest, response: ApiResponse) -> bool:
        if response.status == 429:
            key = self.client_key(request)
            now = self.clock()
            if now - self._rate_audited.get(key, -RATE_AUDIT_EVERY) < RATE_AUDIT_EVERY:
                return False
            if len(self._rate_audited) > 10_000:
                self._rate_audited.clear()
            self._rate_audited[key] = now
            return True
        return request.method not in _READS or response.status in (401, 403)

    # -- the live request log -----------------------------------------------------------
    def requests_since(self, seq: int = 0) -> Sequence[RequestRecord]:
        """Log lines after ``seq`` (oldest first); the log keeps the last 1,000.

        Lines are kept as plain tuples and turned into records only here: building a
        dataclass for every request cost more than the rest of the bookkeeping."""
        return [
            RequestRecord(
                s, t, method, path[:300], status, round(duration * 1000, 2), client, actor,
                route, backend, error,
            )
            for (s, t, method, path, status, duration, client, actor, route, backend, error)
            in self._log
            if s > seq
        ]  # fmt: skip

    def flush_metrics(self) -> None:
        """Hand the requests counted since the last flush to the metrics collector.

        Counted per (route, method, status) in a plain dict and flushed each second and
        before ``/metrics`` answers, rather than two labelled metric updates per request."""
        pending, self._pending_metrics = self._pending_metrics, {}
        for (route, method, status), durations in pending.items():
            labels = {"route": route, "method": method, "status": str(status)}
            self.metrics.increment("auterity_api_requests_total", float(len(durations)), labels)
            route_label = {"route": route}
            for duration in durations:
                self.metrics.observe("auterity_api_request_seconds", duration, route_label)
