"""Inbound webhooks: a signed delivery starts every workflow whose webhook trigger names the
integration; a missing or wrong signature starts nothing and is refused."""

from __future__ import annotations

import json

from auterity_desktop.services.integrations.webhook import sign
from tests.api.conftest import Api
from tests.ui.workflow_docs import chain, node

SECRET = "whsec-7d1f0c"


async def setup(api: Api) -> str:
    await api.platform.integrations.establish_connection(
        api.admin,
        {"name": "Web leads", "kind": "webhook", "path": "leads/new", "signing_secret": SECRET},
    )
    document = chain(
        "Lead intake",
        node("hook", "webhook_trigger", "Incoming lead", integration="Web leads"),
        node("pick", "set_fields", "Pick", fields={"email": "{{ $params.body.email }}"}),
    )
    return (await api.platform.workflows.create(api.admin, document)).id


async def test_signed_delivery_starts_the_workflow(api: Api) -> None:
    workflow_id = await setup(api)
    body = json.dumps({"email": "kim@example.com", "vehicle": "Civic"}).encode()
    async with api.client() as client:
        response = await client.post(
            "/api/v1/webhooks/leads/new",
            content=body,
            headers={"content-type": "application/json", "x-signature-256": sign(body, SECRET)},
        )
    assert response.status_code == 202, response.text
    [run_id] = response.json()["run_ids"]
    status = await api.platform.engine.wait(run_id)
    assert status["workflow_id"] == workflow_id
    assert status["status"] == "succeeded"
    assert status["nodes"]["pick"]["output"]["main"]["email"] == "kim@example.com"
    assert status["created_by"] == "webhook:Web leads"
    entry = next(
        e for e in (await api.platform.audit.page()).entries if e.action == "webhook.received"
    )
    assert entry.details["runs"] == [run_id]


async def test_bad_or_missing_signature_starts_nothing(api: Api) -> None:
    await setup(api)
    body = b'{"email": "x@example.com"}'
    async with api.client() as client:
        forged = await client.post(
            "/api/v1/webhooks/leads/new",
            content=body,
            headers={"x-signature-256": sign(body, "guessed")},
        )
        tampered = await client.post(
            "/api/v1/webhooks/leads/new",
            content=body + b" ",
            headers={"x-signature-256": sign(body, SECRET)},
        )
        unsigned = await client.post("/api/v1/webhooks/leads/new", content=body)
        nowhere = await client.post(
            "/api/v1/webhooks/other", content=body, headers={"x-signature-256": sign(body, SECRET)}
        )
    for response in (forged, tampered, unsigned):
        assert response.status_code == 401
        assert response.json()["error"]["details"]["reason"] == "bad webhook signature"
    assert nowhere.status_code == 404
    assert await api.platform.engine.list_runs(api.admin) == []
