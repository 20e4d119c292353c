"""IntegrationController against the real OS keyring (Secret Service in the test session),
a real HTTP API with OAuth2, the suite's PostgreSQL, SQLite and a local SMTP server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import keyring
import pytest
from sqlalchemy import select

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.secret_store import SecretStore, default_service_name
from auterity_desktop.services.integrations.controller import IntegrationController, secret_ref
from auterity_desktop.services.integrations.models import IntegrationRow
from tests.services.conftest import Stack
from tests.services.integrations.api_server import CLIENT, Api
from tests.services.integrations.conftest import Inbox, closed_port


def stored_secret(integration_id: str, field: str) -> str | None:
    return keyring.get_password(default_service_name(), secret_ref(integration_id, field))


async def test_secrets_live_only_in_the_keyring_and_go_with_the_integration(
    stack: Stack, controller: IntegrationController, api: Api
) -> None:
    admin = await stack.admin()
    info = await controller.establish_connection(
        admin,
        {"name": "CRM", "kind": "rest", "base_url": f"{api.url}/key", "auth": "api_key",
         "api_key": api.api_key, "health_path": "/ping"},
    )  # fmt: skip
    assert stored_secret(info.id, "api_key") == api.api_key
    assert info.secrets == {"api_key": True, "token": False, "password": False,
                            "client_secret": False}  # fmt: skip
    async with stack.database.session() as db:
        row = (await db.execute(select(IntegrationRow))).scalar_one()
        assert api.api_key not in repr(row.config)
        assert row.secret_refs == [secret_ref(info.id, "api_key")]
    result = await controller.test_connection(admin, info.id)
    assert result.ok and result.status == "healthy" and result.latency is not None
    assert api.seen[-1]["headers"]["X-API-Key"] == api.api_key
    listed = await controller.list_integrations(admin)
    assert [(i.name, i.status) for i in listed] == [("CRM", "healthy")]

    # rotation: a new value replaces the stored one; an empty one keeps it
    await controller.update(admin, info.id, {"api_key": ""})
    assert stored_secret(info.id, "api_key") == api.api_key
    api.api_key = "key-rotated"
    await controller.update(admin, info.id, {"api_key": "key-rotated"})
    assert stored_secret(info.id, "api_key") == "key-rotated"
    assert (await controller.test_connection(admin, info.id)).ok

    await controller.delete(admin, info.id)
    assert stored_secret(info.id, "api_key") is None
    assert await controller.list_integrations(admin) == []


async def test_oauth2_fetches_a_token_and_refreshes_it_after_a_401(
    stack: Stack, controller: IntegrationController, api: Api
) -> None:
    admin = await stack.admin()
    info = await controller.establish_connection(
        admin,
        {"name": "DMS", "kind": "rest", "base_url": f"{api.url}/oauth", "auth": "oauth2",
         "token_url": f"{api.url}/token", "client_id": CLIENT[0], "client_secret": CLIENT[1]},
    )  # fmt: skip
    first = await controller.call("DMS", "rest", lambda c: c.request("GET", "/leads"))
    second = await controller.call("DMS", "rest", lambda c: c.request("GET", "/leads"))
    assert first.status == second.status == 200
    assert api.tokens_issued == 1  # cached between calls
    api.revoked.add("tok-1")  # revoked before it expired
    third = await controller.call(info.id, "rest", lambda c: c.request("GET", "/leads"))
    assert third.status == 200 and api.tokens_issued == 2


async def test_basic_bearer_and_wrong_credentials(
    stack: Stack, controller: IntegrationController, api: Api
) -> None:
    admin = await stack.admin()
    await controller.establish_connection(
        admin, {"name": "Basic", "kind": "rest", "base_url": f"{api.url}/basic", "auth": "basic",
                "username": "maria", "password": "pw-42"},
    )  # fmt: skip
    await controller.establish_connection(
        admin, {"name": "Bearer", "kind": "rest", "base_url": f"{api.url}/bearer",
                "auth": "bearer", "token": "wrong"},
    )  # fmt: skip
    ok = await controller.call("Basic", "rest", lambda c: c.request("GET", "/x"))
    assert ok.body == {"ok": True, "path": "/basic/x"}
    with pytest.raises(ServiceError) as info:
        await controller.call("Bearer", "rest", lambda c: c.request("GET", "/x"))
    assert info.value.code is ErrorCode.UNAUTHENTICATED
    assert "refused the credentials (401" in info.value.message


async def test_429_and_503_are_retried_then_succeed(
    stack: Stack, controller: IntegrationController, api: Api
) -> None:
    admin = await stack.admin()
    await controller.establish_connection(
        admin, {"name": "Feed", "kind": "rest", "base_url": api.url}
    )
    api.failures = {"/rate": 2, "/busy": 2}
    assert (await controller.call("Feed", "rest", lambda c: c.request("GET", "/rate"))).status
    assert (await controller.call("Feed", "rest", lambda c: c.request("GET", "/busy"))).status
    assert api.failures == {"/rate": 0, "/busy": 0}
    api.failures = {"/down": 10}
    with pytest.raises(ServiceError) as info:
        await controller.call("Feed", "rest", lambda c: c.request("GET", "/down"))
    assert info.value.code is ErrorCode.SERVICE_UNAVAILABLE


async def test_an_unreachable_host_opens_the_circuit(
    stack: Stack, controller: IntegrationController
) -> None:
    admin = await stack.admin()
    info = await controller.establish_connection(
        admin, {"name": "Gone", "kind": "rest", "base_url": f"http://127.0.0.1:{closed_port()}"}
    )
    client = await controller.client(info.id)
    client.retry = type(client.retry)(max_attempts=1)  # fail fast in the test
    result = await controller.test_connection(admin, info.id)
    assert not result.ok and result.status == "down"
    assert "connection was refused" in result.message
    for _ in range(5):
        with pytest.raises(ServiceError):
            await controller.call("Gone", None, lambda c: c.request("GET", "/"))
    with pytest.raises(ServiceError) as refused:
        await controller.call("Gone", None, lambda c: c.request("GET", "/"))
    assert refused.value.code is ErrorCode.CIRCUIT_OPEN
    [listed] = await controller.list_integrations(admin)
    assert listed.status == "circuit_open" and listed.circuit == "open"
    assert controller.metrics is not None
    assert (
        controller.metrics.value("auterity_integration_errors_total", {"integration": "Gone"}) == 6
    )


async def test_bad_configurations_are_refused_with_every_problem(
    stack: Stack, controller: IntegrationController
) -> None:
    admin = await stack.admin()
    with pytest.raises(ServiceError) as info:
        await controller.establish_connection(
            admin, {"name": "", "kind": "rest", "base_url": "ftp://x", "auth": "oauth2",
                    "timeout": "soon", "colour": "red"},
        )  # fmt: skip
    fields = {p["field"] for p in info.value.details["problems"]}
    assert {
        "name",
        "base_url",
        "token_url",
        "client_id",
        "client_secret",
        "timeout",
        "colour",
    } <= fields
    with pytest.raises(ServiceError) as info:
        await controller.establish_connection(admin, {"name": "X", "kind": "teleport"})
    assert info.value.code is ErrorCode.INVALID_INPUT
    problems = controller.validate_config("sql", {"url": "oracle://db"})
    assert (
        "url",
        "Databases of type 'oracle' are not supported (use PostgreSQL, MySQL or SQLite)",
    ) in problems
    hook = {"name": "Twice", "kind": "webhook", "path": "a", "signing_secret": "s"}
    await controller.establish_connection(admin, hook)
    with pytest.raises(ServiceError) as info:
        await controller.establish_connection(admin, {**hook, "path": "b"})
    assert info.value.code is ErrorCode.CONFLICT
    viewer = await stack.user("vera", "viewer")
    with pytest.raises(ServiceError) as info:
        await controller.establish_connection(viewer, {**hook, "name": "V"})
    assert info.value.code is ErrorCode.UNAUTHORIZED


async def test_no_usable_keyring_stores_nothing(stack: Stack) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    controller = IntegrationController(
        stack.database, stack.audit, stack.security.authz, SecretStore(backend=FailKeyring()),
        health_interval=0,
    )  # fmt: skip
    admin = await stack.admin()
    with pytest.raises(ServiceError) as info:
        await controller.establish_connection(
            admin, {"name": "CRM", "kind": "rest", "base_url": "https://crm.example",
                    "auth": "bearer", "token": "t"},
        )  # fmt: skip
    assert info.value.code is ErrorCode.SECRET_STORE_UNAVAILABLE
    assert "No usable system keyring" in info.value.message
    async with stack.database.session() as db:
        assert (await db.execute(select(IntegrationRow))).first() is None


async def test_sql_queries_bind_their_parameters(
    stack: Stack, controller: IntegrationController, any_database_url: str, tmp_path: Path
) -> None:
    admin = await stack.admin()
    url = any_database_url
    await controller.establish_connection(admin, {"name": "Stock DB", "kind": "sql", "url": url})
    assert (await controller.test_connection(admin, (await controller.find("Stock DB")).id)).ok

    async def run(sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await controller.call("Stock DB", "sql", lambda c: c.query(sql, params))

    await run("CREATE TABLE vehicles (vin VARCHAR(17) PRIMARY KEY, price INTEGER)")
    await run("INSERT INTO vehicles VALUES (:vin, :price)", {"vin": "WVW1", "price": 31900})
    hostile = "x'); DROP TABLE vehicles; --"
    await run("INSERT INTO vehicles VALUES (:vin, :price)", {"vin": hostile[:17], "price": 1})
    found = await run("SELECT vin, price FROM vehicles WHERE price > :floor ORDER BY vin",
                      {"floor": 100})  # fmt: skip
    assert found["rows"] == [{"vin": "WVW1", "price": 31900}]
    assert len((await run("SELECT * FROM vehicles"))["rows"]) == 2  # the table survived
    with pytest.raises(ServiceError) as info:
        await run("SELECT * FROM no_such_table")
    assert "no_such_table" in info.value.message


async def test_email_is_sent_through_smtp(
    stack: Stack, controller: IntegrationController, smtp_server: tuple[int, Inbox]
) -> None:
    port, inbox = smtp_server
    admin = await stack.admin()
    await controller.establish_connection(
        admin, {"name": "Mail", "kind": "email", "host": "127.0.0.1", "port": port,
                "security": "none", "from_address": "Service <service@dealer.example>"},
    )  # fmt: skip
    assert (await controller.test_connection(admin, (await controller.find("Mail")).id)).ok
    sent = await controller.call(
        "Mail", "email",
        lambda c: c.send("mara@example.com", "Your appointment", "See you at 08:30."),
    )  # fmt: skip
    await asyncio.sleep(0)
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["mara@example.com"]
    assert b"See you at 08:30." in envelope.content
    assert sent["recipients"] == ["mara@example.com"]
    with pytest.raises(ServiceError) as info:
        await controller.call("Mail", "email", lambda c: c.send("nobody", "x", "y"))
    assert info.value.code is ErrorCode.INVALID_INPUT


async def test_dealership_preset_maps_fields_both_ways(
    stack: Stack, controller: IntegrationController, api: Api
) -> None:
    admin = await stack.admin()
    await controller.establish_connection(
        admin, {"name": "Dealer CRM", "kind": "dms", "base_url": api.url,
                "resources": {"leads": "/crm/leads"},
                "field_mapping": {"email": "EmailAddress", "name": "FullName"}},
    )  # fmt: skip
    created = await controller.call(
        "Dealer CRM", "dms", lambda c: c.push("leads", {"email": "a@b.c", "name": "Ana"})
    )
    assert api.seen[-1]["body"] == {"EmailAddress": "a@b.c", "FullName": "Ana"}
    assert created == {"received": {"email": "a@b.c", "name": "Ana"}}
    with pytest.raises(ServiceError) as info:
        await controller.call("Dealer CRM", "dms", lambda c: c.fetch("invoices"))
    assert "no resource 'invoices'" in info.value.message


async def test_a_tls_failure_is_named_as_such(
    stack: Stack, controller: IntegrationController, api: Api
) -> None:
    admin = await stack.admin()
    plain = api.url.replace("http://", "https://")  # TLS spoken to a plain-HTTP server
    info = await controller.establish_connection(
        admin, {"name": "Bad TLS", "kind": "rest", "base_url": plain}
    )
    client = await controller.client(info.id)
    client.retry = type(client.retry)(max_attempts=1)  # fail fast in the test
    result = await controller.test_connection(admin, info.id)
    assert not result.ok and result.status == "down"
    assert "TLS" in result.message
