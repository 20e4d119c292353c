"""An engine over the shared service stack, with test node types: ``flaky`` (fails a set
number of times, counting calls per node) and ``probe`` (records how many of its kind run at
once and which inputs it saw)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from auterity_desktop.services.workflows import executors
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import RunRow
from auterity_desktop.services.workflows.node_context import NodeContext
from auterity_desktop.services.workflows.registry import NodeType, ParamSpec, PortSpec
from auterity_desktop.services.workflows.store import WorkflowStore
from tests.services.conftest import Stack

CALLS: dict[str, int] = {}


async def _flaky(ctx: NodeContext) -> dict[str, Any]:
    CALLS[ctx.node_id] = CALLS.get(ctx.node_id, 0) + 1
    if CALLS[ctx.node_id] <= int(ctx.params.get("fail_times", 0)):
        raise ConnectionError(f"attempt {CALLS[ctx.node_id]} failed")
    return {"main": {"calls": CALLS[ctx.node_id]}}


PROBE: dict[str, Any] = {"now": 0, "peak": 0, "seen": []}


async def _probe(ctx: NodeContext) -> dict[str, Any]:
    PROBE["now"] += 1
    PROBE["peak"] = max(PROBE["peak"], PROBE["now"])
    PROBE["seen"].append(ctx.input)
    try:
        await asyncio.sleep(float(ctx.params.get("seconds") or 0.02))
    finally:
        PROBE["now"] -= 1
    if ctx.input == ctx.params.get("fail_on"):
        raise ValueError(f"cannot handle {ctx.input!r}")
    return {"main": {"handled": ctx.input}}


def build_registry() -> Any:
    registry = builtin_registry()
    registry.register(
        NodeType(
            "flaky",
            "Flaky",
            "Test",
            "fails a set number of times",
            inputs=(PortSpec("main", multiple=True),),
            outputs=(PortSpec("main"),),
            params=(ParamSpec("fail_times", "integer", default=0),),
        )
    )
    registry.register(
        NodeType(
            "probe",
            "Probe",
            "Test",
            "records concurrency and inputs",
            params=(ParamSpec("seconds", "number"), ParamSpec("fail_on", "any")),
        )
    )
    return registry


def new_engine(stack: Stack, **options: Any) -> WorkflowEngine:
    """An engine as a separate process would build it: its own store and caches."""
    store = WorkflowStore(stack.database, stack.audit, stack.security.authz, stack.events)
    return WorkflowEngine(
        stack.database,
        store,
        build_registry(),
        stack.audit,
        stack.security.authz,
        stack.events,
        workers=options.pop("workers", 4),
        clock=options.pop("clock", time.time),
        **options,
    )


@pytest.fixture
async def engine(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEngine]:
    CALLS.clear()
    PROBE.update(now=0, peak=0, seen=[])
    monkeypatch.setitem(executors.EXECUTORS, "flaky", _flaky)
    monkeypatch.setitem(executors.EXECUTORS, "probe", _probe)
    engine = new_engine(stack)
    await engine.initialize()
    yield engine
    await engine.cleanup()


def wf(
    *nodes: dict[str, Any], edges: list[tuple[str, str] | tuple[str, str, str]]
) -> dict[str, Any]:
    return {
        "name": "test",
        "nodes": [{"name": n["id"], "params": {}, **n} for n in nodes],
        "edges": [
            {
                "id": f"e{i}",
                "source": e[0],
                "target": e[1],
                "source_port": e[2] if len(e) > 2 else "main",
            }
            for i, e in enumerate(edges)
        ],
    }


async def run(
    stack: Stack, engine: WorkflowEngine, document: dict[str, Any], params: dict | None = None
) -> dict:
    admin = await stack.admin()
    saved = await engine.store.create(admin, document)
    run_id = await engine.execute_workflow(admin, saved.id, params or {})
    return await engine.wait(run_id)


T = {"id": "t", "type": "manual_trigger"}


async def simulate_crash(stack: Stack, run_id: str) -> None:
    """Leave the run as a killed process would: still running, owned by a process on
    another machine that stopped sending heartbeats long ago."""
    async with stack.database.begin() as conn:
        await conn.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(status="running", owner="lost-host:4242:dead", heartbeat=0.0)
        )
