"""Authentication, limits and malformed input over a real socket: every refusal answers
the one error body with the catalogue's status, and is audited."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import update

from auterity_desktop.services.gateway.models import ApiKeyRow
from auterity_desktop.services.gateway.rate_limit import Limit
from auterity_desktop.services.security.models import SessionRow
from tests.api.conftest import Api

LIST = "/api/v1/workflows"


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


async def test_no_credentials_wrong_token_and_forged_key_are_401(api: Api) -> None:
    async with api.client() as anonymous:
        missing = await anonymous.get(LIST)
    async with api.client("not-a-token") as wrong:
        forged_token = await wrong.get(LIST)
    async with api.client("aut_0123456789ab_" + "x" * 43) as forged:
        forged_key = await forged.get(LIST)
    for response in (missing, forged_token, forged_key):
        assert response.status_code == 401
        assert error_of(response)["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"].startswith("Bearer")
    entries = (await api.platform.audit.page()).entries
    refusals = [e for e in entries if e.action == "api.request" and e.outcome == "failure"]
    assert len(refusals) == 3
    assert {e.details["status"] for e in refusals} == {401}


async def test_session_token_works_then_expires_after_inactivity(api: Api) -> None:
    token = await api.sign_in("alice", "Correct-Horse-42!")
    async with api.client(token) as client:
        assert (await client.get(LIST)).status_code == 200
        api.platform.gateway._sessions.clear()  # as after the few cached seconds
        idle = api.platform.settings.auth_token_expiry + 1
        async with api.platform.database.begin() as conn:
            await conn.execute(update(SessionRow).values(last_seen_at=time.time() - idle))
        expired = await client.get(LIST)
    assert expired.status_code == 401
    error = error_of(expired)
    assert "inactivity" in str(error["message"])
    assert error["details"] == {"reason": "session expired after inactivity"}


async def test_logout_revokes_the_token_at_once(api: Api) -> None:
    token = await api.sign_in("alice", "Correct-Horse-42!")
    async with api.client(token) as client:
        assert (await client.get(LIST)).status_code == 200  # now cached by the gateway
        assert (await client.post("/api/v1/security/logout")).status_code == 204
        after = await client.get(LIST)
    assert after.status_code == 401
    assert error_of(after)["details"] == {"reason": "session was signed out"}


async def test_login_over_rest_gives_a_working_token(api: Api) -> None:
    async with api.client() as client:
        wrong = await client.post(
            "/api/v1/security/login", json={"username": "alice", "password": "nope"}
        )
        right = await client.post(
            "/api/v1/security/login", json={"username": "alice", "password": "Correct-Horse-42!"}
        )
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.json()["role"] == "admin"
    async with api.client(right.json()["token"]) as client:
        assert (await client.get(LIST)).status_code == 200


async def test_api_key_is_shown_once_scoped_to_its_role_and_revocable(api: Api) -> None:
    keys = api.platform.gateway.keys
    new = await keys.create(api.admin, "crm sync", "viewer")
    stored = await keys.list_keys()
    assert [k.name for k in stored] == ["crm sync"]
    assert new.key.startswith("aut_") and new.key not in repr(stored)
    async with api.client() as client:
        headers = {"x-api-key": new.key}
        assert (await client.get(LIST, headers=headers)).status_code == 200
        denied = await client.post("/api/v1/workflows/create", json={"name": "x"}, headers=headers)
        assert denied.status_code == 403  # a viewer key may read, not write
        assert error_of(denied)["code"] == "UNAUTHORIZED"
        await keys.revoke(api.admin, new.info.id)
        revoked = await client.get(LIST, headers=headers)
    assert revoked.status_code == 401
    assert error_of(revoked)["details"] == {"reason": "unknown or revoked API key"}
    actions = [e.action for e in (await api.platform.audit.page()).entries]
    assert "api_key.created" in actions and "api_key.revoked" in actions


async def test_expired_api_key_is_refused(api: Api) -> None:
    keys = api.platform.gateway.keys
    new = await keys.create(api.admin, "temp", "operator", expires_in_days=1)
    async with api.platform.database.begin() as conn:
        await conn.execute(update(ApiKeyRow).values(expires_at=time.time() - 1))
    await keys.load()  # as after a restart
    async with api.client(new.key) as client:
        response = await client.get(LIST)
    assert response.status_code == 401
    assert error_of(response)["details"]["reason"] == "API key expired"  # type: ignore[index]


async def test_the_database_holds_only_a_hash_of_the_key(api: Api) -> None:
    new = await api.platform.gateway.keys.create(api.admin, "hashed", "viewer")
    # aut_<id>_<secret>; the secret itself may hold '_' (URL-safe base64)
    secret = new.key.split("_", 2)[2]
    assert len(secret) == 43
    db_file = api.platform.settings.data_dir / "auterity.db"
    await api.platform.database.engine.dispose()
    assert secret.encode() not in db_file.read_bytes()


async def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    api.platform.gateway.limiter.per_client = Limit(0.5, 3)
    async with api.client(api.token) as client:
        statuses = [(await client.get(LIST)).status_code for _ in range(5)]
        limited = await client.get(LIST)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    error = error_of(limited)
    assert error["code"] == "RATE_LIMITED"
    assert error["details"]["scope"] == "client"  # type: ignore[index]
    # the flood is audited once, not once per refused request
    entries = (await api.platform.audit.page()).entries
    assert sum(e.details.get("status") == 429 for e in entries) == 1


async def test_per_route_limit_protects_a_route_from_many_clients(api: Api) -> None:
    gateway = api.platform.gateway
    gateway.limiter.per_route["/api/v1/workflows"] = Limit(0.5, 2)
    other = await api.user("bob", "operator")
    async with api.client(api.token) as alice, api.client(other) as bob:
        assert (await alice.get(LIST)).status_code == 200
        assert (await bob.get(LIST)).status_code == 200
        third = await alice.get(LIST)
        elsewhere = await bob.get("/api/v1/security/audit-logs")
    assert third.status_code == 429
    assert error_of(third)["details"]["scope"] == "route"  # type: ignore[index]
    assert elsewhere.status_code == 403  # another route is not limited (bob may not read audit)


async def test_failed_authentication_is_rate_limited_by_address(api: Api) -> None:
    api.platform.gateway.limiter.per_client = Limit(0.5, 2)
    async with api.client("guess") as client:
        statuses = [(await client.get(LIST)).status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]


async def test_oversized_body_is_413_without_reading_it(api: Api) -> None:
    limit = api.platform.gateway.max_body
    async with api.client(api.token) as client:
        declared = await client.post(
            "/api/v1/workflows/create",
            content=b"{" + b" " * limit + b"}",
            headers={"content-type": "application/json"},
        )

        async def chunks():  # no Content-Length: the limit applies while reading
            for _ in range(limit // 65536 + 2):
                yield b" " * 65536

        streamed = await client.post(
            "/api/v1/workflows/create",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
    for response in (declared, streamed):
        assert response.status_code == 413
        error = error_of(response)
        assert error["code"] == "PAYLOAD_TOO_LARGE"
        assert error["details"] == {"max_bytes": limit}


async def test_malformed_json_wrong_types_and_media_types(admin_client: httpx.AsyncClient) -> None:
    url = "/api/v1/workflows/execute"
    headers = {"content-type": "application/json"}
    broken = await admin_client.post(url, content=b'{"workflow_id": ', headers=headers)
    nan = await admin_client.post(url, content=b'{"workflow_id": NaN}', headers=headers)
    deep = await admin_client.post(url, content=b"[" * 100 + b"]" * 100, headers=headers)
    wrong = await admin_client.post(url, json={"workflow_id": 42, "parameters": []})
    extra = await admin_client.post(url, json={"workflow_id": "a", "nope": 1})
    text = await admin_client.post(url, content=b"id=1", headers={"content-type": "text/plain"})
    assert broken.status_code == nan.status_code == deep.status_code == 400
    assert error_of(broken)["code"] == "INVALID_INPUT"
    assert "position" in error_of(broken)["details"]  # type: ignore[operator]
    assert wrong.status_code == extra.status_code == 422
    problems = error_of(wrong)["details"]["problems"]  # type: ignore[index]
    assert {p["path"] for p in problems} == {"workflow_id", "parameters"}
    assert text.status_code == 415


async def test_unknown_address_and_method(admin_client: httpx.AsyncClient) -> None:
    missing = await admin_client.get("/api/v1/nothing/here")
    method = await admin_client.get("/api/v1/workflows/execute/x")
    patch = await admin_client.patch("/api/v1/workflows/create")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NOT_FOUND"
    assert method.status_code == 404
    assert patch.status_code == 405
    assert set(patch.headers["allow"].split(", ")) == {"POST", "GET", "PUT", "DELETE"}


async def test_a_query_string_with_too_many_fields_is_a_400(
    admin_client: httpx.AsyncClient,
) -> None:
    # found by the fuzzer: parse_qs raised outside the error handling and answered 500
    query = "&".join(f"metrics=m{i}" for i in range(201))
    response = await admin_client.get(f"/api/v1/analytics/metrics?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = error_of(response)
    assert error["code"] == "INVALID_INPUT"
    assert error["message"] == "The query string is malformed"


async def test_concurrent_requests_with_a_new_token_check_the_session_once(api: Api) -> None:
    security = api.platform.security
    real_resume = security.resume
    calls: list[str] = []

    async def counting_resume(token: str) -> object:
        calls.append(token)
        return await real_resume(token)

    security.resume = counting_resume  # type: ignore[method-assign]
    token = await api.sign_in("alice", "Correct-Horse-42!")
    async with api.client(token) as client:
        responses = await asyncio.gather(*(client.get(LIST) for _ in range(32)))
    assert {r.status_code for r in responses} == {200}
    assert calls == [token]
