"""``/api/v1/security``: permission checks for other users and the paginated audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import Api


async def test_authorize_answers_for_another_user(
    api: Api, admin_client: httpx.AsyncClient
) -> None:
    await api.user("vic", "viewer")
    url = "/api/v1/security/authorize"
    read = await admin_client.post(
        url, json={"user_id": "vic", "resource": "workflows", "action": "read"}
    )
    write = await admin_client.post(
        url, json={"user_id": "vic", "resource": "workflows", "action": "write"}
    )
    by_id = await admin_client.post(
        url, json={"user_id": 1, "resource": "users", "action": "delete"}
    )
    unknown = await admin_client.post(
        url, json={"user_id": "nobody", "resource": "workflows", "action": "read"}
    )
    assert read.json()["allowed"] is True and read.json()["role"] == "viewer"
    assert write.json()["allowed"] is False
    assert by_id.json()["username"] == "alice" and by_id.json()["allowed"] is True
    assert unknown.status_code == 404


async def test_authorize_needs_users_read(api: Api) -> None:
    token = await api.user("olga", "operator")
    async with api.client(token) as client:
        response = await client.post(
            "/api/v1/security/authorize",
            json={"user_id": "alice", "resource": "users", "action": "read"},
        )
    assert response.status_code == 403


async def test_audit_logs_page_by_cursor_and_filter_by_type_and_date(
    api: Api, admin_client: httpx.AsyncClient
) -> None:
    audit = api.platform.audit
    for n in range(7):
        await audit.record("alice", "workflow.created", f"workflows/{n}", "success", {})
    await audit.record("alice", "run.started", "runs/1", "success", {})
    seen: list[int] = []
    cursor = None
    while True:
        params = {"type": "workflow", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await admin_client.get("/api/v1/security/audit-logs", params=params)).json()
        seen += [item["seq"] for item in page["items"]]
        assert all(item["action"] == "workflow.created" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)
    exact = await admin_client.get("/api/v1/security/audit-logs", params={"type": "run.started"})
    assert [i["resource"] for i in exact.json()["items"]] == ["runs/1"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    future = await admin_client.get("/api/v1/security/audit-logs", params={"startDate": tomorrow})
    assert future.json() == {"items": [], "next_cursor": None}
    bad = await admin_client.get("/api/v1/security/audit-logs", params={"startDate": "soon"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["problems"][0]["path"] == "startDate"


async def test_audit_logs_need_audit_read(api: Api) -> None:
    token = await api.user("olga", "operator")
    async with api.client(token) as client:
        response = await client.get("/api/v1/security/audit-logs")
    assert response.status_code == 403
