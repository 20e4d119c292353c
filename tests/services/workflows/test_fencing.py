"""A process that stalled past its run lease and found its run taken over writes nothing
more to it: the run-state writer refuses the changes of runs another owner now holds (in
the same transaction as the write), and the heartbeat stops a run it finds taken even when
no write comes. Checked on SQLite and PostgreSQL with real runs and a real stall (the event
loop blocked)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select, update

from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import NodeRunRow, RunRow
from auterity_desktop.services.workflows.run_state import RUN_PROGRESS, RUN_STARTED
from auterity_desktop.services.workflows.state_writer import RunLost, StateWriter
from tests.services.conftest import Stack, build_stack, close_stack
from tests.services.workflows.conftest import T, new_engine, wf

OTHER = "other-host:4242:b0b0b0b0"  # the process that took the run over


def waiting(seconds: float, **settings: Any) -> dict[str, Any]:
    doc = wf(
        T,
        {"id": "wait", "type": "delay", "params": {"seconds": seconds}},
        {"id": "done", "type": "log"},
        edges=[("t", "wait"), ("wait", "done")],
    )
    return {**doc, "settings": settings} if settings else doc


async def take_over(stack: Stack, run_id: str) -> None:
    """What another process's claim does: the run's row names it, with a fresh heartbeat."""
    async with stack.database.begin() as conn:
        await conn.execute(
            update(RunRow).where(RunRow.id == run_id).values(owner=OTHER, heartbeat=time.time())
        )


async def node_rows(stack: Stack, run_id: str) -> dict[str, tuple[str, float | None]]:
    async with stack.database.engine.connect() as conn:
        rows = await conn.execute(
            select(NodeRunRow.node_id, NodeRunRow.status, NodeRunRow.finished_at).where(
                NodeRunRow.run_id == run_id
            )
        )
        return {r.node_id: (r.status, r.finished_at) for r in rows}


async def run_row(stack: Stack, run_id: str) -> tuple[str, str | None, float | None]:
    async with stack.database.engine.connect() as conn:
        row = (
            await conn.execute(
                select(RunRow.status, RunRow.owner, RunRow.finished_at).where(RunRow.id == run_id)
            )
        ).one()
        return row.status, row.owner, row.finished_at


async def started(stack: Stack, engine: WorkflowEngine, document: dict[str, Any]) -> str:
    """A run whose ``wait`` node is under way."""
    admin = await stack.admin()
    saved = await engine.store.create(admin, document)
    run_id = await engine.execute_workflow(admin, saved.id, {})
    for _ in range(500):
        if (await node_rows(stack, run_id))["wait"][0] == "running":
            return run_id
        await asyncio.sleep(0.01)
    raise AssertionError("the wait node never started")


@pytest.fixture
async def stack_on(any_database_url: str) -> Any:
    stack = await build_stack(any_database_url)
    yield stack
    await close_stack(stack)


def told_lost(caplog: pytest.LogCaptureFixture, run_id: str) -> bool:
    return any(
        r.getMessage() == "another process took this run over" and r.__dict__["run_id"] == run_id
        for r in caplog.records
    )


async def test_a_taken_over_run_gets_no_more_writes_from_its_old_driver(
    stack_on: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = stack_on
    engine = new_engine(stack, lease=1.2)
    await engine.initialize()
    try:
        run_id = await started(stack, engine, waiting(0.3))
        await take_over(stack, run_id)
        time.sleep(0.6)  # noqa: ASYNC251 - this process stalls past a third of its lease
        await asyncio.wait_for(engine.settled(run_id), 10)
        assert told_lost(caplog, run_id)
        # the wait node's end, the next node and the run's end were all left to the new owner
        nodes = await node_rows(stack, run_id)
        assert nodes["wait"] == ("running", None)
        assert nodes["done"] == ("pending", None)
        assert await run_row(stack, run_id) == ("running", OTHER, None)
    finally:
        await engine.cleanup()
    assert await run_row(stack, run_id) == ("running", OTHER, None)  # nor at shutdown


async def test_the_heartbeat_stops_a_taken_over_run_that_writes_nothing(
    stack_on: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = stack_on
    engine = new_engine(stack)
    await engine.initialize()
    try:
        run_id = await started(stack, engine, waiting(60))
        await take_over(stack, run_id)
        await engine.beat()
        await asyncio.wait_for(engine.settled(run_id), 10)
        assert told_lost(caplog, run_id)
        assert (await node_rows(stack, run_id))["wait"] == ("running", None)
        assert await run_row(stack, run_id) == ("running", OTHER, None)
    finally:
        await engine.cleanup()


async def test_the_writer_leaves_out_only_the_calls_of_a_lost_run(stack_on: Stack) -> None:
    """One batch, three runs: this process's, another's and a queued one nobody owns.
    Only the other's change is refused, its caller told and ``on_lost`` called once; a
    claiming statement is never refused."""
    stack = stack_on
    engine = new_engine(stack)
    await engine.initialize()
    try:
        admin = await stack.admin()
        queued = await engine.store.create(admin, waiting(0, execution="workers"))
        mine, others, nobodys = [
            await engine.execute_workflow(admin, queued.id, {}) for _ in range(3)
        ]
        async with stack.database.begin() as conn:
            for run_id, owner in ((mine, "me:1:a"), (others, OTHER)):
                await conn.execute(update(RunRow).where(RunRow.id == run_id).values(owner=owner))
    finally:
        await engine.cleanup()

    lost: list[str] = []
    writer = StateWriter(stack.database, "me:1:a", takes={RUN_STARTED}, on_lost=lost.append)

    def progress(run_id: str) -> Any:
        return writer.write((RUN_PROGRESS, {"k_run": run_id, "v_progress": 0.5}))

    outcomes = await asyncio.gather(
        progress(mine), progress(others), progress(nobodys), return_exceptions=True
    )
    assert writer.commits == 1  # one batch
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], RunLost) and outcomes[1].run_id == others
    assert lost == [others]

    async def progress_of(run_id: str) -> float:
        async with stack.database.engine.connect() as conn:
            row = select(RunRow.progress).where(RunRow.id == run_id)
            return float((await conn.execute(row)).scalar_one())

    assert [await progress_of(r) for r in (mine, others, nobodys)] == [0.5, 0.0, 0.5]

    # claiming the run (as a resume does) is allowed, and then its changes are written
    claim = {"k_run": others, "v_now": time.time(), "v_owner": "me:1:a", "v_beat": time.time()}
    await writer.write((RUN_STARTED, claim))
    await progress(others)
    assert await progress_of(others) == 0.5
    assert lost == [others]

    # without the check (SQLite while the leases are fresh) nothing is refused
    unchecked = StateWriter(stack.database, OTHER, takes={RUN_STARTED}, fence_needed=lambda: False)
    await unchecked.write((RUN_PROGRESS, {"k_run": others, "v_progress": 0.75}))
    assert await progress_of(others) == 0.75


async def test_sqlite_checks_ownership_only_once_leases_may_have_run_out(
    stack_on: Stack,
) -> None:
    """A run is taken over only once its heartbeat is a lease old. SQLite's processes share
    one clock, so while this process's leases are fresh no check is needed; PostgreSQL's
    may not, so there every batch is checked."""
    stack = stack_on
    sqlite = stack.database.dialect == "sqlite"
    fresh = new_engine(stack)  # a 45 s lease, renewed a moment ago
    await fresh.beat()
    assert fresh._leases_in_doubt() is not sqlite
    stalled = new_engine(stack, lease=0.3)
    await stalled.beat()
    await asyncio.sleep(0.15)  # a third of the lease without a heartbeat
    assert stalled._leases_in_doubt()
