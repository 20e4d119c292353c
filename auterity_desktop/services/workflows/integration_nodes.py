"""Workflow nodes that use a configured integration by name: a REST request, a SQL query
with bound parameters, an e-mail. The node holds no URL or password — the integration
does, so rotating a secret or moving a server changes no workflow."""

from __future__ import annotations

from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.node_context import NodeContext
from auterity_desktop.services.workflows.registry import NodeType, ParamSpec, PortSpec

INTEGRATIONS = "Integrations"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _integration_param(kinds: str) -> ParamSpec:
    return ParamSpec(
        "integration",
        "string",
        required=True,
        description=f"Name of a {kinds} integration set up on the Integrations page",
    )


INTEGRATION_TYPES = (
    NodeType(
        "webhook_trigger",
        "Webhook trigger",
        "Triggers",
        "Starts a run for every signed request another system sends to an inbound webhook "
        "(its run parameters: body, headers and path).",
        inputs=(),
        outputs=(PortSpec("main", "object"),),
        trigger=True,
        params=(
            ParamSpec(
                "integration",
                "string",
                required=True,
                expression=False,
                description="Name of an inbound webhook integration set up on the "
                "Integrations page (it holds the address and the signing secret)",
            ),
        ),
    ),
    NodeType(
        "integration_request",
        "Call integration",
        INTEGRATIONS,
        "Sends a request to a REST or dealership-system integration.",
        outputs=(PortSpec("main", "object"),),
        params=(
            _integration_param("REST or DMS"),
            ParamSpec("method", "enum", default="GET", choices=METHODS),
            ParamSpec("path", "string", default="", description="Relative to its base URL"),
            ParamSpec("query", "object", default={}),
            ParamSpec("headers", "object", default={}),
            ParamSpec("body", "any"),
        ),
    ),
    NodeType(
        "sql_query",
        "SQL query",
        INTEGRATIONS,
        "Runs a statement on a database integration; values go in as bound parameters.",
        outputs=(PortSpec("main", "object"),),
        params=(
            _integration_param("SQL"),
            ParamSpec(
                "sql",
                "string",
                required=True,
                expression=False,  # the statement stays fixed; data comes in as :parameters
                description="e.g. SELECT * FROM vehicles WHERE vin = :vin",
            ),
            ParamSpec("parameters", "object", default={}, description="Values for :names"),
        ),
    ),
    NodeType(
        "send_email",
        "Send e-mail",
        INTEGRATIONS,
        "Sends a message through an e-mail (SMTP) integration.",
        outputs=(PortSpec("main", "object"),),
        params=(
            _integration_param("e-mail"),
            ParamSpec("to", "any", required=True, description="An address or a list"),
            ParamSpec("subject", "string", required=True),
            ParamSpec("body", "string", required=True),
            ParamSpec("html", "string"),
            ParamSpec("cc", "any"),
        ),
    ),
)


def _controller(ctx: NodeContext) -> Any:
    controller = ctx.services.get("integrations")
    if controller is None:
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "Integrations are not available in this process",
            {"node_id": ctx.node_id},
        )
    return controller


async def _request(ctx: NodeContext) -> dict[str, Any]:
    p = ctx.params
    response = await _controller(ctx).call(
        str(p["integration"]),
        ("rest", "dms"),
        lambda client: client.request(
            str(p.get("method") or "GET"),
            str(p.get("path") or ""),
            params=p.get("query") or None,
            json_body=p.get("body"),
            headers={str(k): str(v) for k, v in (p.get("headers") or {}).items()},
        ),
    )
    return {"main": {"status": response.status, "headers": response.headers, "body": response.body}}


async def _query(ctx: NodeContext) -> dict[str, Any]:
    p = ctx.params
    result = await _controller(ctx).call(
        str(p["integration"]),
        "sql",
        lambda client: client.query(str(p["sql"]), p.get("parameters") or {}),
    )
    return {"main": {k: v for k, v in result.items() if k != "latency"}}


async def _email(ctx: NodeContext) -> dict[str, Any]:
    p = ctx.params
    sent = await _controller(ctx).call(
        str(p["integration"]),
        "email",
        lambda client: client.send(
            p["to"], str(p["subject"]), str(p["body"]), html=p.get("html"), cc=p.get("cc")
        ),
    )
    return {"main": {k: v for k, v in sent.items() if k != "latency"}}


async def _webhook_trigger(ctx: NodeContext) -> dict[str, Any]:
    return {"main": dict(ctx.run_params)}


INTEGRATION_EXECUTORS = {
    "webhook_trigger": _webhook_trigger,
    "integration_request": _request,
    "sql_query": _query,
    "send_email": _email,
}
