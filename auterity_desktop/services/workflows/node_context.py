"""What an executor gets when its node runs, and the shape of an executor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class NodeContext:
    run_id: str
    node_id: str
    node_name: str
    params: dict[str, Any]
    input: Any
    run_params: Mapping[str, Any]
    outputs_by_name: Mapping[str, Any] = field(default_factory=dict)
    http: Any = None  # the engine's shared httpx.AsyncClient
    services: Mapping[str, Any] = field(default_factory=dict)  # e.g. "integrations"
    workflow_id: str | None = None  # for budgets and accounting of model calls


Executor = Callable[[NodeContext], Awaitable[dict[str, Any]]]
