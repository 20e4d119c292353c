"""``/api/v1/webhooks/<path>``: inbound webhooks that start workflows.

An inbound webhook integration holds the path, the signing secret (in the keyring) and the
header carrying the HMAC of the body. A request is checked over the exact bytes received;
only then does every saved workflow with a webhook trigger naming that integration start a
run, with ``{body, headers, path}`` as its parameters. The endpoint needs no session or key
(the caller is another system): the signature is its credential, and failures are refused
with 401 and audited like any other refusal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from auterity_desktop.api.schemas import WebhookAccepted
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
from auterity_desktop.services.gateway.operations import Controller, Operation
from auterity_desktop.services.integrations import webhook
from auterity_desktop.services.integrations.models import IntegrationRow
from auterity_desktop.services.workflows.models import WorkflowRow

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

TRIGGER = "webhook_trigger"
FORWARDED_HEADERS = ("content-type", "user-agent", "x-request-id", "x-event-type")


def _body(request: ApiRequest) -> Any:
    if "json" in request.headers.get("content-type", ""):
        try:
            return json.loads(request.body or b"null")
        except ValueError:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "The webhook body is not valid JSON", {}
            ) from None
    return request.body.decode("utf-8", errors="replace")


def webhooks_controller(platform: Platform) -> Controller:
    async def receive(request: ApiRequest) -> ApiResponse:
        path = request.path_params["path"].strip("/")
        async with platform.database.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(IntegrationRow.id, IntegrationRow.name, IntegrationRow.config).where(
                        IntegrationRow.kind == "webhook"
                    )
                )
            ).all()
        found = next((r for r in rows if str(r.config.get("path", "")).strip("/") == path), None)
        if found is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "No webhook at this address", {})
        endpoint = await platform.integrations.client(found.id, "webhook")
        header = str(endpoint.config.get("signature_header") or "X-Signature-256").lower()
        algorithm = str(endpoint.config.get("algorithm") or "sha256")
        signature = request.headers.get(header)
        if not webhook.verify(request.body, signature, endpoint.secret, algorithm):
            raise ServiceError(
                ErrorCode.UNAUTHENTICATED,
                "The webhook signature is missing or does not match the body",
                {"header": header, "reason": "bad webhook signature"},
            )
        params = {
            "body": _body(request),
            "headers": {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers},
            "path": path,
        }
        run_ids = []
        for workflow_id, node_id in await _triggers(platform, {found.id, found.name}):
            run = await platform.engine.launch(
                workflow_id, params, f"webhook:{found.name}", trigger=node_id
            )
            run_ids.append(run.id)
        await platform.audit.record(
            f"webhook:{found.name}", "webhook.received", f"integrations/{found.id}", "success",
            {"path": path, "bytes": len(request.body), "runs": run_ids},
        )  # fmt: skip
        return ApiResponse.json({"integration": found.name, "run_ids": run_ids}, 202)

    return Controller(
        [
            Operation("POST", "/{path:path}", receive,
                      "Deliver a signed event to an inbound webhook", "receiveWebhook",
                      auth=False, raw_body=True, response=WebhookAccepted, status=202,
                      tags=("webhooks",)),
        ],
        "webhooks",
    )  # fmt: skip


async def _triggers(platform: Platform, names: set[str]) -> list[tuple[str, str]]:
    """(workflow, trigger node) of every enabled webhook trigger naming the integration."""
    async with platform.database.engine.connect() as conn:
        ids = (
            await conn.execute(select(WorkflowRow.id).where(WorkflowRow.deleted.is_(False)))
        ).scalars()
        workflow_ids = list(ids)
    found = []
    for workflow_id in workflow_ids:
        saved = await platform.workflows.load(workflow_id)
        for node in saved.document.nodes:
            wanted = node.params.get("integration") in names
            if node.type == TRIGGER and not node.disabled and wanted:
                found.append((workflow_id, node.id))
    return found
