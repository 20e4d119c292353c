"""For-each loops, sub-workflows, durable approvals and cancelling from anywhere."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.document import parse_document
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.validation import validate
from tests.services.conftest import Stack
from tests.services.workflows.conftest import PROBE, T, new_engine, run, simulate_crash, wf


async def until(predicate: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def status_is(engine: WorkflowEngine, run_id: str, wanted: str) -> bool:
    return (await engine.run_status(run_id))["status"] == wanted


def loop_doc(concurrency: int, **probe: Any) -> dict[str, Any]:
    return wf(
        T,
        {
            "id": "loop",
            "type": "for_each",
            "params": {"items": "{{ $input.cars }}", "concurrency": concurrency},
        },
        {"id": "probe", "type": "probe", "params": probe},
        {"id": "price", "type": "set_fields", "params": {"fields": {"ok": True}}},
        {"id": "after", "type": "log"},
        edges=[
            ("t", "loop"),
            ("loop", "probe", "each"),
            ("probe", "price"),
            ("loop", "after", "done"),
        ],
    )


# -- for-each ----------------------------------------------------------------------------
async def test_for_each_runs_the_body_per_item_within_the_concurrency_limit(
    stack: Stack, engine: WorkflowEngine
) -> None:
    cars = [f"VIN{i}" for i in range(9)]
    status = await run(stack, engine, loop_doc(3, seconds=0.05), {"cars": cars})
    assert status["status"] == "succeeded", status["error"]
    assert PROBE["peak"] == 3  # really parallel, never more than the limit
    assert sorted(PROBE["seen"]) == sorted(cars)  # every item once
    done = status["nodes"]["after"]["output"]["main"]
    assert done == [{"handled": c, "ok": True} for c in cars]  # in item order
    assert status["nodes"]["loop"]["items_done"] == 9
    body = status["nodes"]["probe"]
    assert body["status"] == "succeeded"
    assert len(body["output"]["main"]) == 9  # the body row summarises every item
    PROBE.update(peak=0, seen=[])
    status = await run(stack, engine, loop_doc(1, seconds=0.01), {"cars": cars[:4]})
    assert PROBE["peak"] == 1


async def test_a_failing_item_fails_the_loop_with_its_index(
    stack: Stack, engine: WorkflowEngine
) -> None:
    status = await run(
        stack, engine, loop_doc(2, seconds=0.01, fail_on="bad"), {"cars": ["a", "bad", "c"]}
    )
    assert status["status"] == "failed"
    assert "item 1" in status["nodes"]["loop"]["error"]
    assert "cannot handle 'bad'" in status["nodes"]["loop"]["error"]
    assert status["nodes"]["probe"]["status"] == "failed"
    assert status["nodes"]["after"]["status"] == "cancelled"


async def test_items_that_are_not_a_list_fail_with_the_reason(
    stack: Stack, engine: WorkflowEngine
) -> None:
    status = await run(stack, engine, loop_doc(1), {"cars": "VIN1"})
    assert status["status"] == "failed"
    assert status["nodes"]["loop"]["error"] == "loop: items must be a list, not str"


async def test_an_interrupted_loop_resumes_without_redoing_finished_items(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(admin, loop_doc(1, seconds=0.05))
    run_id = await engine.execute_workflow(admin, saved.id, {"cars": list(range(8))})

    async def three_done() -> bool:
        return (await engine.run_status(run_id))["nodes"]["loop"].get("items_done", 0) >= 3

    await until(three_done)
    await engine.cleanup()  # the process goes away mid-loop
    seen_before = list(PROBE["seen"])
    fresh = new_engine(stack)
    await fresh.initialize()
    try:
        assert (await fresh.run_status(run_id))["status"] == "interrupted"
        await fresh.resume(admin, run_id)
        status = await fresh.wait(run_id)
    finally:
        await fresh.cleanup()
    assert status["status"] == "succeeded"
    rerun = PROBE["seen"][len(seen_before) :]
    finished_before = status["nodes"]["loop"]["items_done"] - len(rerun)
    assert finished_before >= 3
    assert sorted(seen_before[:finished_before]) == list(range(finished_before))
    assert set(rerun).isdisjoint(range(finished_before))  # finished items did not run again
    done = status["nodes"]["after"]["output"]["main"]
    assert [d["handled"] for d in done] == list(range(8))


async def test_nested_loops(stack: Stack, engine: WorkflowEngine) -> None:
    doc = wf(
        T,
        {"id": "outer", "type": "for_each", "params": {"items": "{{ $input.rows }}"}},
        {"id": "inner", "type": "for_each", "params": {"items": "{{ $input }}"}},
        {"id": "double", "type": "set_fields", "params": {"fields": {"v": "{{ $input * 2 }}"}}},
        {"id": "out", "type": "log"},
        edges=[
            ("t", "outer"),
            ("outer", "inner", "each"),
            ("inner", "double", "each"),
            ("outer", "out", "done"),
        ],
    )
    doc["nodes"][3]["params"]["keep_input"] = False
    status = await run(stack, engine, doc, {"rows": [[1, 2], [3]]})
    assert status["status"] == "succeeded", status["error"]
    assert status["nodes"]["out"]["output"]["main"] == [[{"v": 2}, {"v": 4}], [{"v": 6}]]


def test_loop_bodies_are_entered_only_through_each_and_cannot_wait() -> None:
    doc = parse_document(
        wf(
            T,
            {"id": "loop", "type": "for_each", "params": {"items": []}},
            {"id": "body", "type": "log"},
            {"id": "ask", "type": "approval", "params": {"message": "ok?"}},
            edges=[("t", "loop"), ("loop", "body", "each"), ("t", "body"), ("body", "ask")],
        )
    )
    problems = {(p.code, p.node_id) for p in validate(doc, builtin_registry())}
    assert ("LOOP_ENTRY", "body") in problems
    assert ("APPROVAL_IN_LOOP", "ask") in problems


# -- sub-workflows -----------------------------------------------------------------------
async def test_sub_workflow_returns_the_child_result_and_links_the_runs(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    child = await engine.store.create(
        admin,
        wf(
            T,
            {"id": "quote", "type": "set_fields", "params": {"fields": {"price": 19990}}},
            edges=[("t", "quote")],
        ),
    )
    parent = wf(
        T,
        {"id": "call", "type": "sub_workflow", "params": {"workflow_id": child.id}},
        {"id": "out", "type": "log"},
        edges=[("t", "call"), ("call", "out")],
    )
    status = await run(stack, engine, parent, {"vin": "WVW123"})
    assert status["status"] == "succeeded", status["error"]
    assert status["nodes"]["out"]["output"]["main"] == {"vin": "WVW123", "price": 19990}
    child_run = status["nodes"]["call"]["checkpoint"]["child_run_id"]
    runs = await engine.list_runs(admin, child.id)
    assert [r["run_id"] for r in runs] == [child_run]
    assert runs[0]["parent_run_id"] == status["run_id"]


async def test_sub_workflow_failures_and_recursion_are_reported(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    failing = await engine.store.create(
        admin, wf(T, {"id": "f", "type": "flaky", "params": {"fail_times": 9}}, edges=[("t", "f")])
    )
    status = await run(
        stack,
        engine,
        wf(
            T,
            {"id": "call", "type": "sub_workflow", "params": {"workflow_id": failing.id}},
            edges=[("t", "call")],
        ),
    )
    assert status["status"] == "failed"
    assert "failed: f: ConnectionError" in status["nodes"]["call"]["error"]
    selfish = await engine.store.create(admin, wf(T, edges=[]))
    await engine.store.save(
        admin,
        selfish.id,
        wf(
            T,
            {"id": "again", "type": "sub_workflow", "params": {"workflow_id": selfish.id}},
            edges=[("t", "again")],
        ),
    )
    run_id = await engine.execute_workflow(admin, selfish.id, {})
    status = await engine.wait(run_id)
    assert status["status"] == "failed"
    assert "nest deeper than 8 levels" in status["error"]


# -- approvals ---------------------------------------------------------------------------
def approval_doc(**params: Any) -> dict[str, Any]:
    return wf(
        T,
        {"id": "ask", "type": "approval", "params": {"message": "Discount 12%?", **params}},
        {"id": "yes", "type": "log"},
        {"id": "no", "type": "log"},
        edges=[("t", "ask"), ("ask", "yes", "approved"), ("ask", "no", "rejected")],
    )


async def test_approval_parks_the_run_until_approved(stack: Stack, engine: WorkflowEngine) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(admin, approval_doc())
    run_id = await engine.execute_workflow(admin, saved.id, {"deal": 7})
    status = await engine.wait(run_id)  # returns once the run parked
    assert status["status"] == "waiting"
    assert status["nodes"]["ask"]["status"] == "waiting"
    [pending] = await engine.pending_approvals(admin)
    assert pending["run_id"] == run_id
    assert pending["node_name"] == "ask"
    assert pending["message"] == "Discount 12%?"
    await engine.approve(admin, run_id, approved=True, comment="fine")
    status = await engine.wait(run_id)
    assert status["status"] == "succeeded"
    assert status["nodes"]["no"]["status"] == "skipped"
    output = status["nodes"]["yes"]["output"]["main"]
    assert output["deal"] == 7
    assert output["approval"]["by"] == "alice"
    assert output["approval"]["comment"] == "fine"
    assert await engine.pending_approvals(admin) == []
    with pytest.raises(ServiceError) as info:
        await engine.approve(admin, run_id)
    assert info.value.code is ErrorCode.CONFLICT


async def test_rejection_approvers_and_deadline(stack: Stack, engine: WorkflowEngine) -> None:
    admin = await stack.admin()
    vera = await stack.user("olga", "operator")
    saved = await engine.store.create(admin, approval_doc(approvers=["alice"]))
    run_id = await engine.execute_workflow(admin, saved.id, {})
    await engine.wait(run_id)
    with pytest.raises(ServiceError) as info:
        await engine.approve(vera, run_id)
    assert info.value.code is ErrorCode.UNAUTHORIZED
    await engine.approve(admin, run_id, "ask", approved=False)
    status = await engine.wait(run_id)
    assert status["status"] == "succeeded"
    assert status["nodes"]["no"]["status"] == "succeeded"
    assert status["nodes"]["yes"]["status"] == "skipped"

    now = [1_000_000.0]
    engine.clock = lambda: now[0]
    saved = await engine.store.create(admin, approval_doc(timeout_hours=1))
    run_id = await engine.execute_workflow(admin, saved.id, {})
    await engine.wait(run_id)
    assert await engine.expire_approvals() == []
    now[0] += 3601
    assert await engine.expire_approvals() == [run_id]
    status = await engine.wait(run_id)
    assert status["nodes"]["no"]["output"]["main"]["approval"]["comment"] == "timed out"


async def test_another_process_approves_and_continues_the_run(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(admin, approval_doc())
    run_id = await engine.execute_workflow(admin, saved.id, {})
    await engine.wait(run_id)
    await engine.cleanup()  # the console is closed; the run stays parked
    cli = new_engine(stack)
    await cli.initialize()
    try:
        assert cli.interrupted == []  # waiting is not interrupted
        await cli.approve(admin, run_id)
        await cli.drain()
        status = await cli.run_status(run_id)
    finally:
        await cli.cleanup()
    assert status["status"] == "succeeded"
    assert status["nodes"]["yes"]["status"] == "succeeded"


async def test_decision_reaches_a_run_still_busy_in_another_process(
    stack: Stack, engine: WorkflowEngine
) -> None:
    """The approval parks while a slow branch keeps the run busy in the console; a decision
    made elsewhere is picked up without waiting for the slow branch."""
    admin = await stack.admin()
    doc = approval_doc()
    doc["nodes"].append({"id": "slow", "name": "slow", "type": "delay", "params": {"seconds": 5}})
    doc["edges"].append({"id": "e_slow", "source": "t", "target": "slow"})
    saved = await engine.store.create(admin, doc)
    run_id = await engine.execute_workflow(admin, saved.id, {})

    async def parked() -> bool:
        return (await engine.run_status(run_id))["nodes"]["ask"]["status"] == "waiting"

    await until(parked)
    other = new_engine(stack, approval_check_interval=0)
    await other.initialize()
    try:
        await other.approve(admin, run_id)
        assert other.active_runs(saved.id) == 0  # the console still drives it

        async def yes_ran() -> bool:
            return (await engine.run_status(run_id))["nodes"]["yes"]["status"] == "succeeded"

        await until(yes_ran, within=4)  # well before the slow branch ends
        assert (await engine.run_status(run_id))["nodes"]["slow"]["status"] == "running"
    finally:
        await other.cleanup()
        await engine.cancel(admin, run_id)


async def test_approval_inside_a_sub_workflow_parks_and_resumes_the_parent(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    child = await engine.store.create(admin, approval_doc())
    parent = await engine.store.create(
        admin,
        wf(
            T,
            {"id": "call", "type": "sub_workflow", "params": {"workflow_id": child.id}},
            {"id": "out", "type": "log"},
            edges=[("t", "call"), ("call", "out")],
        ),
    )
    run_id = await engine.execute_workflow(admin, parent.id, {"lead": "L-1"})
    status = await engine.wait(run_id)
    assert status["status"] == "waiting"
    assert status["nodes"]["call"]["status"] == "waiting"
    [pending] = await engine.pending_approvals(admin)
    assert pending["run_id"] != run_id  # the child asks
    await engine.approve(admin, pending["run_id"])
    await engine.drain()
    status = await engine.run_status(run_id)
    assert status["status"] == "succeeded", status["error"]
    assert status["nodes"]["out"]["output"]["main"]["lead"] == "L-1"


# -- cancelling --------------------------------------------------------------------------
async def test_cancel_a_parked_run_and_a_run_driven_elsewhere(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(admin, approval_doc())
    parked = await engine.execute_workflow(admin, saved.id, {})
    await engine.wait(parked)
    assert await engine.cancel(admin, parked) == "cancelled"
    status = await engine.run_status(parked)
    assert status["status"] == "cancelled"
    assert status["nodes"]["ask"]["status"] == "cancelled"
    assert await engine.pending_approvals(admin) == []

    slow = await engine.store.create(
        admin,
        wf(T, {"id": "d", "type": "delay", "params": {"seconds": 30}}, edges=[("t", "d")]),
    )
    busy = await engine.execute_workflow(admin, slow.id, {})
    await until(lambda: status_is(engine, busy, "running"))
    cli = new_engine(stack, approval_check_interval=0)
    await cli.initialize()
    try:
        assert await cli.cancel(admin, busy) == "cancel_requested"
    finally:
        await cli.cleanup()
    status = await asyncio.wait_for(engine.wait(busy), timeout=5)  # stops within a poll
    assert status["status"] == "cancelled"
    assert status["nodes"]["d"]["status"] == "cancelled"
    with pytest.raises(ServiceError) as info:
        await engine.cancel(admin, busy)
    assert info.value.code is ErrorCode.CONFLICT


async def test_resume_interrupted_runs_at_start_up_when_configured(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(
        admin,
        wf(T, {"id": "d", "type": "delay", "params": {"seconds": 0.3}}, edges=[("t", "d")]),
    )
    run_id = await engine.execute_workflow(admin, saved.id, {})
    await until(lambda: status_is(engine, run_id, "running"))
    await engine.cleanup()
    await simulate_crash(stack, run_id)
    fresh = new_engine(stack, resume_interrupted=True)
    await fresh.initialize()
    try:
        assert fresh.interrupted == [run_id]
        status = await fresh.wait(run_id)
    finally:
        await fresh.cleanup()
    assert status["status"] == "succeeded"
