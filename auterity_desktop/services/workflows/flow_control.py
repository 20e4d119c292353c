"""The node types the engine runs itself: for-each loops, sub-workflows and approvals.

They differ from ordinary executors in needing the engine — a loop walks its body once per
item, a sub-workflow starts and awaits another run, an approval parks the run until someone
decides — and in holding no worker slot while they wait, so a loop of ten items cannot
starve its own body of workers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.document import WorkflowNode
from auterity_desktop.services.workflows.graph import LOOP_BODY_PORT
from auterity_desktop.services.workflows.models import NodeRunRow
from auterity_desktop.services.workflows.run_state import (
    ITEM_SEPARATOR,
    NODE_CHECKPOINT,
    NODE_INSERT,
    NodeState,
    Parked,
    RunState,
    main_output,
    node_key,
    storable,
)

if TYPE_CHECKING:
    from auterity_desktop.services.workflows.engine import WorkflowEngine

MAX_ITEMS = 100_000
MAX_DEPTH = 8  # sub-workflows calling sub-workflows; deeper is almost surely recursion
KEPT_OUTPUTS = 1_000  # per body node, the first item outputs shown in the run's details

States = MutableMapping[str, NodeState]
Control = Callable[
    ["WorkflowEngine", RunState, WorkflowNode, dict[str, Any], Any, States, int | None],
    Awaitable[dict[str, Any]],
]


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _leaf_value(run: RunState, leaves: list[str], states: Mapping[str, NodeState]) -> Any:
    """What a finished (sub-)graph produced: its one result, or results by node name."""
    done = [n for n in leaves if states[n].status == "succeeded"]
    if len(done) == 1:
        return main_output(states[done[0]].output)
    return {run.graph.nodes[n].name: main_output(states[n].output) for n in done}


# -- for-each -----------------------------------------------------------------------------
async def for_each(
    engine: WorkflowEngine,
    run: RunState,
    node: WorkflowNode,
    params: dict[str, Any],
    value: Any,
    states: MutableMapping[str, NodeState],
    item: int | None,
) -> dict[str, Any]:
    items = params.get("items")
    if not isinstance(items, list):
        raise ServiceError(
            ErrorCode.WORKFLOW_ERROR,
            f"{node.name}: items must be a list, not {_type_name(items)}",
            {"node_id": node.id},
        )
    if len(items) > MAX_ITEMS:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"{node.name}: {len(items):,} items is more than the {MAX_ITEMS:,} a loop takes",
            {"node_id": node.id, "items": len(items)},
        )
    limit = max(1, min(int(params.get("concurrency") or 1), 100))
    body = run.graph.scopes[node.id]
    leaves = run.graph.leaves[node.id]
    top = item is None  # only the outermost loop keeps its finished items durably
    finished = run.items.setdefault(node.id, {}) if top else {}
    gate = asyncio.Semaphore(limit)

    async def one(index: int, element: Any) -> None:
        async with gate:
            local = {n: NodeState() for n in body}
            feed = {node.id: NodeState("succeeded", {LOOP_BODY_PORT: element})}
            failure = await engine._walk(run, node.id, ChainMap(local, feed, states), index)
            if run.cancelled:
                raise asyncio.CancelledError
            if failure:
                raise ServiceError(
                    ErrorCode.WORKFLOW_ERROR,
                    f"{node.name}, item {index}: {failure}",
                    {"node_id": node.id, "item": index},
                )
            result = _leaf_value(run, leaves, local)
            finished[index] = result
            if top:
                await engine.writer.write(
                    (
                        NODE_INSERT,
                        {
                            "run_id": run.id,
                            "node_id": f"{node.id}{ITEM_SEPARATOR}{index}",
                            "status": "succeeded",
                            "attempt": 1,
                            "output": {"main": storable(result)[0]},
                        },
                    )
                )

    try:
        async with asyncio.TaskGroup() as group:
            for index, element in enumerate(items):
                if index not in finished:
                    group.create_task(one(index, element))
    except BaseExceptionGroup as group_error:
        first = group_error.exceptions[0]
        raise first from None
    finally:
        if top:
            await _record_body(engine, run, node)
    return {"done": [finished.get(i) for i in range(len(items))]}


def note_item(run: RunState, node_id: str, state: NodeState, index: int) -> None:
    """Remember how one loop item went at one body node, for the body's summary row."""
    stats = run.loop_stats.setdefault(node_id, {"outputs": [], "attempt": 0})
    stats[state.status] = stats.get(state.status, 0) + 1
    stats["attempt"] = max(stats["attempt"], state.attempt)
    if state.error and state.status == "failed":
        stats["error"] = f"item {index}: {state.error}"
    if state.status == "succeeded" and len(stats["outputs"]) < KEPT_OUTPUTS:
        stats["outputs"].append(main_output(state.output))


async def _record_body(engine: WorkflowEngine, run: RunState, loop: WorkflowNode) -> None:
    """One row per body node summarising every item: outputs, and the worst outcome."""
    changes = []
    for node_id in sorted(run.graph.bodies[loop.id]):
        stats = run.loop_stats.pop(node_id, None)
        if stats is None:
            continue
        status = next((s for s in ("failed", "cancelled", "succeeded") if stats.get(s)), "skipped")
        state = NodeState(
            status,
            {"main": stats["outputs"]} if stats["outputs"] else None,
            stats["attempt"],
            stats.get("error") or (None if status != "cancelled" else "cancelled"),
        )
        run.states[node_id] = state
        changes.append(engine._finished_change(run.id, node_id, state))
    if changes:
        await engine.writer.write(*changes)


# -- sub-workflow ------------------------------------------------------------------------
async def sub_workflow(
    engine: WorkflowEngine,
    run: RunState,
    node: WorkflowNode,
    params: dict[str, Any],
    value: Any,
    states: MutableMapping[str, NodeState],
    item: int | None,
) -> dict[str, Any]:
    state = states[node.id]
    child = (state.checkpoint or {}).get("child_run_id") if item is None else None
    if child is None:
        if run.depth + 1 > MAX_DEPTH:
            raise ServiceError(
                ErrorCode.WORKFLOW_ERROR,
                f"{node.name}: sub-workflows nest deeper than {MAX_DEPTH} levels "
                "(does a workflow call itself?)",
                {"node_id": node.id},
            )
        target = params.get("workflow_id")
        if not isinstance(target, str) or not target:
            raise ServiceError(
                ErrorCode.WORKFLOW_ERROR,
                f"{node.name}: workflow_id must name a workflow",
                {"node_id": node.id},
            )
        given = params.get("parameters")
        child_params = given if given else (dict(value) if isinstance(value, Mapping) else {})
        parent = (run.id, node.id) if item is None else None
        child_run = await engine.launch(
            target, child_params, run.created_by, parent=parent, depth=run.depth + 1
        )
        child = child_run.id
        if item is None:
            state.checkpoint = {"child_run_id": child}
            await engine.writer.write(
                (NODE_CHECKPOINT, {**node_key(run.id, node.id), "v_checkpoint": state.checkpoint})
            )
    else:
        status = await engine.run_status(child)
        if status["status"] == "interrupted":
            await engine.resume_interrupted_run(child)
    try:
        result = await engine.wait(child)
    except asyncio.CancelledError:
        if run.cancelled:
            with contextlib.suppress(ServiceError):
                await engine.cancel_run(child)
        raise
    if result["status"] == "succeeded":
        results = result["results"]
        if len(results) == 1:
            return {"main": main_output(next(iter(results.values())))}
        return {"main": {name: main_output(output) for name, output in results.items()}}
    if result["status"] in ("waiting", "running") and item is None:
        raise Parked({"child_run_id": child, "waiting_for": "sub-workflow"})
    raise ServiceError(
        ErrorCode.WORKFLOW_ERROR,
        f"{node.name}: the sub-workflow run {child} {result['status']}"
        + (f": {result['error']}" if result.get("error") else ""),
        {"node_id": node.id, "child_run_id": child},
    )


async def release_parent(engine: WorkflowEngine, parent_run_id: str, parent_node_id: str) -> None:
    """A child run ended: its parent's sub-workflow node, if parked on it, may go on."""
    async with engine.database.begin() as conn:
        await conn.execute(
            update(NodeRunRow)
            .where(
                NodeRunRow.run_id == parent_run_id,
                NodeRunRow.node_id == parent_node_id,
                NodeRunRow.status == "waiting",
            )
            .values(status="pending")
        )
    await engine.wake(parent_run_id)


# -- approval ----------------------------------------------------------------------------
async def approval(
    engine: WorkflowEngine,
    run: RunState,
    node: WorkflowNode,
    params: dict[str, Any],
    value: Any,
    states: MutableMapping[str, NodeState],
    item: int | None,
) -> dict[str, Any]:
    if item is not None:
        raise ServiceError(
            ErrorCode.WORKFLOW_ERROR,
            f"{node.name}: an approval cannot wait inside a loop",
            {"node_id": node.id},
        )
    checkpoint = dict(states[node.id].checkpoint or {})
    now = engine.clock()
    request = checkpoint.get("request")
    if request is None:
        approvers = params.get("approvers") or []
        if not isinstance(approvers, list):
            raise ServiceError(
                ErrorCode.WORKFLOW_ERROR,
                f"{node.name}: approvers must be a list of user names",
                {"node_id": node.id},
            )
        hours = float(params.get("timeout_hours") or 72)
        request = {
            "message": str(params.get("message") or ""),
            "approvers": [str(a) for a in approvers],
            "requested_at": now,
            "deadline": now + hours * 3600,
        }
    decision = checkpoint.get("decision")
    if decision is None and now >= request["deadline"]:
        decision = {"approved": False, "by": "system", "at": now, "comment": "timed out"}
    if decision is None:
        raise Parked({"request": request})
    data = dict(value) if isinstance(value, Mapping) else {"data": value}
    return {"approved" if decision["approved"] else "rejected": {**data, "approval": decision}}


async def record_decision(
    engine: WorkflowEngine, run_id: str, node_id: str, decision: dict[str, Any]
) -> None:
    """Store a decision on a parked approval; exactly one decision wins."""
    key = (NodeRunRow.run_id == run_id) & (NodeRunRow.node_id == node_id)
    async with engine.database.begin() as conn:
        checkpoint = (
            await conn.execute(
                select(NodeRunRow.checkpoint).where(key, NodeRunRow.status == "waiting")
            )
        ).scalar()
        if not checkpoint or "request" not in checkpoint:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"Run {run_id} has no pending approval at {node_id!r}",
                {"run_id": run_id, "node_id": node_id},
            )
        result = await conn.execute(
            update(NodeRunRow)
            .where(key, NodeRunRow.status == "waiting")
            .values(status="pending", checkpoint={**checkpoint, "decision": decision})
        )
        if not result.rowcount:
            raise ServiceError(
                ErrorCode.CONFLICT,
                "Someone else decided this approval a moment ago",
                {"run_id": run_id, "node_id": node_id},
            )


CONTROL: dict[str, Control] = {
    "for_each": for_each,
    "sub_workflow": sub_workflow,
    "approval": approval,
}
