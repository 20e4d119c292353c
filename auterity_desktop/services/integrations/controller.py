"""``IntegrationController``: configured connections to outside systems.

Secrets go to the OS keyring (one entry per integration secret, service
``auterity-desktop``) before anything is written to the database, and the database keeps
only their names; without a usable keyring nothing is stored and the caller hears why.
Each integration gets one live client with a pool bounded by ``MAX_CONNECTIONS``,
retries with backoff, a circuit breaker whose state shows in its status, latency and
error metrics, and a periodic health check.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select

from auterity_desktop.core.circuit_breaker import BreakerState, CircuitBreaker
from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.integrations.connectors import CONNECTORS
from auterity_desktop.services.integrations.dms_client import DmsClient
from auterity_desktop.services.integrations.email_client import EmailClient
from auterity_desktop.services.integrations.info import (
    DEGRADED_LATENCY,
    IntegrationInfo,
    TestResult,
)
from auterity_desktop.services.integrations.models import IntegrationRow
from auterity_desktop.services.integrations.rest_client import RestClient
from auterity_desktop.services.integrations.schema import (
    ConnectorSpec,
    check_name,
    validate_config,
    with_defaults,
)
from auterity_desktop.services.integrations.sql_client import SqlClient, engine_url
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

logger = logging.getLogger(__name__)
T = TypeVar("T")

LATENCY = "auterity_integration_latency_seconds"
ERRORS = "auterity_integration_errors_total"


def secret_ref(integration_id: str, field: str) -> str:
    return f"integration/{integration_id}/{field}"


class IntegrationController(BaseService):
    name = "integrations"
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
        max_connections: int = 100,
        health_interval: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.secrets = secrets
        self.events = events
        self.metrics = metrics
        self.max_connections = max_connections
        self.health_interval = health_interval
        self.clock = clock
        self._clients: dict[str, Any] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._health: asyncio.Task[None] | None = None
        if metrics is not None:
            metrics.describe(LATENCY, MetricKind.HISTOGRAM, "Latency of calls to integrations")
            metrics.describe(ERRORS, MetricKind.COUNTER, "Failed calls to integrations")

    async def initialize(self) -> None:
        if self.health_interval > 0:
            self._health = asyncio.create_task(self._health_loop())

    async def cleanup(self) -> None:
        if self._health is not None:
            self._health.cancel()
            await asyncio.gather(self._health, return_exceptions=True)
            self._health = None
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # -- the schema -----------------------------------------------------------------------
    def connector_types(self) -> list[ConnectorSpec]:
        return list(CONNECTORS.values())

    def _spec(self, kind: Any) -> ConnectorSpec:
        spec = CONNECTORS.get(kind) if isinstance(kind, str) else None
        if spec is None:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"There is no connector type {kind!r}",
                {"kinds": sorted(CONNECTORS)},
            )
        return spec

    def validate_config(
        self,
        kind: str,
        config: Mapping[str, Any],
        stored_secrets: frozenset[str] = frozenset(),
    ) -> list[tuple[str, str]]:
        """Every problem of a form, as (field, message), for inline validation."""
        if kind not in CONNECTORS:
            return [("kind", f"There is no connector type {kind!r}")]
        spec = CONNECTORS[kind]
        problems = validate_config(spec, config, stored_secrets=stored_secrets)
        if "name" in config and (reason := check_name(config.get("name"))):
            problems.insert(0, ("name", reason))
        if kind == "sql" and isinstance(config.get("url"), str) and config["url"]:
            try:
                engine_url(config["url"], None)
            except ServiceError as exc:
                problems.append(("url", exc.message))
        return problems

    def _refuse(self, problems: list[tuple[str, str]]) -> ServiceError:
        return ServiceError(
            ErrorCode.VALIDATION_ERROR,
            "; ".join(message for _, message in problems[:3]),
            {"problems": [{"field": f, "message": m} for f, m in problems]},
        )

    # -- reading --------------------------------------------------------------------------
    def _status(self, row: IntegrationRow) -> tuple[str, str]:
        breaker = self._breakers.get(row.id)
        circuit = breaker.state.value if breaker is not None else BreakerState.CLOSED.value
        if circuit == BreakerState.OPEN.value:
            return "circuit_open", circuit
        return row.last_status, circuit

    def _info(self, row: IntegrationRow) -> IntegrationInfo:
        spec = CONNECTORS.get(row.kind)
        secret_fields = spec.secret_fields if spec else ()
        status, circuit = self._status(row)
        return IntegrationInfo(
            id=row.id,
            name=row.name,
            kind=row.kind,
            config=dict(row.config),
            secrets={f: secret_ref(row.id, f) in row.secret_refs for f in secret_fields},
            status=status,
            circuit=circuit,
            last_checked_at=row.last_checked_at,
            last_latency=row.last_latency,
            last_error=row.last_error,
            created_by=row.created_by,
            updated_at=row.updated_at,
        )

    async def _row(self, db: Any, integration_id: str) -> IntegrationRow:
        row = await db.get(IntegrationRow, integration_id)
        if row is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"There is no integration {integration_id!r}",
                {"integration_id": integration_id},
            )
        return row  # type: ignore[no-any-return]

    @guarded("integrations", "read")
    async def list_integrations(self, actor: Principal) -> list[IntegrationInfo]:
        async with self.database.session() as db:
            rows = (
                await db.execute(select(IntegrationRow).order_by(IntegrationRow.name))
            ).scalars()
            return [self._info(r) for r in rows]

    @guarded("integrations", "read")
    async def get(self, actor: Principal, integration_id: str) -> IntegrationInfo:
        async with self.database.session() as db:
            return self._info(await self._row(db, integration_id))

    async def find(self, reference: str) -> IntegrationInfo:
        """By id or by name (workflow nodes name the integration they use)."""
        async with self.database.session() as db:
            row = await db.get(IntegrationRow, reference)
            if row is None:
                row = (
                    await db.execute(select(IntegrationRow).where(IntegrationRow.name == reference))
                ).scalar_one_or_none()
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND,
                    f"There is no integration {reference!r}; set one up on the Integrations page",
                    {"integration": reference},
                )
            return self._info(row)

    async def health_statuses(self) -> dict[str, str]:
        """Each integration's name → status (one of ``STATUSES``), for the performance
        monitor; it shows no configuration, so it is not guarded."""
        async with self.database.session() as db:
            rows = (await db.execute(select(IntegrationRow))).scalars()
            return {row.name: self._status(row)[0] for row in rows}

    # -- creating, changing, deleting ----------------------------------------------------
    @guarded("integrations", "write")
    async def establish_connection(
        self, actor: Principal, system_config: Mapping[str, Any]
    ) -> IntegrationInfo:
        """Save a new integration; its secrets go to the keyring, the rest to the database."""
        if not isinstance(system_config, Mapping):
            raise ServiceError(ErrorCode.INVALID_INPUT, "The configuration must be an object", {})
        config = dict(system_config)
        name, kind = config.pop("name", None), config.pop("kind", None)
        spec = self._spec(kind)
        problems = self.validate_config(spec.kind, {**config, "name": name})
        if problems:
            raise self._refuse(problems)
        self.secrets.check_available()  # before anything is stored anywhere
        integration_id = uuid.uuid4().hex
        secret_values = {f: str(config.pop(f)) for f in spec.secret_fields if config.get(f)}
        for field in spec.secret_fields:
            config.pop(field, None)
        stored: list[str] = []
        now = self.clock()
        try:
            for field, value in secret_values.items():
                await self.secrets.set(secret_ref(integration_id, field), value)
                stored.append(secret_ref(integration_id, field))
            async with self.database.session() as db:
                await self._ensure_unique(db, str(name).strip())
                row = IntegrationRow(
                    id=integration_id,
                    name=str(name).strip(),
                    kind=spec.kind,
                    config=with_defaults(spec, config),
                    secret_refs=stored,
                    created_by=actor.username,
                    created_at=now,
                    updated_at=now,
                    last_status="never_tested",
                )
                db.add(row)
                info = self._info(row)
        except BaseException:
            for ref in stored:  # no orphaned secrets in the keyring
                await self.secrets.delete(ref)
            raise
        await self.audit.record(
            actor.username,
            "integration.created",
            f"integrations/{integration_id}",
            "success",
            {"name": info.name, "kind": info.kind, "secrets": sorted(secret_values)},
        )
        self._publish("integration_changed", integration_id)
        return info

    async def connect(self, actor: Principal, config: Mapping[str, Any]) -> IntegrationInfo:
        """The catalogue's short name for ``establish_connection``."""
        return await self.establish_connection(actor, config)

    async def _ensure_unique(self, db: Any, name: str, own_id: str | None = None) -> None:
        clash = (
            await db.execute(select(IntegrationRow.id).where(IntegrationRow.name == name))
        ).scalar_one_or_none()
        if clash is not None and clash != own_id:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"An integration called {name!r} exists already",
                {"field": "name", "name": name},
            )

    @guarded("integrations", "write")
    async def update(
        self, actor: Principal, integration_id: str, changes: Mapping[str, Any]
    ) -> IntegrationInfo:
        """Change settings; a secret given anew is rotated, one left empty is kept."""
        if not isinstance(changes, Mapping):
            raise ServiceError(ErrorCode.INVALID_INPUT, "The changes must be an object", {})
        async with self.database.session() as db:
            row = await self._row(db, integration_id)
            spec = self._spec(row.kind)
            changes = {k: v for k, v in changes.items() if k not in ("kind", "id")}
            new_secrets = {f: str(changes[f]) for f in spec.secret_fields if changes.get(f)}
            plain = {k: v for k, v in changes.items() if k not in spec.secret_fields}
            name = str(plain.pop("name", row.name)).strip()
            config = {**row.config, **plain}
            stored = frozenset(
                f for f in spec.secret_fields if secret_ref(row.id, f) in row.secret_refs
            )
            problems = self.validate_config(
                spec.kind, {**config, **new_secrets, "name": name}, stored_secrets=stored
            )
            if problems:
                raise self._refuse(problems)
            await self._ensure_unique(db, name, row.id)
            if new_secrets:
                self.secrets.check_available()
            for field, value in new_secrets.items():
                await self.secrets.set(secret_ref(row.id, field), value)
            relevant = {f.name for f in spec.relevant(config) if f.secret}
            stale = [
                f
                for f in spec.secret_fields
                if f not in relevant and f in stored | set(new_secrets)
            ]
            for field in stale:  # e.g. a password after switching to OAuth2: not kept around
                await self.secrets.delete(secret_ref(row.id, field))
            kept = (stored | set(new_secrets)) - set(stale)
            row.name = name
            row.config = with_defaults(spec, {k: v for k, v in config.items() if v is not None})
            row.secret_refs = sorted(secret_ref(row.id, f) for f in kept)
            row.updated_at = self.clock()
            if set(plain) - {"name"} or new_secrets or stale:  # a rename tests nothing anew
                row.last_status = "never_tested"
            info = self._info(row)
        await self._drop_client(integration_id)
        await self.audit.record(
            actor.username,
            "integration.updated",
            f"integrations/{integration_id}",
            "success",
            {"fields": sorted(plain), "rotated": sorted(new_secrets), "removed": sorted(stale)},
        )
        self._publish("integration_changed", integration_id)
        return info

    @guarded("integrations", "delete")
    async def delete(self, actor: Principal, integration_id: str) -> None:
        """Delete an integration and its secrets in the keyring."""
        async with self.database.session() as db:
            row = await self._row(db, integration_id)
            refs, name = list(row.secret_refs), row.name
            for ref in refs:
                await self.secrets.delete(ref)
            await db.delete(row)
        await self._drop_client(integration_id)
        self._breakers.pop(integration_id, None)
        await self.audit.record(
            actor.username,
            "integration.deleted",
            f"integrations/{integration_id}",
            "success",
            {"name": name, "secrets_removed": len(refs)},
        )
        self._publish("integration_changed", integration_id)

    # -- live clients ---------------------------------------------------------------------
    async def _secrets_of(
        self, row_id: str, refs: list[str], spec: ConnectorSpec
    ) -> dict[str, str]:
        values = {}
        for field in spec.secret_fields:
            if secret_ref(row_id, field) in refs:
                value = await self.secrets.get(secret_ref(row_id, field))
                if value is None:
                    raise ServiceError(
                        ErrorCode.SECRET_STORE_UNAVAILABLE,
                        f"The keyring no longer holds the {field} of this integration; "
                        "enter it again on the Integrations page",
                        {"integration_id": row_id, "field": field},
                    )
                values[field] = value
        return values

    def _build(self, kind: str, config: dict[str, Any], secrets: dict[str, str]) -> Any:
        if kind == "rest":
            return RestClient(config, secrets, max_connections=self.max_connections)
        if kind == "dms":
            return DmsClient(config, secrets, max_connections=self.max_connections)
        if kind == "sql":
            return SqlClient(config, secrets, max_connections=self.max_connections)
        if kind == "email":
            return EmailClient(config, secrets)
        return _WebhookEndpoint(config, secrets)

    async def client(self, reference: str, kind: str | tuple[str, ...] | None = None) -> Any:
        """The live client of an integration (by id or name), built once and reused."""
        info = await self.find(reference)
        wanted = (kind,) if isinstance(kind, str) else kind
        if wanted and info.kind not in wanted:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"{info.name} is of type {CONNECTORS[info.kind].title}; this needs "
                + " or ".join(CONNECTORS[k].title for k in wanted),
                {"integration": info.name, "kind": info.kind},
            )
        existing = self._clients.get(info.id)
        if existing is not None:
            return existing
        async with self.database.session() as db:
            row = await self._row(db, info.id)
            refs = list(row.secret_refs)
        spec = self._spec(info.kind)
        client = self._build(
            info.kind, dict(info.config), await self._secrets_of(info.id, refs, spec)
        )
        self._clients[info.id] = client
        return client

    async def _drop_client(self, integration_id: str) -> None:
        client = self._clients.pop(integration_id, None)
        if client is not None:
            await client.close()

    def breaker(self, integration_id: str) -> CircuitBreaker:
        if integration_id not in self._breakers:
            self._breakers[integration_id] = CircuitBreaker(
                f"integration {integration_id}", failure_threshold=5, reset_timeout=30.0
            )
        return self._breakers[integration_id]

    async def call(
        self,
        reference: str,
        kind: str | tuple[str, ...] | None,
        operation: Callable[[Any], Awaitable[T]],
    ) -> T:
        """Run ``operation(client)`` through the integration's circuit breaker, with its
        latency and errors recorded."""
        info = await self.find(reference)
        client = await self.client(info.id, kind)
        started = time.perf_counter()
        try:
            result = await self.breaker(info.id).call(lambda: operation(client))
        except Exception:
            if self.metrics is not None:
                self.metrics.increment(ERRORS, labels={"integration": info.name})
            raise
        if self.metrics is not None:
            self.metrics.observe(
                LATENCY, time.perf_counter() - started, labels={"integration": info.name}
            )
        return result

    # -- testing and health ---------------------------------------------------------------
    @guarded("integrations", "execute")
    async def test_connection(
        self,
        actor: Principal,
        integration_id: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> TestResult:
        """Try a saved integration, or an unsaved form (``config`` with its ``kind``; with
        an ``integration_id`` too, empty secrets mean the stored ones)."""
        if integration_id is None and config is None:
            raise ServiceError(ErrorCode.INVALID_INPUT, "Say what to test", {})
        if config is None:
            assert integration_id is not None
            return await self.check(integration_id)
        form = dict(config)
        form.pop("name", None)
        spec = self._spec(form.pop("kind", None))
        secrets = {f: str(form.pop(f)) for f in spec.secret_fields if form.get(f)}
        for field in spec.secret_fields:
            form.pop(field, None)
        stored: frozenset[str] = frozenset()
        if integration_id is not None:
            async with self.database.session() as db:
                row = await self._row(db, integration_id)
                refs = list(row.secret_refs)
            kept = await self._secrets_of(integration_id, refs, spec)
            secrets = {**kept, **secrets}
            stored = frozenset(kept)
        problems = self.validate_config(spec.kind, {**form, **secrets}, stored_secrets=stored)
        if problems:
            field, message = problems[0]
            return TestResult(False, "down", None, message, {"field": field})
        client = self._build(spec.kind, with_defaults(spec, form), secrets)
        try:
            return await self._probe(spec.kind, client, form)
        finally:
            await client.close()

    async def check(self, integration_id: str) -> TestResult:
        """Test a saved integration and remember the outcome (health checks, the GUI)."""
        info = await self.find(integration_id)
        try:
            client = await self.client(info.id)
        except ServiceError as exc:
            result = TestResult(False, "down", None, exc.message, {"code": exc.code.value})
        else:
            result = await self._probe(info.kind, client, info.config)
        breaker = self.breaker(info.id)
        if result.ok:
            breaker.record_success()
        else:
            breaker.record_failure(ServiceError(ErrorCode.SERVICE_UNAVAILABLE, result.message))
        async with self.database.session() as db:
            row = await self._row(db, info.id)
            row.last_status = result.status
            row.last_checked_at = self.clock()
            row.last_latency = result.latency
            row.last_error = None if result.status == "healthy" else result.message
        self._publish("integration_checked", info.id)
        return result

    async def _probe(self, kind: str, client: Any, config: Mapping[str, Any]) -> TestResult:
        try:
            if kind in ("rest", "dms"):
                path = str(config.get("health_path") or "/")
                response = await client.request("GET", path)
                latency = response.latency
                if response.status >= 400:
                    return TestResult(
                        True,
                        "degraded",
                        latency,
                        f"Reachable, but {path} answered {response.status}",
                        {"status": response.status},
                    )
                message = f"Connected: {path} answered {response.status}"
            elif kind in ("sql", "email"):
                latency = await client.ping()
                message = "Connected" if kind == "sql" else "The SMTP server accepted the login"
            else:
                latency, message = 0.0, "Ready: requests must carry a valid signature"
        except ServiceError as exc:
            return TestResult(False, "down", None, exc.message, {"code": exc.code.value})
        status = "healthy" if latency <= DEGRADED_LATENCY else "degraded"
        if status == "degraded":
            message += f" (slow: {latency * 1000:.0f} ms)"
        return TestResult(True, status, latency, message, {})

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            try:
                async with self.database.session() as db:
                    ids = list((await db.execute(select(IntegrationRow.id))).scalars())
                for integration_id in ids:
                    await self.check(integration_id)
            except Exception:  # one broken integration must not stop the others' checks
                logger.exception("integration health check failed")

    def _publish(self, name: str, integration_id: str) -> None:
        if self.events is not None:
            self.events.publish(name, {"integration_id": integration_id}, source="integrations")


class _WebhookEndpoint:
    """An inbound webhook has no connection to hold; this keeps its secret for checks."""

    def __init__(self, config: dict[str, Any], secrets: dict[str, str]) -> None:
        self.config = config
        self.secret = secrets.get("signing_secret", "")

    async def close(self) -> None:
        return None
