"""Workflow nodes of the message queue: a trigger that starts one run per message on a
topic pattern, and a node that publishes a message."""

from __future__ import annotations

from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.node_context import NodeContext
from auterity_desktop.services.workflows.registry import NodeType, ParamSpec, PortSpec

MESSAGES = "Messages"


def _pattern(value: Any) -> str | None:
    from auterity_desktop.services.messaging.topics import validate_pattern

    try:
        validate_pattern(value)
    except ServiceError as exc:
        return exc.message
    return None


MESSAGE_TYPES = (
    NodeType(
        "message_trigger",
        "Message trigger",
        "Triggers",
        "Starts a run for every message published on a matching topic "
        "(its run parameters: payload and message).",
        inputs=(),
        outputs=(PortSpec("main", "object"),),
        trigger=True,
        params=(
            ParamSpec(
                "pattern",
                "string",
                required=True,
                expression=False,
                check=_pattern,
                description="Topics to listen to: * is one word, # any number, e.g. leads.#",
            ),
            ParamSpec("concurrency", "integer", default=1, minimum=1, maximum=50, expression=False),
        ),
    ),
    NodeType(
        "publish_message",
        "Publish message",
        MESSAGES,
        "Publishes a message on a topic; queues bound to a matching pattern receive it.",
        outputs=(PortSpec("main", "object"),),
        params=(
            ParamSpec("topic", "string", required=True, description="e.g. leads.new.web"),
            ParamSpec("payload", "any", description="Empty: the node's input"),
            ParamSpec("priority", "integer", default=0, minimum=0, maximum=9),
            ParamSpec("delay", "number", default=0, minimum=0, maximum=30 * 86_400),
            ParamSpec("headers", "object", default={}),
        ),
    ),
)


async def _publish(ctx: NodeContext) -> dict[str, Any]:
    queue = ctx.services.get("messages")
    if queue is None:
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "The message queue is not available in this process",
            {"node_id": ctx.node_id},
        )
    p = ctx.params
    payload = p.get("payload")
    ids = await queue.publish(
        str(p["topic"]),
        ctx.input if payload is None else payload,
        priority=int(p.get("priority") or 0),
        delay=float(p.get("delay") or 0),
        headers={"run_id": ctx.run_id, **(p.get("headers") or {})},
    )
    return {"main": {"topic": p["topic"], "message_ids": ids, "queues": len(ids)}}


async def _trigger(ctx: NodeContext) -> dict[str, Any]:
    return {"main": dict(ctx.run_params)}


MESSAGE_EXECUTORS = {"publish_message": _publish, "message_trigger": _trigger}
