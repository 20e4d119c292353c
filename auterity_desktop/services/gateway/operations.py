"""Controllers: the operations mounted under one gateway prefix, described as data.

One description drives routing, input validation and the OpenAPI document, so the
document cannot drift from what the server does (schemathesis checks the server against
it). Bodies and query strings are validated by pydantic models; every problem is reported
at once as ``VALIDATION_ERROR`` with the path of each field, never with the rejected value
(it may be huge or hostile).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse

Handler = Callable[..., Awaitable[ApiResponse]]
_PARAM = re.compile(r"\{([a-z_]+)(:path)?\}")
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Operation:
    """``handler(request, body=?, query=?)``: ``body``/``query`` are the validated models."""

    method: str
    path: str  # below the controller's prefix: "" or "/{id}/status"
    handler: Handler
    summary: str
    operation_id: str
    auth: bool = True  # False: public (health, the document) or checked by the handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | dict[str, Any] | None = None  # model or JSON Schema
    status: int = 200
    content_type: str = "application/json"
    tags: tuple[str, ...] = ()
    raw_body: bool = False  # the handler reads request.body itself (webhooks)
    also: tuple[int, ...] = ()  # further statuses answered with the same body (503 health)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, last = "", 0
        for m in _PARAM.finditer(self.path):
            regex += re.escape(self.path[last : m.start()])
            regex += f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})"
            last = m.end()
        regex += re.escape(self.path[last:])
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def path_params(self) -> list[str]:
        return [m.group(1) for m in _PARAM.finditer(self.path)]

    @property
    def documented_path(self) -> str:
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)


def validation_error(exc: ValidationError, where: str) -> ServiceError:
    problems = [
        {"path": ".".join(str(p) for p in e["loc"]) or where, "problem": e["msg"][:300]}
        for e in exc.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]
    ]
    first = problems[0]
    return ServiceError(
        ErrorCode.VALIDATION_ERROR,
        f"The {where} is not valid: {first['path']}: {first['problem']}",
        {"in": where, "problems": problems},
    )


def _query_values(request: ApiRequest, model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        raw = request.query.get(key)
        if not raw:
            continue
        annotation = str(info.annotation)
        values[key] = raw if "list" in annotation else raw[-1]
    return values


class Controller:
    """A set of operations; the gateway balances requests over controllers of one route."""

    def __init__(self, operations: Sequence[Operation], name: str = "") -> None:
        self.operations = list(operations)
        self.name = name or type(self).__name__

    def resolve(self, method: str, rest: str) -> tuple[Operation, dict[str, str]]:
        allowed: list[str] = []
        for op in self.operations:
            m = op.pattern.match(rest)
            if m is None:
                continue
            if op.method == method or (method == "HEAD" and op.method == "GET"):
                return op, m.groupdict()
            allowed.append(op.method)
        if allowed:
            raise ServiceError(
                ErrorCode.METHOD_NOT_ALLOWED,
                f"{method} is not allowed here",
                {"allowed": sorted(set(allowed))},
            )
        raise ServiceError(ErrorCode.NOT_FOUND, "No such address", {"path": rest[:200]})

    async def call(self, op: Operation, request: ApiRequest) -> ApiResponse:
        kwargs: dict[str, Any] = {}
        if op.query is not None:
            try:
                kwargs["query"] = op.query.model_validate(_query_values(request, op.query))
            except ValidationError as exc:
                raise validation_error(exc, "query") from None
        if op.body is not None:
            raw = request.json()
            try:
                kwargs["body"] = op.body.model_validate(raw)
            except ValidationError as exc:
                raise validation_error(exc, "body") from None
        return await op.handler(request, **kwargs)

    async def healthy(self) -> bool:
        return True
