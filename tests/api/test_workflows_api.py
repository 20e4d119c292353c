"""The workflow and run endpoints over a real socket, against the real engine: the documented
create → execute → status round trip, list/get/update/delete, cancel, resume and approve."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import update

from auterity_desktop.services.workflows.models import NodeRunRow, RunRow
from tests.api.conftest import Api
from tests.ui.workflow_docs import chain, edge, node


def divide(name: str = "Divide") -> dict[str, Any]:
    return chain(
        name,
        node("start", "manual_trigger", "Start"),
        node("calc", "set_fields", "Calculate", fields={"share": "{{ 10 / $params.divisor }}"}),
    )


async def create(client: httpx.AsyncClient, document: dict[str, Any]) -> str:
    response = await client.post("/api/v1/workflows/create", json=document)
    assert response.status_code == 201, response.text
    return str(response.json()["workflow_id"])


async def test_create_execute_and_status_as_documented(
    api: Api, admin_client: httpx.AsyncClient
) -> None:
    document = divide()
    document["description"] = "splits ten"
    workflow_id = await create(admin_client, document)
    started = await admin_client.post(
        "/api/v1/workflows/execute", json={"workflow_id": workflow_id, "parameters": {"divisor": 4}}
    )
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    await api.platform.engine.wait(run_id)
    status = await admin_client.get(f"/api/v1/workflows/{run_id}/status")
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "succeeded"
    assert body["progress"] == 1.0
    assert body["results"]["Calculate"]["main"]["share"] == 2.5
    # a workflow id answers with its latest run
    latest = await admin_client.get(f"/api/v1/workflows/{workflow_id}/status")
    assert latest.json()["run_id"] == run_id
    unknown = await admin_client.get("/api/v1/workflows/nope/status")
    assert unknown.status_code == 404
    audit = [(e.action, e.actor) for e in (await api.platform.audit.page()).entries]
    assert ("workflow.created", "alice") in audit
    assert ("run.started", "alice") in audit
    assert ("api.request", "alice") in audit


async def test_shape_errors_name_every_problem(admin_client: httpx.AsyncClient) -> None:
    bad = {"name": "", "nodes": [{"id": "a b", "type": "log", "name": "A"}], "edges": "x"}
    response = await admin_client.post("/api/v1/workflows/create", json=bad)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    paths = {p["path"] for p in error["details"]["problems"]}
    assert paths == {"name", "nodes.0.id", "edges"}


async def test_a_draft_that_cannot_run_is_refused_at_execute(
    admin_client: httpx.AsyncClient,
) -> None:
    draft = {"name": "Draft", "nodes": [node("a", "no_such_type", "A")], "edges": []}
    workflow_id = await create(admin_client, draft)  # drafts may be saved unfinished
    response = await admin_client.post(
        "/api/v1/workflows/execute", json={"workflow_id": workflow_id}
    )
    assert response.status_code == 422
    assert "no_such_type" in response.text


async def test_list_get_update_delete(api: Api, admin_client: httpx.AsyncClient) -> None:
    first = await create(admin_client, divide("Leads"))
    await create(admin_client, divide("Service reminders"))
    listed = (await admin_client.get("/api/v1/workflows")).json()["items"]
    assert [w["name"] for w in listed] == ["Leads", "Service reminders"]
    found = (await admin_client.get("/api/v1/workflows", params={"search": "serv"})).json()
    assert [w["name"] for w in found["items"]] == ["Service reminders"]
    got = (await admin_client.get(f"/api/v1/workflows/{first}")).json()
    assert got["version"] == 1 and got["document"]["name"] == "Leads"
    renamed = divide("Leads (web)")
    updated = await admin_client.put(f"/api/v1/workflows/{first}", json=renamed)
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    deleted = await admin_client.delete(f"/api/v1/workflows/{first}")
    assert deleted.json() == {"workflow_id": first, "deleted": True}
    assert (await admin_client.get(f"/api/v1/workflows/{first}")).status_code == 404


async def test_cancel_a_running_run(api: Api, admin_client: httpx.AsyncClient) -> None:
    slow = chain(
        "Slow", node("start", "manual_trigger", "Start"), node("wait", "delay", "Wait", seconds=60)
    )
    workflow_id = await create(admin_client, slow)
    run_id = (
        await admin_client.post("/api/v1/workflows/execute", json={"workflow_id": workflow_id})
    ).json()["run_id"]
    for _ in range(100):
        status = (await admin_client.get(f"/api/v1/workflows/{run_id}/status")).json()
        if status["status"] == "running":
            break
        await asyncio.sleep(0.02)
    cancelled = await admin_client.post(f"/api/v1/runs/{run_id}/cancel")
    assert cancelled.json() == {"run_id": run_id, "outcome": "cancelled"}
    after = (await admin_client.get(f"/api/v1/workflows/{run_id}/status")).json()
    assert after["status"] == "cancelled"
    again = await admin_client.post(f"/api/v1/runs/{run_id}/cancel")
    assert again.status_code == 409


async def test_resume_an_interrupted_run(api: Api, admin_client: httpx.AsyncClient) -> None:
    workflow_id = await create(admin_client, divide())
    run_id = (
        await admin_client.post(
            "/api/v1/workflows/execute",
            json={"workflow_id": workflow_id, "parameters": {"divisor": 0}},
        )
    ).json()["run_id"]
    await api.platform.engine.wait(run_id)
    failed = await api.platform.engine.run_status(run_id)
    assert failed["status"] == "failed" and "division" in failed["error"].lower()
    refused = await admin_client.post(f"/api/v1/runs/{run_id}/resume")
    assert refused.status_code == 409  # a failed run is finished; run it again instead
    # as if a crash had cut the run off before its last node, with a usable divisor
    async with api.platform.database.begin() as conn:
        await conn.execute(
            update(RunRow).values(status="interrupted", params={"divisor": 5}, error=None)
        )
        await conn.execute(
            update(NodeRunRow).where(NodeRunRow.node_id == "calc").values(status="pending")
        )
    interrupted = (await admin_client.get(f"/api/v1/workflows/{run_id}/status")).json()
    assert interrupted["status"] == "interrupted"
    resumed = await admin_client.post(f"/api/v1/runs/{run_id}/resume")
    assert resumed.json() == {"run_id": run_id, "outcome": "resumed"}
    await api.platform.engine.wait(run_id)
    final = (await admin_client.get(f"/api/v1/workflows/{run_id}/status")).json()
    assert final["status"] == "succeeded"
    assert final["results"]["Calculate"]["main"]["share"] == 2.0
    actions = [e.action for e in (await api.platform.audit.page()).entries]
    assert "run.resumed" in actions


async def test_approve_a_waiting_run(api: Api, admin_client: httpx.AsyncClient) -> None:
    document = {
        "name": "Discount",
        "nodes": [
            node("t", "manual_trigger", "Start"),
            node("ask", "approval", "Ask", message="Discount 12%?"),
            node("yes", "log", "Yes"),
            node("no", "log", "No"),
        ],
        "edges": [edge("t", "ask"), edge("ask", "yes", "approved"), edge("ask", "no", "rejected")],
    }
    workflow_id = await create(admin_client, document)
    run_id = (
        await admin_client.post("/api/v1/workflows/execute", json={"workflow_id": workflow_id})
    ).json()["run_id"]
    await api.platform.engine.wait(run_id)
    assert (await admin_client.get(f"/api/v1/workflows/{run_id}/status")).json()[
        "status"
    ] == "waiting"
    approved = await admin_client.post(
        f"/api/v1/runs/{run_id}/approve", json={"approved": True, "comment": "fine"}
    )
    assert approved.json() == {"run_id": run_id, "outcome": "approved"}
    await api.platform.engine.wait(run_id)
    final = (await admin_client.get(f"/api/v1/workflows/{run_id}/status")).json()
    assert final["status"] == "succeeded"
    assert final["results"]["Yes"]["main"]["approval"]["comment"] == "fine"


async def test_viewer_reads_but_cannot_create_or_run(api: Api) -> None:
    workflow_id = (await api.platform.workflows.create(api.admin, divide())).id
    viewer = await api.user("vic", "viewer")
    async with api.client(viewer) as client:
        assert (await client.get("/api/v1/workflows")).status_code == 200
        created = await client.post("/api/v1/workflows/create", json=divide("Mine"))
        run = await client.post("/api/v1/workflows/execute", json={"workflow_id": workflow_id})
    assert created.status_code == run.status_code == 403
    denials = [
        e for e in (await api.platform.audit.page()).entries if e.action == "authorization.denied"
    ]
    assert {e.actor for e in denials} == {"vic"}
