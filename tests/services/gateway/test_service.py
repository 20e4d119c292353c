"""The gateway's pipeline without HTTP: balancing over controllers, health checks, never
raising, API key rules and the schema of its table (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
from auterity_desktop.services.gateway.operations import Controller, Operation
from auterity_desktop.services.gateway.service import APIGatewayService
from tests.services.conftest import Stack


class Named(Controller):
    """Answers with its own name; may be made slow or unhealthy."""

    def __init__(self, name: str, delay: float = 0.0) -> None:
        self.delay = delay
        self.up = True
        self.calls = 0

        async def who(request: ApiRequest) -> ApiResponse:
            self.calls += 1
            await asyncio.sleep(self.delay)
            return ApiResponse.json({"backend": name})

        async def boom(request: ApiRequest) -> ApiResponse:
            raise RuntimeError("secret detail in a bug")

        super().__init__(
            [
                Operation("GET", "/who", who, "Who answers", "who", auth=False),
                Operation("GET", "/boom", boom, "A bug", "boom", auth=False),
            ],
            name,
        )

    async def healthy(self) -> bool:
        return self.up


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[APIGatewayService]:
    service = APIGatewayService(
        stack.database, stack.audit, stack.security, MetricsCollector(), client_limit=None,
        background=False, clock=stack.clock,
    )  # fmt: skip
    await service.initialize()
    service._mark_started(True)
    yield service
    await service.cleanup()


async def who(gateway: APIGatewayService, path: str = "/svc/who") -> Any:
    response = await gateway.handle(ApiRequest("GET", path))
    return json.loads(response.body)["backend"] if response.status == 200 else response.status


async def test_round_robin_skips_unhealthy_backends(gateway: APIGatewayService) -> None:
    a, b, c = Named("a"), Named("b"), Named("c")
    gateway.register_route("/svc", a, b, c)
    assert [await who(gateway) for _ in range(6)] == ["a", "b", "c"] * 2
    b.up = False
    await gateway.check_backends()
    assert [await who(gateway) for _ in range(4)] == ["a", "c", "a", "c"]
    assert (await gateway.health()).data["unhealthy"] == ["/svc (b#2)"]
    a.up = c.up = False
    await gateway.check_backends()
    assert await who(gateway) == 503
    b.up = True
    await gateway.check_backends()
    assert await who(gateway) == "b"


async def test_least_busy_sends_work_to_the_idle_backend(gateway: APIGatewayService) -> None:
    slow, fast = Named("slow", delay=0.2), Named("fast")
    gateway.register_route("/svc", slow, fast, strategy="least_busy")
    first = asyncio.ensure_future(who(gateway))  # slow takes it and stays busy
    await asyncio.sleep(0.05)
    during = [await who(gateway) for _ in range(3)]
    assert await first == "slow"
    assert during == ["fast", "fast", "fast"]


async def test_an_unexpected_error_is_a_500_body_without_the_detail(
    gateway: APIGatewayService, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.register_route("/svc", Named("a"))
    response = await gateway.handle(ApiRequest("GET", "/svc/boom"))
    assert response.status == 500
    assert b"secret detail" not in response.body
    assert b'"code":"INTERNAL_ERROR"' in response.body
    assert "secret detail in a bug" in caplog.text  # the log keeps it for the developer


async def test_routes_conflict_and_unknown_paths(gateway: APIGatewayService) -> None:
    gateway.register_route("/svc", Named("a"))
    with pytest.raises(ServiceError) as info:
        gateway.register_route("/svc/", Named("b"))
    assert info.value.code is ErrorCode.CONFLICT
    assert (await gateway.handle(ApiRequest("GET", "/other"))).status == 404
    assert (await gateway.handle(ApiRequest("POST", "/svc/who"))).status == 405


@pytest.mark.parametrize(
    ("name", "role", "days", "code"),
    [
        ("", "viewer", None, ErrorCode.INVALID_INPUT),
        ("<script>", "viewer", None, ErrorCode.INVALID_INPUT),
        ("x" * 101, "viewer", None, ErrorCode.INVALID_INPUT),
        ("ok", "emperor", None, ErrorCode.VALIDATION_ERROR),
        ("ok", "viewer", 0, ErrorCode.INVALID_INPUT),
        ("ok", "viewer", 4000, ErrorCode.INVALID_INPUT),
        ("ok", "viewer", True, ErrorCode.INVALID_INPUT),
    ],
)
async def test_bad_key_requests_are_refused(
    gateway: APIGatewayService, stack: Stack, name: str, role: str, days: Any, code: ErrorCode
) -> None:
    admin = await stack.admin()
    with pytest.raises(ServiceError) as info:
        await gateway.keys.create(admin, name, role, days)
    assert info.value.code is code
    assert await gateway.keys.list_keys() == []


async def test_key_names_are_unique_and_revoking_twice_is_harmless(
    gateway: APIGatewayService, stack: Stack
) -> None:
    admin = await stack.admin()
    new = await gateway.keys.create(admin, "dms", "operator", 30)
    assert new.info.expires_at == stack.clock() + 30 * 86_400
    with pytest.raises(ServiceError) as info:
        await gateway.keys.create(admin, "dms", "viewer")
    assert info.value.code is ErrorCode.CONFLICT
    principal = gateway.keys.verify(new.key)
    assert (principal.username, principal.role) == ("apikey:dms", "operator")
    assert principal.can("workflows", "execute") and not principal.can("users", "write")
    await gateway.keys.flush_last_used()
    [listed] = await gateway.keys.list_keys()
    assert listed.last_used_at == stack.clock()
    await gateway.keys.revoke(admin, new.info.id)
    again = await gateway.keys.revoke(admin, new.info.id)
    assert again.revoked_at is not None
    with pytest.raises(ServiceError) as missing:
        await gateway.keys.revoke(admin, "nope")
    assert missing.value.code is ErrorCode.NOT_FOUND


def _differences(conn: Any) -> list[Any]:
    import_all_models()
    context = MigrationContext.configure(
        conn, opts={"render_as_batch": conn.dialect.name == "sqlite"}
    )
    return compare_metadata(context, Base.metadata)


async def test_migration_matches_the_model(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        assert [d for d in differences if "api_keys" in repr(d)] == []
    finally:
        await database.cleanup()
