"""What each built-in node type does when it runs.

An executor receives a ``NodeContext`` (parameters already rendered, the node's input, the
run's parameters and earlier outputs) and returns ``{output port: value}``; emitting on
only some ports is how condition and switch route. Types without an executor here can be
designed and validated but fail with a clear message when run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.ai_nodes import AI_EXECUTORS
from auterity_desktop.services.workflows.integration_nodes import INTEGRATION_EXECUTORS
from auterity_desktop.services.workflows.message_nodes import MESSAGE_EXECUTORS
from auterity_desktop.services.workflows.node_context import Executor, NodeContext

logger = logging.getLogger(__name__)


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


MAX_RESPONSE_BYTES = 10 * 1024 * 1024


async def _http_request(ctx: NodeContext) -> dict[str, Any]:
    import httpx

    p = ctx.params
    method, url = str(p.get("method") or "GET").upper(), p.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"{url!r} is not an http(s) URL", {"node_id": ctx.node_id}
        )
    body = p.get("body")
    kwargs: dict[str, Any] = {
        "headers": {str(k): str(v) for k, v in (p.get("headers") or {}).items()},
        "params": {str(k): str(v) for k, v in (p.get("query") or {}).items()},
        "timeout": float(p.get("timeout") or 30),
    }
    if isinstance(body, dict | list):
        kwargs["json"] = body
    elif body is not None:
        kwargs["content"] = str(body).encode()
    client = ctx.http or httpx.AsyncClient()
    try:
        async with client.stream(method, url, **kwargs) as response:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise ServiceError(
                        ErrorCode.PAYLOAD_TOO_LARGE,
                        f"{url} answered with more than 10 MB",
                        {"node_id": ctx.node_id},
                    )
                chunks.append(chunk)
            raw = b"".join(chunks)
    except httpx.TimeoutException:
        raise ServiceError(
            ErrorCode.TIMEOUT,
            f"{method} {url} did not answer within {kwargs['timeout']:g} s",
            {"node_id": ctx.node_id},
        ) from None
    except httpx.HTTPError as exc:
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"{method} {url} failed: {exc or type(exc).__name__}",
            {"node_id": ctx.node_id},
        ) from None
    finally:
        if ctx.http is None:
            await client.aclose()
    parsed: Any
    mode = p.get("response", "json")
    if mode == "binary":
        parsed = {"bytes": len(raw)}
    else:
        text = raw.decode(response.encoding or "utf-8", errors="replace")
        parsed = text
        if mode == "json" and text.strip():
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
    result = {"status": response.status_code, "headers": dict(response.headers), "body": parsed}
    if response.status_code >= 400:
        code = (
            ErrorCode.RATE_LIMITED
            if response.status_code == 429
            else (
                ErrorCode.SERVICE_UNAVAILABLE
                if response.status_code >= 500
                else ErrorCode.INVALID_INPUT
            )
        )
        raise ServiceError(
            code,
            f"{method} {url} answered {response.status_code} {response.reason_phrase}",
            {"node_id": ctx.node_id, "status": response.status_code},
        )
    return {"main": result}


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
    "http_request": _http_request,
}

EXECUTORS.update(INTEGRATION_EXECUTORS)
EXECUTORS.update(MESSAGE_EXECUTORS)
EXECUTORS.update(AI_EXECUTORS)
