"""``AIModelOrchestrationService``: every call to a language model goes through here.

Callers name a routing policy or a deployment (or neither: the ``default`` policy) and get
back a ``ModelResponse`` that says who answered, why, what it cost and how long it took.
Between the two: the response cache, budgets checked before anything is sent, routing
(see ``dispatch``), limits, retries, fallbacks and cooldowns, and the accounting — metrics
and one ``ai_requests`` row per request, written in batches off the request's path.

``route_request`` and ``stream_request`` are for trusted callers in the process (workflow
nodes, the cognitive engine). Methods taking ``actor`` first are the guarded API of the
GUI, the REST API and the CLI (resource ``ai``: read lists and reports; write edits the
catalogue; execute chats and tests; delete removes); every catalogue change is audited.
API keys live in the OS keyring under ``ai/<deployment>/api_key``; the database keeps only
that name, and keys are held in memory once read so a request never waits on D-Bus.

The catalogue is read whole into memory at start and after every change; with
``sync_interval`` > 0 it and the budgets' spend are re-read that often, so consoles sharing
one PostgreSQL database follow each other's edits and spend.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.retry import RetryPolicy
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.core.service import BaseService, Health, HealthState
from auterity_desktop.services.ai import catalogue_store, usage_stats
from auterity_desktop.services.ai.accounting import Meter, cost_of
from auterity_desktop.services.ai.budgets import BudgetBook, period_bounds
from auterity_desktop.services.ai.catalogue import (
    BUDGET_FIELDS,
    DEFAULT_POLICY,
    DEPLOYMENT_FIELDS,
    POLICY_FIELDS,
    BudgetSpec,
    Catalogue,
    DeploymentSpec,
    PolicySpec,
    budget_spec,
    check_mapping,
    check_name,
    check_url,
    deployment_spec,
    needs_key,
    policy_spec,
    refuse,
)
from auterity_desktop.services.ai.dispatch import (
    Dispatcher,
    Served,
    decision_dict,
    make_plan,
)
from auterity_desktop.services.ai.info import (
    BudgetInfo,
    DeploymentInfo,
    DeploymentStats,
    DeploymentTest,
    PolicyInfo,
    UsageRow,
)
from auterity_desktop.services.ai.inputs import to_request
from auterity_desktop.services.ai.limits import RateLimiter
from auterity_desktop.services.ai.models import AIBudgetRow, AIDeploymentRow, AIPolicyRow
from auterity_desktop.services.ai.providers.base import Endpoint, Failures
from auterity_desktop.services.ai.providers.ollama import list_models
from auterity_desktop.services.ai.providers.registry import build_providers
from auterity_desktop.services.ai.request_log import RequestLog
from auterity_desktop.services.ai.response_cache import ResponseCache, as_hit, cache_key
from auterity_desktop.services.ai.router import HealthBook, clock_text
from auterity_desktop.services.ai.types import (
    ModelRequest,
    ModelResponse,
    ProviderKind,
    RoutingDecision,
    StreamDelta,
)
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

logger = logging.getLogger(__name__)

RESOURCE = "ai"
MAX_KEY_LENGTH = 4096
TEST_PROMPT = "Reply with the single word OK."
DEFAULT_RETRY = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=8.0, jitter=0.5)


def _default_client(max_connections: int, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
    )


def _tokens_per_s(output_tokens: int, latency: float, ttft: float | None) -> float | None:
    if output_tokens <= 0:
        return None
    generating = latency - ttft if ttft is not None and latency > ttft else latency
    return output_tokens / generating if generating > 0 else None


class AIModelOrchestrationService(BaseService):
    name = "ai"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        secrets: SecretStore,
        events: EventBus | None = None,
        metrics: MetricsCollector | None = None,
        *,
        cache_size: int = 1000,
        request_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        http_client: Callable[[], httpx.AsyncClient] | None = None,
        max_connections: int = 100,
        cache_ttl: float = 3600.0,
        sync_interval: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        log_delay: float = 0.25,
    ) -> None:
        """``http_client`` builds the one client every provider call shares (tests, proxies);
        ``sleep`` is how routing waits (tests pass one that moves their clock);
        ``sync_interval`` 0 re-reads catalogue and spend only on this console's changes."""
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.secrets = secrets
        self.events = events
        self.metrics = metrics
        self.request_timeout = float(request_timeout)
        self.clock = clock
        self.max_connections = max_connections
        self.sync_interval = sync_interval
        self._client_factory = http_client
        self.cache = ResponseCache(cache_size, cache_ttl, clock)
        self.health_book = HealthBook(clock)
        self.limiter = RateLimiter()
        self.budgets = BudgetBook(clock)
        self.meter = Meter(metrics)
        self.log = RequestLog(database, delay=log_delay)
        self._retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._catalogue = Catalogue()
        self._updated: dict[str, float] = {}
        self._keys: dict[str, str] = {}
        self._client: httpx.AsyncClient | None = None
        self._dispatcher: Dispatcher | None = None
        self._sync_task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def initialize(self) -> None:
        self._client = (
            self._client_factory()
            if self._client_factory is not None
            else _default_client(self.max_connections, self.request_timeout)
        )
        self.providers = build_providers(self._client, self.clock)
        self._dispatcher = Dispatcher(
            self.providers, self.health_book, self.limiter, self.budgets, self.meter,
            self._api_key, default_timeout=self.request_timeout, retry=self._retry,
            clock=self.clock, sleep=self._sleep, rng=self._rng, on_cooled=self._cooled,
        )  # fmt: skip
        await self._ensure_default_policy()
        await self._reload()
        await self._sync_budgets()
        if self.sync_interval > 0:
            self._sync_task = asyncio.create_task(self._sync_loop())

    async def cleanup(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            await asyncio.gather(self._sync_task, return_exceptions=True)
            self._sync_task = None
        await self.log.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._dispatcher = None
        self._keys.clear()

    async def health(self) -> Health:
        if not self.started:
            return await super().health()
        now = self.clock()
        deployments = self._catalogue.deployments
        cooling = [n for n in deployments if self.health_book.ready_at(n) > now]
        detail = f"{len(deployments)} deployments"
        if cooling:
            detail += f", {len(cooling)} cooling down"
        return Health(
            HealthState.OK,
            detail,
            {"deployments": len(deployments), "cooling": cooling, "cache_entries": len(self.cache),
             "log_pending": self.log.pending},
        )  # fmt: skip

    async def _ensure_default_policy(self) -> None:
        async with self.database.session() as db:
            if await db.get(AIPolicyRow, DEFAULT_POLICY) is not None:
                return
        now = self.clock()
        try:
            async with self.database.session() as db:
                db.add(
                    AIPolicyRow(
                        name=DEFAULT_POLICY,
                        created_by="system",
                        created_at=now,
                        updated_at=now,
                        **catalogue_store.policy_values(catalogue_store.DEFAULT_POLICY_SPEC),
                    )
                )
        except IntegrityError:  # another console created it first
            pass

    async def _reload(self) -> None:
        async with self.database.session() as db:
            catalogue, updated = await catalogue_store.load(db)
        self._updated = updated
        if catalogue == self._catalogue:
            return
        previous = self._catalogue
        self._catalogue = catalogue
        self.budgets.configure(catalogue.budgets)
        for name, spec in previous.deployments.items():
            if catalogue.deployments.get(name) != spec:
                self.health_book.forget(name)
                self.limiter.forget(name)
        self._keys = {ref: k for ref, k in self._keys.items() if ref in catalogue.key_refs.values()}
        if previous.deployments or previous.policies:
            await self.cache.clear()

    async def _sync_budgets(self) -> None:
        specs = self.budgets.specs
        now = self.clock()

        async def totals(conn: Any) -> dict[str, tuple[float, float]]:
            return await usage_stats.budget_totals(conn, specs, now)

        found = await self.log.sync(self.budgets.begin_sync, totals)
        if found:
            self.budgets.load(found)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_interval)
            try:
                await self._reload()
                await self._sync_budgets()
            except Exception:  # the database may be away for a while; try again later
                logger.exception("re-reading the AI catalogue failed")

    def _running(self) -> Dispatcher:
        if self._dispatcher is None:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE, "The AI orchestration service is not running", {}
            )
        return self._dispatcher

    # -- keys -----------------------------------------------------------------------------
    async def _api_key(self, spec: DeploymentSpec) -> str | None:
        ref = self._catalogue.key_refs.get(spec.name)
        if not ref:
            return None
        known = self._keys.get(ref)
        if known is not None:
            return known
        try:
            value = await self.secrets.get(ref)
        except ServiceError as exc:
            raise ServiceError(
                exc.code,
                f"The API key of {spec.name} cannot be read: {exc.message}",
                {"deployment": spec.name, "outcome": "no_key"},
            ) from None
        if value is None:
            raise ServiceError(
                ErrorCode.SECRET_STORE_UNAVAILABLE,
                f"The keyring no longer holds the API key of {spec.name}; enter it again on "
                "the AI page",
                {"deployment": spec.name, "outcome": "no_key"},
            )
        self._keys[ref] = value
        return value

    def _cooled(self, deployment: str, until: float) -> None:
        logger.warning(
            "AI deployment cooling down",
            extra={"deployment": deployment, "until": clock_text(until)},
        )
        self._publish("ai_deployment_cooling", {"deployment": deployment, "until": until})

    # -- serving --------------------------------------------------------------------------
    async def route_request(self, model_request: ModelRequest | Mapping[str, Any]) -> ModelResponse:
        """Serve one request (a ``ModelRequest`` or a dict of its fields)."""
        return await self._serve(to_request(model_request), None)

    async def stream_request(
        self, model_request: ModelRequest | Mapping[str, Any]
    ) -> AsyncIterator[StreamDelta | ModelResponse]:
        """Text as it arrives (``StreamDelta``), then the ``ModelResponse``."""
        request = to_request(model_request)
        async with aclosing(self._stream(request, None)) as items:
            async for item in items:
                yield item

    @guarded(RESOURCE, "execute")
    async def chat(
        self, actor: Principal, request: ModelRequest | Mapping[str, Any]
    ) -> ModelResponse:
        return await self._serve(to_request(request), actor.username)

    async def chat_stream(
        self, actor: Principal, request: ModelRequest | Mapping[str, Any]
    ) -> AsyncIterator[StreamDelta | ModelResponse]:
        """``stream_request`` for a signed-in user (ai:execute, checked before anything
        is yielded)."""
        if not isinstance(actor, Principal):
            raise ServiceError(ErrorCode.UNAUTHENTICATED, "Sign in first", {})
        await self.authz.authorize(actor, RESOURCE, "execute")
        checked = to_request(request)
        async with aclosing(self._stream(checked, actor.username)) as items:
            async for item in items:
                yield item

    async def _serve(self, request: ModelRequest, actor: str | None) -> ModelResponse:
        self._running()
        started, ts = time.perf_counter(), self.clock()
        if not request.cache or not self.cache.enabled:
            return await self._route(request, actor, started, ts)
        response, computed = await self.cache.get_or_compute(
            cache_key(request), lambda: self._route(request, actor, started, ts)
        )
        if computed:
            return response
        hit = as_hit(response, time.perf_counter() - started)
        self._record_hit(request, actor, ts, hit, streamed=False)
        return hit

    def _refusal(self, request: ModelRequest, plan_policy: str | None) -> ServiceError | None:
        budget = self.budgets.exhausted(None, request.workflow_id)
        if budget is None:
            return None
        spent, held = self.budgets.spent(budget)
        message = (
            f"Refused: {budget.label} is spent (${spent + held:,.4f} of ${budget.limit:,.2f}); "
            f"it starts again at {_utc(period_bounds(budget.period, self.clock())[1])}"
        )
        decision = RoutingDecision(plan_policy, None, None, message)
        return ServiceError(
            ErrorCode.VALIDATION_ERROR,
            message,
            {"reason": "budget_exceeded", "budget": budget.id, "scope": budget.scope,
             "period": budget.period, "limit": budget.limit, "spent": spent,
             "decision": decision_dict(decision)},
        )  # fmt: skip

    async def _route(
        self, request: ModelRequest, actor: str | None, started: float, ts: float
    ) -> ModelResponse:
        dispatcher = self._running()
        catalogue = self._catalogue
        policy = request.policy
        try:
            plan = make_plan(request, catalogue)
            policy = plan.policy
            refusal = self._refusal(request, plan.policy)
            if refusal is not None:
                raise refusal
            served = await dispatcher.serve(request, catalogue, plan)
        except ServiceError as exc:
            self._record_failure(request, actor, ts, started, policy, exc, streamed=False)
            raise
        response = self._response(served, time.perf_counter() - started)
        self._record(request, actor, ts, served, response, streamed=False)
        return response

    async def _stream(
        self, request: ModelRequest, actor: str | None
    ) -> AsyncGenerator[StreamDelta | ModelResponse, None]:
        dispatcher = self._running()
        started, ts = time.perf_counter(), self.clock()
        key = cache_key(request) if request.cache and self.cache.enabled else None
        if key is not None:
            found = await self.cache.get(key)
            if found is not None:
                hit = as_hit(found, time.perf_counter() - started)
                self._record_hit(request, actor, ts, hit, streamed=True)
                yield StreamDelta(hit.text)
                yield hit
                return
        catalogue = self._catalogue
        served: Served | None = None
        policy = request.policy
        finished = False
        try:
            plan = make_plan(request, catalogue)
            policy = plan.policy
            refusal = self._refusal(request, plan.policy)
            if refusal is not None:
                raise refusal
            async with aclosing(dispatcher.stream(request, catalogue, plan)) as items:
                async for item in items:
                    if isinstance(item, Served):
                        served = item
                    else:
                        yield StreamDelta(item)
            finished = True
        except ServiceError as exc:
            finished = True
            self._record_failure(request, actor, ts, started, policy, exc, streamed=True)
            raise
        finally:
            if not finished:  # the caller stopped reading, or was cancelled
                self._record_cancelled(request, actor, ts, started, policy)
        assert served is not None
        response = self._response(served, time.perf_counter() - started)
        self._record(request, actor, ts, served, response, streamed=True)
        if key is not None:
            await self.cache.put(key, response)
        yield response

    def _response(self, served: Served, elapsed: float) -> ModelResponse:
        completion, spec = served.completion, served.deployment
        ttft = completion.time_to_first_token_s
        if ttft is not None:
            ttft += max(0.0, elapsed - served.latency_s)  # from the request, not the call
        speed = completion.tokens_per_s or _tokens_per_s(
            completion.usage.output_tokens, served.latency_s, completion.time_to_first_token_s
        )
        return ModelResponse(
            id=completion.id,
            text=completion.text,
            deployment=spec.name,
            provider=spec.provider,
            model=completion.model,
            usage=completion.usage,
            cost=served.cost,
            latency_s=elapsed,
            time_to_first_token_s=ttft,
            cached=False,
            finish_reason=completion.finish_reason,
            decision=served.decision,
            json=served.parsed,
            tokens_per_s=speed,
        )

    # -- accounting -----------------------------------------------------------------------
    def _row(
        self, request: ModelRequest, actor: str | None, ts: float, **values: Any
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ts": ts, "deployment": None, "provider": None, "model": None, "policy": None,
            "workflow_id": request.workflow_id, "run_id": request.run_id,
            "purpose": request.purpose, "actor": actor, "input_tokens": 0, "output_tokens": 0,
            "cached_tokens": 0, "cost": 0.0, "latency_s": 0.0, "ttft_s": None,
            "tokens_per_s": None, "outcome": "ok", "error_code": None, "cached": False,
            "streamed": False, "attempts": 0, "decision": {},
        }  # fmt: skip
        row.update(values)
        return row

    def _record(
        self,
        request: ModelRequest,
        actor: str | None,
        ts: float,
        served: Served,
        response: ModelResponse,
        *,
        streamed: bool,
    ) -> None:
        usage = response.usage
        call_ttft = served.completion.time_to_first_token_s
        self.meter.served(
            response.deployment, served.latency_s, call_ttft, usage, response.cost,
            response.tokens_per_s,
        )  # fmt: skip
        self.log.add(
            self._row(
                request, actor, ts, deployment=response.deployment,
                provider=response.provider.value, model=response.model[:200],
                policy=response.decision.policy, input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens, cached_tokens=usage.cached_tokens,
                cost=response.cost, latency_s=served.latency_s, ttft_s=call_ttft,
                tokens_per_s=response.tokens_per_s, streamed=streamed,
                attempts=len(response.decision.attempts),
                decision=response.decision,  # made JSON by the writer, off the path
            )
        )  # fmt: skip

    def _record_hit(
        self, request: ModelRequest, actor: str | None, ts: float, hit: ModelResponse,
        *, streamed: bool,
    ) -> None:  # fmt: skip
        self.meter.cache_hit(hit.deployment)
        self.log.add(
            self._row(
                request, actor, ts, deployment=hit.deployment, provider=hit.provider.value,
                model=hit.model[:200], policy=hit.decision.policy, latency_s=hit.latency_s,
                cached=True, streamed=streamed, decision=decision_dict(hit.decision),
            )
        )  # fmt: skip

    def _record_failure(
        self,
        request: ModelRequest,
        actor: str | None,
        ts: float,
        started: float,
        policy: str | None,
        error: ServiceError,
        *,
        streamed: bool,
    ) -> None:
        decision = error.details.get("decision")
        decision = decision if isinstance(decision, dict) else {}
        attempts = decision.get("attempts") or []
        last = attempts[-1]["deployment"] if attempts else None
        spec = self._catalogue.deployments.get(last) if last else None
        refused = error.details.get("reason") in ("budget_exceeded", "busy", "no_fit",
                                                  "no_deployments")  # fmt: skip
        self.meter.failed_request(last)
        self.log.add(
            self._row(
                request, actor, ts, deployment=last,
                provider=spec.provider.value if spec else None,
                model=spec.model if spec else None, policy=policy,
                latency_s=time.perf_counter() - started,
                outcome="refused" if refused and not attempts else "error",
                error_code=error.code.value, streamed=streamed, attempts=len(attempts),
                decision=decision,
            )
        )  # fmt: skip

    def _record_cancelled(
        self, request: ModelRequest, actor: str | None, ts: float, started: float,
        policy: str | None,
    ) -> None:  # fmt: skip
        self.log.add(
            self._row(
                request, actor, ts, policy=policy, latency_s=time.perf_counter() - started,
                outcome="cancelled", streamed=True,
            )
        )  # fmt: skip

    # -- deployments ----------------------------------------------------------------------
    def _deployment_info(
        self, spec: DeploymentSpec, last_used: float | None, now: float
    ) -> DeploymentInfo:
        has_key = bool(self._catalogue.key_refs.get(spec.name))
        state = self.health_book.state(spec.name)
        used = state.last_used_at or last_used
        if not spec.enabled:
            status, word = "disabled", "disabled"
        elif needs_key(spec) and not has_key:
            status, word = "no API key", "no_key"
        elif state.cooling_until > now:
            status, word = f"cooling down until {clock_text(state.cooling_until)}", "cooling_down"
        elif state.limited_until > now:
            status = f"rate limited by its provider until {clock_text(state.limited_until)}"
            word = "rate_limited"
        elif used is None:
            status, word = "never used", "never_used"
        elif state.last_error:
            status, word = f"last call failed: {state.last_error}", "failing"
        else:
            status, word = "ready", "ready"
        return DeploymentInfo(
            name=spec.name,
            provider=spec.provider,
            model=spec.model,
            api_base=spec.api_base,
            price_input_per_1k=spec.price_input_per_1k,
            price_output_per_1k=spec.price_output_per_1k,
            context_window=spec.context_window,
            capabilities=tuple(sorted(c.value for c in spec.capabilities)),
            rpm=spec.rpm,
            tpm=spec.tpm,
            weight=spec.weight,
            enabled=spec.enabled,
            has_key=has_key,
            status=status,
            state=word,
            price_cached_input_per_1k=spec.price_cached_input_per_1k,
            max_output_tokens=spec.max_output_tokens,
            in_flight=state.in_flight,
            cooling_until=state.cooling_until if state.cooling_until > now else None,
            last_used_at=used,
            last_error=state.last_error,
            updated_at=self._updated.get(f"deployment:{spec.name}"),
        )

    @guarded(RESOURCE, "read")
    async def list_deployments(self, actor: Principal) -> list[DeploymentInfo]:
        await self._reload()
        await self.log.flush()
        async with self.database.session() as db:
            last = await usage_stats.last_use(await db.connection())
        now = self.clock()
        return [
            self._deployment_info(spec, last.get(name), now)
            for name, spec in sorted(self._catalogue.deployments.items())
        ]

    async def _deployment_row(self, db: Any, name: Any) -> AIDeploymentRow:
        row = await db.get(AIDeploymentRow, name) if isinstance(name, str) else None
        if row is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"There is no deployment {name!r}", {"deployment": name}
            )
        return row  # type: ignore[no-any-return]

    @guarded(RESOURCE, "write")
    async def save_deployment(
        self, actor: Principal, spec: Mapping[str, Any], api_key: str | None = None
    ) -> DeploymentInfo:
        """Create or update (by name). ``api_key``: None keeps the stored key, "" removes
        it, anything else is stored in the keyring (a spec's ``api_key`` works the same)."""
        data = check_mapping(spec, DEPLOYMENT_FIELDS, "deployment")
        if "api_key" in data:
            in_spec = data.pop("api_key")
            api_key = in_spec if api_key is None else api_key
        if api_key is not None and (not isinstance(api_key, str) or len(api_key) > MAX_KEY_LENGTH):
            raise refuse([("api_key", "The API key must be a text of up to 4,096 characters")])
        if api_key is not None:
            api_key = api_key.strip()
        if check_name(data.get("name"), "deployment"):
            deployment_spec(data, None)  # refuses with every problem of the form
        name = str(data["name"]).strip()
        if name in self._catalogue.policies:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"A policy is called {name!r}; give the deployment another name",
                {"field": "name", "name": name},
            )
        ref = catalogue_store.key_ref(name)
        async with self.database.session() as db:
            row = await db.get(AIDeploymentRow, name)
            existing = catalogue_store.deployment_of(row) if row is not None else None
            checked = deployment_spec({**data, "name": name}, existing)
        if api_key:
            self.secrets.check_available()  # before anything is stored anywhere
            await self.secrets.set(ref, api_key)
        elif api_key == "" and row is not None and row.key_ref:
            await self.secrets.delete(row.key_ref)
        stored_ref = ref if api_key else None if api_key == "" else (row.key_ref if row else None)
        now = self.clock()
        values = catalogue_store.deployment_values(checked)
        try:
            async with self.database.session() as db:
                current = await db.get(AIDeploymentRow, name)
                if current is None:
                    db.add(AIDeploymentRow(name=name, key_ref=stored_ref, created_by=actor.username,
                                           created_at=now, updated_at=now, **values))  # fmt: skip
                else:
                    for column, value in values.items():
                        setattr(current, column, value)
                    current.key_ref = stored_ref
                    current.updated_at = now
        except BaseException:
            if api_key and row is None:
                await self.secrets.delete(ref)  # no orphaned key for a deployment not saved
            raise
        self._keys.pop(ref, None)
        await self._changed()
        changed = sorted(
            k for k, v in values.items()
            if existing is None or catalogue_store.deployment_values(existing).get(k) != v
        )  # fmt: skip
        key_change = "set" if api_key else "removed" if api_key == "" else "kept"
        await self.audit.record(
            actor.username,
            "ai.deployment_created" if existing is None else "ai.deployment_updated",
            f"ai/deployments/{name}",
            "success",
            {"provider": checked.provider.value, "model": checked.model,
             "fields": changed, "key_change": key_change},
        )  # fmt: skip
        self._publish("ai_catalogue_changed", {"kind": "deployment", "name": name})
        return self._deployment_info(self._catalogue.deployments[name], None, self.clock())

    @guarded(RESOURCE, "delete")
    async def delete_deployment(self, actor: Principal, name: str) -> None:
        """Delete a deployment and its keyring entry; policies that list it lose it (a
        policy it would leave without deployments blocks the delete)."""
        async with self.database.session() as db:
            row = await self._deployment_row(db, name)
            policies = list((await db.execute(select(AIPolicyRow))).scalars())
            orphaned = [p.name for p in policies if list(p.deployments or ()) == [name]]
            if orphaned:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    f"{name} is the only deployment of policy {', '.join(orphaned)}; change "
                    "or delete that policy first",
                    {"deployment": name, "policies": orphaned},
                )
            touched = []
            for policy in policies:
                kept = [n for n in policy.deployments or () if n != name]
                fallbacks = [n for n in policy.fallbacks or () if n != name]
                if kept != list(policy.deployments or ()) or fallbacks != list(
                    policy.fallbacks or ()
                ):
                    policy.deployments, policy.fallbacks = kept, fallbacks
                    policy.updated_at = self.clock()
                    touched.append(policy.name)
            key = row.key_ref
            await db.delete(row)
        if key:
            await self.secrets.delete(key)
            self._keys.pop(key, None)
        await self._changed()
        self.health_book.forget(name)
        self.limiter.forget(name)
        await self.audit.record(
            actor.username,
            "ai.deployment_deleted",
            f"ai/deployments/{name}",
            "success",
            {"key_removed": bool(key), "removed_from_policies": touched},
        )
        self._publish("ai_catalogue_changed", {"kind": "deployment", "name": name})

    @guarded(RESOURCE, "execute")
    async def test_deployment(self, actor: Principal, name: str) -> DeploymentTest:
        """One tiny call straight to the deployment (no cache, routing or limits; its cost
        counts). Success clears a cooldown: whatever was wrong is fixed."""
        self._running()
        spec = self._catalogue.deployments.get(name) if isinstance(name, str) else None
        if spec is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"There is no deployment {name!r}", {"deployment": name}
            )
        request = ModelRequest.from_prompt(TEST_PROMPT, max_tokens=16, cache=False,
                                           purpose="test")  # fmt: skip
        started, ts = time.perf_counter(), self.clock()
        try:
            endpoint = Endpoint(
                spec.name, spec.provider, spec.model, spec.api_base, await self._api_key(spec),
                spec.max_output_tokens,
            )  # fmt: skip
            completion = await self.providers[spec.provider].complete(
                endpoint, request, self.request_timeout
            )
        except ServiceError as exc:
            latency = time.perf_counter() - started
            result = DeploymentTest(False, latency, None, None, exc.message, exc.code.value)
            self.health_book.state(spec.name).last_error = exc.message
        else:
            latency = time.perf_counter() - started
            cost = cost_of(spec, completion.usage)
            self.health_book.clear_cooldown(spec.name)
            self.health_book.success(spec.name, latency)
            self.budgets.charge(spec.name, None, cost)
            result = DeploymentTest(
                True, latency, completion.model, completion.text, None, None, completion.usage,
                cost,
            )  # fmt: skip
            decision = RoutingDecision(None, None, spec.name, "connection test")
            self.log.add(
                self._row(
                    request, actor.username, ts, deployment=spec.name,
                    provider=spec.provider.value, model=completion.model[:200],
                    input_tokens=completion.usage.input_tokens,
                    output_tokens=completion.usage.output_tokens,
                    cached_tokens=completion.usage.cached_tokens, cost=cost, latency_s=latency,
                    attempts=1, decision=decision_dict(replace(decision, attempts=())),
                )
            )  # fmt: skip
        await self.audit.record(
            actor.username,
            "ai.deployment_tested",
            f"ai/deployments/{spec.name}",
            "success" if result.ok else "failure",
            {"latency_s": round(latency, 4), "error": result.error_code},
        )
        return result

    @guarded(RESOURCE, "write")
    async def list_local_models(self, actor: Principal, api_base: str) -> list[str]:
        """The models pulled on an Ollama server, for the deployment form."""
        self._running()
        base = check_url(api_base)
        if base is None:
            raise refuse([("api_base", "The address must be an http:// or https:// URL")])
        assert self._client is not None
        fail = Failures(Endpoint(f"Ollama at {base}", ProviderKind.OLLAMA, "", base, None, 0))
        return await list_models(self._client, base, min(self.request_timeout, 10.0), fail)

    # -- policies -------------------------------------------------------------------------
    def _policy_info(self, spec: PolicySpec) -> PolicyInfo:
        return PolicyInfo(
            name=spec.name,
            strategy=spec.strategy,
            deployments=spec.deployments,
            fallbacks=spec.fallbacks,
            num_retries=spec.num_retries,
            allowed_fails=spec.allowed_fails,
            cooldown_seconds=spec.cooldown_seconds,
            description=spec.description,
            is_default=spec.name == DEFAULT_POLICY,
            updated_at=self._updated.get(f"policy:{spec.name}"),
        )

    @guarded(RESOURCE, "read")
    async def list_policies(self, actor: Principal) -> list[PolicyInfo]:
        await self._reload()
        return [self._policy_info(p) for _, p in sorted(self._catalogue.policies.items())]

    @guarded(RESOURCE, "write")
    async def save_policy(self, actor: Principal, spec: Mapping[str, Any]) -> PolicyInfo:
        """Create or update (by name) a routing policy."""
        data = check_mapping(spec, POLICY_FIELDS, "policy")
        if check_name(data.get("name"), "policy"):
            policy_spec(data, None, self._catalogue.deployments, self._catalogue.policies)
        name = str(data["name"]).strip()
        await self._reload()
        if name in self._catalogue.deployments:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"A deployment is called {name!r}; give the policy another name",
                {"field": "name", "name": name},
            )
        now = self.clock()
        async with self.database.session() as db:
            row = await db.get(AIPolicyRow, name)
            existing = catalogue_store.policy_of(row) if row is not None else None
            checked = policy_spec(
                {**data, "name": name},
                existing,
                self._catalogue.deployments,
                self._catalogue.policies,
            )
            values = catalogue_store.policy_values(checked)
            if row is None:
                db.add(AIPolicyRow(name=name, created_by=actor.username, created_at=now,
                                   updated_at=now, **values))  # fmt: skip
            else:
                for column, value in values.items():
                    setattr(row, column, value)
                row.updated_at = now
        await self._changed()
        await self.audit.record(
            actor.username,
            "ai.policy_created" if existing is None else "ai.policy_updated",
            f"ai/policies/{name}",
            "success",
            {"strategy": checked.strategy.value, "deployments": list(checked.deployments),
             "fallbacks": list(checked.fallbacks)},
        )  # fmt: skip
        self._publish("ai_catalogue_changed", {"kind": "policy", "name": name})
        return self._policy_info(checked)

    @guarded(RESOURCE, "delete")
    async def delete_policy(self, actor: Principal, name: str) -> None:
        if name == DEFAULT_POLICY:
            raise ServiceError(
                ErrorCode.CONFLICT,
                "The default policy routes requests that name no policy; edit it instead",
                {"policy": name},
            )
        async with self.database.session() as db:
            row = await db.get(AIPolicyRow, name) if isinstance(name, str) else None
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"There is no policy {name!r}", {"policy": name}
                )
            touched = []
            for other in (await db.execute(select(AIPolicyRow))).scalars():
                if name in (other.fallbacks or ()):
                    other.fallbacks = [n for n in other.fallbacks if n != name]
                    other.updated_at = self.clock()
                    touched.append(other.name)
            await db.delete(row)
        await self._changed()
        await self.audit.record(
            actor.username,
            "ai.policy_deleted",
            f"ai/policies/{name}",
            "success",
            {"removed_from_fallbacks_of": touched},
        )
        self._publish("ai_catalogue_changed", {"kind": "policy", "name": name})

    # -- budgets --------------------------------------------------------------------------
    def _budget_info(self, spec: BudgetSpec) -> BudgetInfo:
        spent, held = self.budgets.spent(spec)
        start, end = period_bounds(spec.period, self.clock())
        return BudgetInfo(
            id=spec.id,
            scope=spec.scope,
            period=spec.period,
            limit=spec.limit,
            spent=spent,
            held=held,
            remaining=max(0.0, spec.limit - spent - held),
            exhausted=spent + held >= spec.limit,
            period_start=start,
            resets_at=end,
            label=spec.label,
            updated_at=self._updated.get(f"budget:{spec.id}"),
        )

    @guarded(RESOURCE, "read")
    async def list_budgets(self, actor: Principal) -> list[BudgetInfo]:
        await self._reload()
        await self._sync_budgets()
        return [self._budget_info(b) for b in self._catalogue.budgets]

    @guarded(RESOURCE, "write")
    async def save_budget(self, actor: Principal, spec: Mapping[str, Any]) -> BudgetInfo:
        """Create a budget, or update the one whose ``id`` is given."""
        data = check_mapping(spec, BUDGET_FIELDS, "budget")
        await self._reload()
        budget_id = data.pop("id", None)
        existing = None
        if budget_id is not None:
            existing = next((b for b in self._catalogue.budgets if b.id == budget_id), None)
            if existing is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"There is no budget {budget_id!r}", {"budget": budget_id}
                )
        checked = budget_spec(data, existing, uuid.uuid4().hex, self._catalogue.deployments)
        clash = next(
            (b for b in self._catalogue.budgets
             if (b.kind, b.target, b.period) == (checked.kind, checked.target, checked.period)
             and b.id != checked.id),
            None,
        )  # fmt: skip
        if clash is not None:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"There is a {checked.period} budget for {checked.scope} already; edit it",
                {"field": "scope", "budget": clash.id},
            )
        now = self.clock()
        try:
            async with self.database.session() as db:
                row = await db.get(AIBudgetRow, checked.id)
                if row is None:
                    db.add(AIBudgetRow(id=checked.id, scope=checked.kind, target=checked.target,
                                       period=checked.period, limit_amount=checked.limit,
                                       created_by=actor.username, created_at=now,
                                       updated_at=now))  # fmt: skip
                else:
                    row.scope, row.target, row.period = checked.kind, checked.target, checked.period
                    row.limit_amount, row.updated_at = checked.limit, now
        except IntegrityError:  # another console saved the same scope meanwhile
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"There is a {checked.period} budget for {checked.scope} already; edit it",
                {"field": "scope"},
            ) from None
        await self._changed()
        await self._sync_budgets()
        await self.audit.record(
            actor.username,
            "ai.budget_created" if existing is None else "ai.budget_updated",
            f"ai/budgets/{checked.id}",
            "success",
            {"scope": checked.scope, "period": checked.period, "limit": checked.limit},
        )
        self._publish("ai_catalogue_changed", {"kind": "budget", "name": checked.id})
        return self._budget_info(checked)

    @guarded(RESOURCE, "delete")
    async def delete_budget(self, actor: Principal, id: str) -> None:
        async with self.database.session() as db:
            row: AIBudgetRow | None = await db.get(AIBudgetRow, id) if isinstance(id, str) else None
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND, f"There is no budget {id!r}", {"budget": id}
                )
            scope = "global" if row.scope == "global" else f"{row.scope}:{row.target}"
            await db.execute(delete(AIBudgetRow).where(AIBudgetRow.id == id))
        await self._changed()
        await self.audit.record(
            actor.username,
            "ai.budget_deleted",
            f"ai/budgets/{id}",
            "success",
            {"scope": scope},
        )
        self._publish("ai_catalogue_changed", {"kind": "budget", "name": id})

    # -- reports --------------------------------------------------------------------------
    @guarded(RESOURCE, "read")
    async def usage(
        self, actor: Principal, since: float, until: float, bucket: str = "hour"
    ) -> list[UsageRow]:
        """Requests, errors, tokens, cost and latency per bucket and deployment."""
        problems = []
        for field, value in (("since", since), ("until", until)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append((field, f"{field} must be a time in seconds"))
        if bucket not in usage_stats.BUCKETS:
            problems.append(("bucket", "bucket must be minute, hour or day"))
        if not problems and until <= since:
            problems.append(("until", "until must come after since"))
        if problems:
            raise refuse(problems)
        await self.log.flush()
        async with self.database.session() as db:
            return await usage_stats.usage_rows(
                await db.connection(), float(since), float(until), usage_stats.BUCKETS[bucket]
            )

    @guarded(RESOURCE, "read")
    async def deployment_stats(self, actor: Principal) -> list[DeploymentStats]:
        """Each deployment over the last 24 hours, with its spend today and this month."""
        await self.log.flush()
        now = self.clock()
        async with self.database.session() as db:
            conn = await db.connection()
            recent = await usage_stats.recent_stats(conn, now)
            today = await usage_stats.spend_since(conn, period_bounds("day", now)[0])
            month = await usage_stats.spend_since(conn, period_bounds("month", now)[0])
        names = sorted(set(self._catalogue.deployments) | set(recent) | set(month))
        result = []
        for name in names:
            entry = recent.get(name, {})
            calls, errors = entry.get("calls", 0), entry.get("errors", 0)
            p50, p95 = entry.get("latency_q", (None, None))
            t50, t95 = entry.get("ttft_q", (None, None))
            result.append(
                DeploymentStats(
                    deployment=name,
                    requests=entry.get("requests", 0),
                    errors=errors,
                    error_rate=errors / calls if calls else None,
                    p50_latency_s=p50,
                    p95_latency_s=p95,
                    p50_ttft_s=t50,
                    p95_ttft_s=t95,
                    tokens_per_s=entry.get("tps"),
                    spend_today=today.get(name, 0.0),
                    spend_month=month.get(name, 0.0),
                    in_flight=self.health_book.in_flight(name),
                    window_s=usage_stats.STATS_WINDOW,
                )
            )
        return result

    # -- plumbing -------------------------------------------------------------------------
    async def _changed(self) -> None:
        await self._reload()
        await self.cache.clear()

    def _publish(self, name: str, payload: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(name, payload, source=self.name)


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))


# Not ``guarded`` (it wraps coroutines, not generators), but checked the same way: say so.
AIModelOrchestrationService.chat_stream.__guard__ = (RESOURCE, "execute")  # type: ignore[attr-defined]
