"""Engine semantics against the real database: routing, parallelism, retries, timeouts,
error routes, cancellation, merge modes, expressions, resume, and random DAGs."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.engine import WorkflowEngine
from tests.services.conftest import Stack
from tests.services.workflows.conftest import CALLS, T, new_engine, run, simulate_crash, wf


async def test_linear_run_with_expressions_is_recorded(
    stack: Stack, engine: WorkflowEngine
) -> None:
    doc = wf(
        T,
        {
            "id": "set",
            "type": "set_fields",
            "params": {
                "fields": {"greeting": "Hi {{ $input.name }}", "total": "{{ $params.qty * 2 }}"}
            },
        },
        {"id": "out", "type": "log"},
        edges=[("t", "set"), ("set", "out")],
    )
    status = await run(stack, engine, doc, {"name": "Ana", "qty": 21})
    assert status["status"] == "succeeded"
    assert status["progress"] == 1.0
    assert status["version"] == 1
    assert status["results"] == {
        "out": {"main": {"name": "Ana", "qty": 21, "greeting": "Hi Ana", "total": 42}}
    }
    assert {n: s["status"] for n, s in status["nodes"].items()} == {
        "t": "succeeded",
        "set": "succeeded",
        "out": "succeeded",
    }


async def test_condition_routes_and_untaken_branch_is_skipped(
    stack: Stack, engine: WorkflowEngine
) -> None:
    doc = wf(
        T,
        {"id": "if", "type": "condition", "params": {"condition": "{{ $input.score > 80 }}"}},
        {"id": "hot", "type": "log"},
        {"id": "cold", "type": "log"},
        {"id": "after_cold", "type": "log"},
        edges=[("t", "if"), ("if", "hot", "true"), ("if", "cold", "false"), ("cold", "after_cold")],
    )
    status = await run(stack, engine, doc, {"score": 91})
    nodes = {n: s["status"] for n, s in status["nodes"].items()}
    assert nodes == {
        "t": "succeeded",
        "if": "succeeded",
        "hot": "succeeded",
        "cold": "skipped",
        "after_cold": "skipped",
    }
    assert status["status"] == "succeeded"


async def test_parallel_branches_overlap_and_merge_waits(
    stack: Stack, engine: WorkflowEngine
) -> None:
    doc = wf(
        T,
        {"id": "a", "type": "delay", "params": {"seconds": 0.3}},
        {"id": "b", "type": "delay", "params": {"seconds": 0.3}},
        {"id": "m", "type": "merge", "params": {"mode": "wait_all"}},
        edges=[("t", "a"), ("t", "b"), ("a", "m"), ("b", "m")],
    )
    status = await run(stack, engine, doc, {"x": 1})
    a, b, m = (status["nodes"][k] for k in ("a", "b", "m"))
    assert a["started_at"] < b["finished_at"]
    assert b["started_at"] < a["finished_at"]  # both ran at the same time
    assert m["started_at"] >= max(a["finished_at"], b["finished_at"])
    assert status["results"]["m"] == {"main": [{"x": 1}, {"x": 1}]}


async def test_merge_append_and_first(stack: Stack, engine: WorkflowEngine) -> None:
    doc = wf(
        T,
        {
            "id": "s1",
            "type": "set_fields",
            "params": {"fields": {"v": [1, 2]}, "keep_input": False},
        },
        {"id": "s2", "type": "set_fields", "params": {"fields": {"v": [3]}, "keep_input": False}},
        {"id": "m", "type": "merge", "params": {"mode": "append"}},
        edges=[("t", "s1"), ("t", "s2"), ("s1", "m"), ("s2", "m")],
    )
    status = await run(stack, engine, doc)
    assert status["results"]["m"] == {"main": [{"v": [1, 2]}, {"v": [3]}]}
    doc = wf(
        T,
        {"id": "slow", "type": "delay", "params": {"seconds": 2}},
        {
            "id": "fast",
            "type": "set_fields",
            "params": {"fields": {"who": "fast"}, "keep_input": False},
        },
        {"id": "m", "type": "merge", "params": {"mode": "first"}},
        {"id": "out", "type": "log"},
        edges=[("t", "slow"), ("t", "fast"), ("slow", "m"), ("fast", "m"), ("m", "out")],
    )
    status = await run(stack, engine, doc)
    assert status["nodes"]["out"]["output"] == {"main": {"who": "fast"}}
    assert status["nodes"]["out"]["finished_at"] < status["nodes"]["slow"]["finished_at"]


async def test_retries_are_counted_and_give_up(stack: Stack, engine: WorkflowEngine) -> None:
    retry = {"attempts": 3, "delay": 0.01, "backoff": 2, "max_delay": 0.05}
    doc = wf(
        T,
        {"id": "f", "type": "flaky", "params": {"fail_times": 2}, "retry": retry},
        edges=[("t", "f")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "succeeded"
    assert status["nodes"]["f"]["attempt"] == 3
    assert status["results"] == {"f": {"main": {"calls": 3}}}
    CALLS.clear()
    doc = wf(
        T,
        {"id": "g", "type": "flaky", "params": {"fail_times": 5}, "retry": retry},
        edges=[("t", "g")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "failed"
    assert CALLS["g"] == 3
    assert "attempt 3 failed" in status["nodes"]["g"]["error"]
    assert "attempt 3 failed" in status["error"]


async def test_timeout_fails_the_node_and_stops_the_run(
    stack: Stack, engine: WorkflowEngine
) -> None:
    doc = wf(
        T,
        {"id": "slow", "type": "delay", "params": {"seconds": 30}, "timeout": 0.1},
        {"id": "after", "type": "log"},
        edges=[("t", "slow"), ("slow", "after")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "failed"
    assert "took longer than 0.1 s" in status["nodes"]["slow"]["error"]
    assert status["nodes"]["after"]["status"] == "cancelled"


async def test_error_route_and_continue(stack: Stack, engine: WorkflowEngine) -> None:
    doc = wf(
        T,
        {"id": "f", "type": "flaky", "params": {"fail_times": 9}, "on_error": "route"},
        {"id": "ok", "type": "log"},
        {"id": "handler", "type": "error_handler"},
        edges=[("t", "f"), ("f", "ok"), ("f", "handler", "error")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "succeeded"
    assert status["nodes"]["ok"]["status"] == "skipped"
    assert "attempt 1 failed" in status["results"]["handler"]["main"]["error"]
    CALLS.clear()
    doc = wf(
        T,
        {"id": "f", "type": "flaky", "params": {"fail_times": 9}, "on_error": "continue"},
        {"id": "next", "type": "log"},
        edges=[("t", "f"), ("f", "next")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "succeeded"
    assert status["nodes"]["next"]["status"] == "succeeded"


async def test_expression_errors_fail_the_node_with_the_reason(
    stack: Stack, engine: WorkflowEngine
) -> None:
    doc = wf(
        T,
        {
            "id": "bad",
            "type": "set_fields",
            "params": {"fields": {"x": "{{ $input.n / 0 }}"}},
            "retry": {"attempts": 3, "delay": 0},
        },
        edges=[("t", "bad")],
    )
    status = await run(stack, engine, doc, {"n": 1})
    assert status["status"] == "failed"
    assert "division by zero" in status["nodes"]["bad"]["error"]
    assert status["nodes"]["bad"]["attempt"] == 1  # not retried


async def test_cancel_stops_running_nodes_promptly(stack: Stack, engine: WorkflowEngine) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(
        admin,
        wf(
            T,
            {"id": "wait", "type": "delay", "params": {"seconds": 60}},
            {"id": "after", "type": "log"},
            edges=[("t", "wait"), ("wait", "after")],
        ),
    )
    run_id = await engine.execute_workflow(admin, saved.id, {})
    for _ in range(200):
        if (await engine.run_status(run_id))["nodes"]["wait"]["status"] == "running":
            break
        await asyncio.sleep(0.01)
    await engine.cancel(admin, run_id)
    status = await engine.run_status(run_id)
    assert status["status"] == "cancelled"
    assert status["nodes"]["wait"]["status"] == "cancelled"
    assert status["nodes"]["after"]["status"] == "cancelled"


async def interrupted(
    stack: Stack, engine: WorkflowEngine, document: dict, node_id: str
) -> tuple[str, str]:
    """(workflow id, run id) of a run whose process went away while ``node_id`` ran."""
    admin = await stack.admin()
    saved = await engine.store.create(admin, document)
    run_id = await engine.execute_workflow(admin, saved.id, {})
    for _ in range(300):
        if (await engine.run_status(run_id))["nodes"][node_id]["status"] == "running":
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError(f"{node_id} never started")
    await engine.cleanup()  # the process goes away mid-run
    assert (await engine.run_status(run_id))["status"] == "interrupted"
    return saved.id, run_id


async def test_resume_after_interruption_does_not_rerun_finished_nodes(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    document = wf(
        T,
        {"id": "once", "type": "flaky"},
        {"id": "wait", "type": "delay", "params": {"seconds": 60}},
        {"id": "end", "type": "log"},
        edges=[("t", "once"), ("once", "wait"), ("wait", "end")],
    )
    workflow_id, run_id = await interrupted(stack, engine, document, "wait")
    noticed: list[list[str]] = []
    stack.events.subscribe("runs_interrupted", lambda e: noticed.append(e.payload["run_ids"]))
    await simulate_crash(stack, run_id)
    fresh = new_engine(stack)  # a new process: its own store, nothing cached
    await fresh.initialize()
    assert fresh.interrupted == [run_id]
    assert noticed == [[run_id]]
    try:
        async with stack.database.session() as db:  # shorten the delay for the resumed run
            from auterity_desktop.services.workflows.models import WorkflowVersionRow

            row = await db.get(WorkflowVersionRow, (workflow_id, 1))
            document = dict(row.document)
            document["nodes"] = [
                dict(n, params={"seconds": 0.01}) if n["id"] == "wait" else n
                for n in document["nodes"]
            ]
            row.document = document
        await fresh.resume(admin, run_id)
        status = await fresh.wait(run_id)
    finally:
        await fresh.cleanup()
    assert status["status"] == "succeeded"
    assert CALLS["once"] == 1  # finished before the interruption: not run again
    assert status["nodes"]["once"]["attempt"] == 1


async def test_two_processes_resuming_one_run_drive_it_once(
    stack: Stack, engine: WorkflowEngine
) -> None:
    """Two consoles press Resume on the same interrupted run at the same moment: one claims
    and drives it, the other is told it is no longer interrupted; no node runs twice."""
    admin = await stack.admin()
    document = wf(
        T,
        {"id": "once", "type": "flaky"},
        {"id": "wait", "type": "delay", "params": {"seconds": 0.2}},
        edges=[("t", "once"), ("once", "wait")],
    )
    _, run_id = await interrupted(stack, engine, document, "wait")
    first, second = new_engine(stack), new_engine(stack)
    await first.initialize()
    await second.initialize()
    try:
        outcomes = await asyncio.gather(
            first.resume(admin, run_id), second.resume(admin, run_id), return_exceptions=True
        )
        refused = [o for o in outcomes if isinstance(o, ServiceError)]
        assert len(refused) == 1 and outcomes.count(None) == 1, outcomes
        assert refused[0].code is ErrorCode.CONFLICT
        assert refused[0].details["status"] in ("running", "succeeded")
        assert "not interrupted" in refused[0].message
        for process in (first, second):
            await process.settled(run_id)
        status = await first.run_status(run_id)
        assert status["status"] == "succeeded"
        assert CALLS["once"] == 1
        # a run that is not interrupted is refused, with why
        with pytest.raises(ServiceError) as finished:
            await first.resume(admin, run_id)
        assert finished.value.code is ErrorCode.CONFLICT
        assert finished.value.details["status"] == "succeeded"
    finally:
        await first.cleanup()
        await second.cleanup()


async def test_a_resume_that_cannot_start_leaves_the_run_interrupted(
    stack: Stack, engine: WorkflowEngine
) -> None:
    admin = await stack.admin()
    document = wf(T, {"id": "d", "type": "delay", "params": {"seconds": 60}}, edges=[("t", "d")])
    workflow_id, run_id = await interrupted(stack, engine, document, "d")
    await engine.store.delete(admin, workflow_id)  # its workflow is gone
    fresh = new_engine(stack)
    await fresh.initialize()
    try:
        with pytest.raises(ServiceError) as gone:
            await fresh.resume(admin, run_id)
        assert gone.value.code is ErrorCode.NOT_FOUND
        assert (await fresh.run_status(run_id))["status"] == "interrupted"
    finally:
        await fresh.cleanup()


async def test_bad_run_requests(stack: Stack, engine: WorkflowEngine) -> None:
    admin = await stack.admin()
    viewer = await stack.user("vera", "viewer")
    saved = await engine.store.create(
        admin, wf(T, {"id": "d", "type": "delay"}, edges=[("t", "d")])
    )
    with pytest.raises(ServiceError) as info:
        await engine.execute_workflow(admin, saved.id, {})
    assert info.value.code is ErrorCode.VALIDATION_ERROR  # delay without seconds
    ok = await engine.store.create(admin, wf(T, edges=[]))
    with pytest.raises(ServiceError) as info:
        await engine.execute_workflow(admin, ok.id, ["not", "an", "object"])  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError) as info:
        await engine.execute_workflow(admin, ok.id, {"blob": "x" * (11 * 1024 * 1024)})
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE
    with pytest.raises(ServiceError) as info:
        await engine.execute_workflow(viewer, ok.id, {})
    assert info.value.code is ErrorCode.UNAUTHORIZED
    with pytest.raises(ServiceError) as info:
        await engine.run_status("no-such-run")
    assert info.value.code is ErrorCode.NOT_FOUND


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    size = draw(st.integers(min_value=1, max_value=14))
    edges = [(0, 1)] if size > 1 else []
    for target in range(2, size + 1):
        sources = draw(
            st.lists(
                st.integers(min_value=0, max_value=target - 1), min_size=0, max_size=3, unique=True
            )
        )
        edges.extend((s, target) for s in sources)
    return size, edges


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dags())
async def test_random_dags_run_every_reachable_node_once_after_its_inputs(
    stack: Stack, engine: WorkflowEngine, dag: tuple[int, list[tuple[int, int]]]
) -> None:
    size, edges = dag
    ticks = itertools.count()
    engine.clock = lambda: float(next(ticks))  # strictly increasing: exact ordering
    nodes = [{"id": "n0", "type": "manual_trigger"}] + [
        {"id": f"n{i}", "type": "log"} for i in range(1, size + 1)
    ]
    doc = wf(*nodes, edges=[(f"n{s}", f"n{t}") for s, t in edges])
    status = await run(stack, engine, doc)
    reachable = {0}
    for s, t in sorted(edges, key=lambda e: e[1]):
        if s in reachable:
            reachable.add(t)
    for i in range(size + 1):
        node = status["nodes"][f"n{i}"]
        if i in reachable:
            assert node["status"] == "succeeded"
            assert node["attempt"] == 1
            for s, t in edges:
                if t == i:
                    assert node["started_at"] > status["nodes"][f"n{s}"]["finished_at"]
        else:
            assert node["status"] == "skipped"
    assert status["status"] == "succeeded"
