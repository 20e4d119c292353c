"""The workflow document: ``{version, name, description, nodes, edges}``.

This is the REST shape and the file format. Parsing checks the *shape* (types, required
keys, sizes) and reports every problem at once; whether the graph makes sense (types exist,
edges connect real ports, no cycles …) is ``validation``'s job.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auterity_desktop.core.errors import ErrorCode, ServiceError

FORMAT_VERSION = 1
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_NODES = 10_000
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float = 0.0
    y: float = 0.0


class RetrySettings(BaseModel):
    """How often a failing node is tried again, and how long to wait in between."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=1, ge=1, le=20)
    delay: float = Field(default=1.0, ge=0, le=3600)
    backoff: float = Field(default=2.0, ge=1, le=10)
    max_delay: float = Field(default=60.0, ge=0, le=86_400)


class WorkflowNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    type: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    position: Position = Field(default_factory=Position)
    disabled: bool = False
    notes: str = Field(default="", max_length=10_000)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    timeout: float | None = Field(default=None, gt=0, le=86_400)
    on_error: Literal["stop", "continue", "route"] = "stop"


class WorkflowEdge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    source: str = Field(min_length=1, max_length=100)
    source_port: str = Field(default="main", min_length=1, max_length=100)
    target: str = Field(min_length=1, max_length=100)
    target_port: str = Field(default="main", min_length=1, max_length=100)


class Size(BaseModel):
    model_config = ConfigDict(extra="forbid")

    width: float = Field(default=240.0, gt=0, le=100_000)
    height: float = Field(default=120.0, gt=0, le=100_000)


class Annotation(BaseModel):
    """A sticky note, or a group frame (backdrop) that carries the nodes inside it along
    when it moves. The engine ignores both."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    kind: Literal["note", "group"] = "note"
    text: str = Field(default="", max_length=10_000)
    position: Position = Field(default_factory=Position)
    size: Size = Field(default_factory=Size)
    color: str = Field(default="", max_length=20)


class WorkflowDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=FORMAT_VERSION, ge=1, le=FORMAT_VERSION)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    nodes: list[WorkflowNode] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[WorkflowEdge] = Field(default_factory=list, max_length=MAX_NODES * 4)
    personal_fields: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    annotations: list[Annotation] = Field(default_factory=list, max_length=MAX_NODES)

    def node(self, node_id: str) -> WorkflowNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=indent, ensure_ascii=False)


def _where(loc: tuple[Any, ...], data: Any) -> dict[str, Any]:
    """Turn a pydantic location into node/edge ids where possible."""
    where: dict[str, Any] = {"path": ".".join(str(p) for p in loc)}
    if len(loc) >= 2 and loc[0] in ("nodes", "edges") and isinstance(loc[1], int):
        items = data.get(loc[0]) if isinstance(data, dict) else None
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            item_id = items[loc[1]].get("id")
            if isinstance(item_id, str):
                where["node_id" if loc[0] == "nodes" else "edge_id"] = item_id
    return where


def parse_document(data: Any) -> WorkflowDocument:
    """A document from a dict, JSON text or bytes; every shape problem in one ServiceError."""
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ServiceError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                "The workflow file is larger than 10 MB",
                {"bytes": len(data), "limit": MAX_DOCUMENT_BYTES},
            )
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"The workflow file is not UTF-8 text: {exc}", {}
            ) from None
    if isinstance(data, str):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ServiceError(
                ErrorCode.PAYLOAD_TOO_LARGE,
                "The workflow file is larger than 10 MB",
                {"limit": MAX_DOCUMENT_BYTES},
            )
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"The workflow file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}",
                {"line": exc.lineno, "column": exc.colno},
            ) from None
    if not isinstance(data, dict):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            "A workflow is a JSON object with name, nodes and edges",
            {"got": type(data).__name__},
        )
    try:
        return WorkflowDocument.model_validate(data)
    except ValidationError as exc:
        problems = [
            {
                "code": "BAD_SHAPE",
                "message": f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
                **_where(e["loc"], data),
            }
            for e in exc.errors()[:200]
        ]
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"The workflow has {len(exc.errors())} problem(s): "
            + "; ".join(p["message"] for p in problems[:3]),
            {"problems": problems},
        ) from None
