"""A run's state in memory and the prepared statements that make it durable.

The statements are module constants with bound parameters so the state writer can send all
changes of one kind in a batch together (``executemany``) and the database compiles each
once.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, update

from auterity_desktop.services.workflows.document import WorkflowDocument
from auterity_desktop.services.workflows.graph import RunGraph
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow

TERMINAL = frozenset({"succeeded", "failed", "skipped", "cancelled"})
RUN_FINAL = frozenset({"succeeded", "failed", "cancelled"})
# "queued": handed to workers (team mode), waiting for one of them to claim it
UNFINISHED_RUN = ("queued", "pending", "running", "waiting", "interrupted")
MAX_STORED_BYTES = 256 * 1024
ITEM_SEPARATOR = "#"  # node_runs rows "<for-each id>#<index>" hold finished loop items


class Parked(Exception):
    """A node must wait for something outside the run; ``checkpoint`` says what."""

    def __init__(self, checkpoint: dict[str, Any]) -> None:
        super().__init__("waiting")
        self.checkpoint = checkpoint


@dataclass
class NodeState:
    status: str = "pending"
    output: dict[str, Any] | None = None
    attempt: int = 0
    error: str | None = None
    checkpoint: dict[str, Any] | None = None


@dataclass
class RunState:
    """One run being driven by this process."""

    id: str
    workflow_id: str
    version: int
    document: WorkflowDocument
    graph: RunGraph
    params: dict[str, Any]
    states: dict[str, NodeState]
    created_by: str
    trigger: str | None = None  # the one trigger that starts this run (None: every trigger)
    parent_run_id: str | None = None
    parent_node_id: str | None = None
    depth: int = 0
    items: dict[str, dict[int, Any]] = field(default_factory=dict)  # loop → finished items
    loop_stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # body node → summary
    start: set[str] = field(default_factory=set)  # the trigger nodes this run started from
    task: asyncio.Task[None] | None = None
    cancelled: bool = False
    lost: bool = False  # another process took the run over: stop without writing anything
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)  # every node task, nested too
    waiting: set[str] = field(default_factory=set)  # nodes parked until someone decides
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    names: dict[str, str] = field(default_factory=dict)
    finished: int = 0  # main-scope nodes settled, for progress
    total: int = 1

    def __post_init__(self) -> None:
        self.names = {n.name: n.id for n in self.document.nodes}

    @property
    def active(self) -> bool:
        return self.task is not None and not self.task.done()


def storable(value: Any) -> tuple[Any, bool]:
    """The value as JSON for the database, truncated (with a flag) when it is large."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = json.dumps(repr(value))
    if len(text) <= MAX_STORED_BYTES:
        return json.loads(text), False
    return {"truncated": True, "preview": text[:2000], "bytes": len(text)}, True


def main_output(output: dict[str, Any] | None) -> Any:
    """The value a node passed on: its ``main`` port, else its first port."""
    if not output:
        return None
    return output.get("main", next(iter(output.values())))


def _p(name: str, column: Any = None) -> Any:
    return bindparam(name, type_=column.type if column is not None else None)


_NODE = (NodeRunRow.run_id == _p("k_run")) & (NodeRunRow.node_id == _p("k_node"))
_RUN = RunRow.id == _p("k_run")

RUN_INSERT = insert(RunRow)
NODE_INSERT = insert(NodeRunRow)
NODE_STARTED = (
    update(NodeRunRow)
    .where(_NODE)
    .values(
        status="running",
        attempt=_p("v_attempt"),
        input=_p("v_input", NodeRunRow.input),
        truncated=_p("v_truncated"),
        started_at=func.coalesce(NodeRunRow.started_at, _p("v_now")),
    )
)
NODE_FINISHED = (
    update(NodeRunRow)
    .where(_NODE)
    .values(
        status=_p("v_status"),
        attempt=_p("v_attempt"),
        finished_at=_p("v_now"),
        error=_p("v_error"),
        output=_p("v_output", NodeRunRow.output),
        truncated=or_(NodeRunRow.truncated, _p("v_truncated")),
    )
)
NODE_PARKED = (
    update(NodeRunRow)
    .where(_NODE)
    .values(status="waiting", checkpoint=_p("v_checkpoint", NodeRunRow.checkpoint))
)
NODE_CHECKPOINT = (
    update(NodeRunRow).where(_NODE).values(checkpoint=_p("v_checkpoint", NodeRunRow.checkpoint))
)
RUN_STARTED = (
    update(RunRow)
    .where(_RUN)
    .values(
        status="running",
        started_at=func.coalesce(RunRow.started_at, _p("v_now")),
        owner=_p("v_owner"),
        heartbeat=_p("v_beat"),
    )
)
RUN_RELEASED = update(RunRow).where(_RUN).values(status="queued", owner=None)
RUN_PROGRESS = update(RunRow).where(_RUN).values(progress=_p("v_progress"))
RUN_STATUS = update(RunRow).where(_RUN).values(status=_p("v_status"))
RUN_FINISHED = (
    update(RunRow)
    .where(_RUN)
    .values(
        status=_p("v_status"),
        progress=_p("v_progress"),
        finished_at=_p("v_now"),
        result=_p("v_result", RunRow.result),
        error=_p("v_error"),
    )
)


def node_key(run_id: str, node_id: str) -> dict[str, Any]:
    return {"k_run": run_id, "k_node": node_id}


def is_item_row(node_id: str) -> bool:
    return ITEM_SEPARATOR in node_id
