"""What each built-in node type does when it runs.

An executor receives a ``NodeContext`` (parameters already rendered, the node's input, the
run's parameters and earlier outputs) and returns ``{output port: value}``; emitting on
only some ports is how condition and switch route. Types without an executor here can be
designed and validated but fail with a clear message when run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

logger = logging.getLogger(__name__)


@dataclass
class NodeContext:
    run_id: str
    node_id: str
    node_name: str
    params: dict[str, Any]
    input: Any
    run_params: Mapping[str, Any]
    outputs_by_name: Mapping[str, Any] = field(default_factory=dict)


Executor = Callable[[NodeContext], Awaitable[dict[str, Any]]]


async def _trigger(ctx: NodeContext) -> dict[str, Any]:
    return {"main": dict(ctx.run_params)}


async def _set_fields(ctx: NodeContext) -> dict[str, Any]:
    fields = ctx.params.get("fields") or {}
    if not isinstance(fields, dict):
        raise ServiceError(
            ErrorCode.WORKFLOW_ERROR, "fields must be an object", {"node_id": ctx.node_id}
        )
    base = (
        dict(ctx.input)
        if ctx.params.get("keep_input", True) and isinstance(ctx.input, Mapping)
        else {}
    )
    for name in ctx.params.get("remove") or []:
        base.pop(name, None)
    base.update(fields)
    return {"main": base}


async def _condition(ctx: NodeContext) -> dict[str, Any]:
    return {"true" if ctx.params.get("condition") else "false": ctx.input}


async def _switch(ctx: NodeContext) -> dict[str, Any]:
    value = ctx.params.get("value")
    for index, case in enumerate(ctx.params.get("cases") or []):
        if value == case:
            return {f"case_{index}": ctx.input}
    return {"default": ctx.input}


async def _merge(ctx: NodeContext) -> dict[str, Any]:
    items = ctx.input if isinstance(ctx.input, list) else [ctx.input]
    mode = ctx.params.get("mode", "wait_all")
    if mode == "append":
        flat: list[Any] = []
        for item in items:
            flat.extend(item if isinstance(item, list) else [item])
        return {"main": flat}
    if mode == "first":
        return {"main": items[0] if items else None}
    return {"main": items}


async def _delay(ctx: NodeContext) -> dict[str, Any]:
    await asyncio.sleep(float(ctx.params.get("seconds") or 0))
    return {"main": ctx.input}


async def _log(ctx: NodeContext) -> dict[str, Any]:
    message = ctx.params.get("message") or ""
    level = {
        "debug": logging.DEBUG,
        "info": logging.INFO,
        "warning": logging.WARNING,
        "error": logging.ERROR,
    }.get(ctx.params.get("level", "info"), logging.INFO)
    logger.log(
        level,
        "workflow log",
        extra={"run_id": ctx.run_id, "node": ctx.node_name, "text": str(message)},
    )
    return {"main": ctx.input if not message else {"message": message, "data": ctx.input}}


async def _validate_data(ctx: NodeContext) -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(ctx.params.get("schema") or {})
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(ctx.input)
    ]
    if errors:
        return {"invalid": {"errors": errors[:50], "data": ctx.input}}
    return {"valid": ctx.input}


async def _error_handler(ctx: NodeContext) -> dict[str, Any]:
    return {"main": ctx.input}


EXECUTORS: dict[str, Executor] = {
    "manual_trigger": _trigger,
    "schedule_trigger": _trigger,
    "set_fields": _set_fields,
    "condition": _condition,
    "switch": _switch,
    "merge": _merge,
    "delay": _delay,
    "log": _log,
    "validate_data": _validate_data,
    "error_handler": _error_handler,
}
