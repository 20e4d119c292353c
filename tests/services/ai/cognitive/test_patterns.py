"""Pattern recognition over real runs of the real engine.

Two scenarios. In the first the engine's clock is virtual and a test node type ("work")
moves it by a set number of seconds, so every duration, percentile and z-score is exact and
checked by hand. The second runs built-in nodes on real time — HTTP calls to a local server
that answer 404 or find the port closed, delay nodes, a condition that branches — on SQLite
and on PostgreSQL, and checks the same findings with tolerances on the durations.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import numpy as np
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.cognitive import patterns
from auterity_desktop.services.ai.cognitive.patterns import (
    PatternReport,
    error_signature,
    recognize_patterns,
    robust_z,
)
from auterity_desktop.services.workflows import executors
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.node_context import NodeContext
from auterity_desktop.services.workflows.registry import NodeType, ParamSpec
from auterity_desktop.services.workflows.store import WorkflowStore
from tests.fakes import FakeClock
from tests.services.conftest import Stack, build_stack, close_stack
from tests.services.workflows.local_http import local_http_server

T0 = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC
VIN = "1HGCM82633A004352"


def node(node_id: str, node_type: str, name: str, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "name": name, "params": params}


def document(name: str, nodes: list[dict[str, Any]], edges: list[tuple[str, ...]]) -> dict:
    return {
        "name": name,
        "nodes": nodes,
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


def new_engine(stack: Stack, clock: Callable[[], float], workers: int = 4) -> WorkflowEngine:
    registry = builtin_registry()
    registry.register(
        NodeType(
            "work",
            "Work",
            "Test",
            "moves the virtual clock by `seconds`, then fails with `fail` if it is set",
            params=(ParamSpec("seconds", "number"), ParamSpec("fail", "any")),
        )
    )
    store = WorkflowStore(stack.database, stack.audit, stack.security.authz, stack.events)
    return WorkflowEngine(
        stack.database,
        store,
        registry,
        stack.audit,
        stack.security.authz,
        stack.events,
        workers=workers,
        clock=clock,
    )


# -- the virtual-clock scenario ---------------------------------------------------------
PRICE_CHECK = document(
    "Price check",
    [
        node("t", "manual_trigger", "Start"),
        node("check", "condition", "Is new?", condition="{{ $params.new }}"),
        node("price_new", "work", "Price new car", seconds="{{ $params.w }}"),
        node("notify", "log", "Notify"),
        node(
            "price_used",
            "work",
            "Lookup price",
            seconds="{{ $params.w }}",
            fail="{{ $params.fail }}",
        ),
        node("notify_used", "log", "Notify used"),
    ],
    [
        ("t", "check"),
        ("check", "price_new", "true"),
        ("price_new", "notify"),
        ("check", "price_used", "false"),
        ("price_used", "notify_used"),
    ],
)
NIGHTLY = document(
    "Nightly sync",
    [
        node("t", "manual_trigger", "Start"),
        node(
            "pull", "work", "Pull inventory", seconds="{{ $params.w }}", fail="{{ $params.fail }}"
        ),
        node("store", "log", "Store"),
    ],
    [("t", "pull"), ("pull", "store")],
)
REFUSED = [  # the same cause three times, against three hosts
    "connection refused to dms-1.dealer.local:8443",
    "connection refused to 10.0.0.7:5432",
    "connection refused to dms-2.dealer.local:8443",
]
BAD_FILES = [
    "Stock file 'inventory_2030-03-17.csv' has 3 bad rows",
    "Stock file 'inventory_2030-03-18.csv' has 12 bad rows",
]


class Virtual:
    """The scenario's runs, created one after another a minute apart."""

    def __init__(self, stack: Stack, engine: WorkflowEngine, clock: FakeClock) -> None:
        self.stack, self.engine, self.clock = stack, engine, clock
        self.ids: dict[str, str] = {}
        self.runs: list[dict[str, Any]] = []  # run status + the label it was started with

    async def create(self, doc: dict[str, Any]) -> str:
        admin = await self.stack.admin()
        saved = await self.engine.store.create(admin, doc)
        self.ids[doc["name"]] = saved.id
        return saved.id

    async def run(self, workflow: str, label: str, **params: Any) -> dict[str, Any]:
        self.clock.now += 60
        admin = await self.stack.admin()
        run_id = await self.engine.execute_workflow(admin, self.ids[workflow], params)
        status = await self.engine.wait(run_id)
        status["label"] = label
        self.runs.append(status)
        return status

    def of(self, label: str) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["label"] == label]


@pytest.fixture
async def virtual(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Virtual]:
    clock = FakeClock(T0)

    async def work(ctx: NodeContext) -> dict[str, Any]:
        clock.now += float(ctx.params.get("seconds") or 0)
        if ctx.params.get("fail"):
            message = str(ctx.params["fail"])
            raise (ValueError if "Stock" in message else ConnectionError)(message)
        return {"main": ctx.input}

    monkeypatch.setitem(executors.EXECUTORS, "work", work)
    engine = new_engine(stack, clock)
    await engine.initialize()
    scenario = Virtual(stack, engine, clock)
    await scenario.create(PRICE_CHECK)
    await scenario.create(NIGHTLY)
    for w in (5, 5, 5, 6, 6, 4):
        await scenario.run("Price check", "new", new=True, w=w)
    for w in (5, 5):
        await scenario.run("Price check", "used", new=False, w=w, fail="")
    for message in REFUSED:
        await scenario.run("Price check", "refused", new=False, w=2, fail=message)
    await scenario.run("Price check", "long new", new=True, w=30)
    await scenario.run("Price check", "long used", new=False, w=31, fail="")
    for _ in range(3):
        await scenario.run("Nightly sync", "sync", w=20, fail="")
    for message in BAD_FILES:
        await scenario.run("Nightly sync", "bad file", w=1, fail=message)
    try:
        yield scenario
    finally:
        await engine.cleanup()


async def test_virtual_runs_are_recorded_as_planned(virtual: Virtual) -> None:
    """The scenario itself: what the engine wrote is what the findings below rely on."""
    assert [r["status"] for r in virtual.runs].count("succeeded") == 13
    for r in virtual.of("refused") + virtual.of("bad file"):
        assert r["status"] == "failed"
    for r in virtual.runs:
        assert r["created_at"] == r["started_at"]  # the clock only moves inside "work"
    assert [r["finished_at"] - r["started_at"] for r in virtual.of("new")] == [5, 5, 5, 6, 6, 4]


async def test_failure_causes_are_grouped_by_signature(virtual: Virtual) -> None:
    report = await recognize_patterns(virtual.stack.database)
    price, nightly = virtual.ids["Price check"], virtual.ids["Nightly sync"]
    assert report.failed_nodes == 5
    assert [(f.signature, f.count) for f in report.failures] == [
        ("ConnectionError: connection refused to <host>", 3),
        ("ValueError: Stock file <value> has <n> bad rows", 2),
    ]
    refused, bad_file = report.failures
    refused_runs = virtual.of("refused")
    assert refused.nodes == [
        {
            "workflow_id": price,
            "workflow_name": "Price check",
            "node_id": "price_used",
            "node_name": "Lookup price",
            "node_type": "work",
            "count": 3,
        }
    ]
    assert refused.workflows == [{"workflow_id": price, "workflow_name": "Price check", "count": 3}]
    # The node fails after 2 virtual seconds of work.
    assert refused.first_seen == refused_runs[0]["created_at"] + 2
    assert refused.last_seen == refused_runs[-1]["created_at"] + 2
    assert refused.example == "ConnectionError: " + REFUSED[-1]
    assert refused.run_ids == [r["run_id"] for r in reversed(refused_runs)]
    assert bad_file.nodes[0]["node_name"] == "Pull inventory"
    assert bad_file.workflows[0]["workflow_id"] == nightly
    assert bad_file.example == "ValueError: " + BAD_FILES[-1]
    first = virtual.of("refused")[0]["created_at"] + 2
    assert report.summary[1] == (
        "'Lookup price' in 'Price check' failed 3 times with "
        f"'ConnectionError: connection refused to <host>' since {patterns._when(first)} "
        f"(last {patterns._when(refused.last_seen)})."
    )


async def test_slow_nodes_have_exact_percentiles(virtual: Virtual) -> None:
    report = await recognize_patterns(virtual.stack.database)
    top = [(n.node_id, n.count, n.p50, n.p95, n.max) for n in report.slow_nodes[:3]]
    # Lookup price: 2, 2, 2 (failed), 5, 5, 31 → median (2 + 5) / 2; p95 at rank 4.75.
    # Price new car: 4, 5, 5, 5, 6, 6, 30 → median 5; p95 at rank 5.7 = 6 + 0.7 × 24.
    # Pull inventory: 1, 1 (failed), 20, 20, 20.
    assert top == [
        ("price_used", 6, 3.5, pytest.approx(24.5), 31.0),
        ("price_new", 7, 5.0, pytest.approx(22.8), 30.0),
        ("pull", 5, 20.0, 20.0, 20.0),
    ]
    # The 18 "work" executions: 1 ×2, 2 ×3, 4, 5 ×5, 6 ×2, 20 ×3, 30, 31 → median 5.
    used, new, pull = report.slow_nodes[:3]
    assert (used.type_median, used.vs_type, used.type_nodes) == (5.0, 0.7, 3)
    assert (new.vs_type, pull.vs_type) == (1.0, 4.0)
    assert pull.node_name == "Pull inventory"
    assert pull.workflow_name == "Nightly sync"
    rest = report.slow_nodes[3:]
    assert {n.p95 for n in rest} == {0.0}  # triggers, conditions and logs take no time
    assert {n.vs_type for n in rest} == {1.0}
    assert (
        "'Pull inventory' in 'Nightly sync' takes 20.0 s at the median "
        "(p95 20.0 s, max 20.0 s) over 5 runs, 4.0× the median work node."
    ) in report.summary


async def test_duration_anomalies_use_the_robust_z_score(virtual: Virtual) -> None:
    report = await recognize_patterns(virtual.stack.database)
    # Succeeded Price check runs: 5, 5, 5, 6, 6, 4, 5, 5, 30, 31 → median 5, MAD 0.5,
    # z = 0.6745 × (x - 5) / 0.5. Nightly sync has 3 succeeded runs: not judged.
    long_used, long_new = virtual.of("long used")[0], virtual.of("long new")[0]
    assert [(a.run_id, a.duration, a.median, a.mad) for a in report.anomalies] == [
        (long_used["run_id"], 31.0, 5.0, 0.5),
        (long_new["run_id"], 30.0, 5.0, 0.5),
    ]
    assert [a.z for a in report.anomalies] == [
        pytest.approx(0.6745 * 26 / 0.5),
        pytest.approx(0.6745 * 25 / 0.5),
    ]
    assert report.anomalies[0].workflow_name == "Price check"
    assert report.anomalies[0].created_at == long_used["created_at"]
    assert (
        f"'Price check' had 2 runs with an unusual duration: run {long_used['run_id'][:8]} "
        "took 31.0 s against a median of 5.0 s."
    ) in report.summary


async def test_frequent_paths_follow_completion_order(virtual: Virtual) -> None:
    report = await recognize_patterns(virtual.stack.database)
    price, nightly = report.paths
    assert (price.workflow_name, price.runs, price.distinct_paths) == ("Price check", 13, 3)
    assert [(p.node_ids, p.count, p.share, p.outcomes) for p in price.top] == [
        (["t", "check", "price_new", "notify"], 7, 7 / 13, {"succeeded": 7}),
        (["t", "check"], 3, 3 / 13, {"failed": 3}),
        (["t", "check", "price_used", "notify_used"], 3, 3 / 13, {"succeeded": 3}),
    ]
    assert price.top[0].node_names == ["Start", "Is new?", "Price new car", "Notify"]
    assert [(p.node_ids, p.count, p.outcomes) for p in nightly.top] == [
        (["t", "pull", "store"], 3, {"succeeded": 3}),
        (["t"], 2, {"failed": 2}),
    ]
    assert report.summary[-2] == (
        "'Price check' most often runs Start → Is new? → Price new car → Notify "
        "(7 of 13 runs, 54%)."
    )


async def test_range_and_workflow_filters(virtual: Virtual) -> None:
    database = virtual.stack.database
    refused = virtual.of("refused")
    # [first refused run, first long run): exactly the three refused runs.
    report = await recognize_patterns(
        database, since=refused[0]["created_at"], until=virtual.of("long new")[0]["created_at"]
    )
    assert (report.runs_in_range, report.runs_analysed, report.truncated) == (3, 3, False)
    assert report.since == refused[0]["created_at"]
    assert [(f.signature, f.count) for f in report.failures] == [
        ("ConnectionError: connection refused to <host>", 3)
    ]
    assert report.anomalies == []
    assert "Too few succeeded runs per workflow (fewer than 5) to judge run durations." in (
        report.summary
    )
    only_sync = await recognize_patterns(database, workflow_id=virtual.ids["Nightly sync"])
    assert only_sync.runs_analysed == 5
    assert [f.count for f in only_sync.failures] == [2]
    assert [p.workflow_name for p in only_sync.paths] == ["Nightly sync"]
    assert {n.workflow_name for n in only_sync.slow_nodes} == {"Nightly sync"}
    # "pull" is now the only work node, so it is exactly as slow as its type.
    assert only_sync.slow_nodes[0].type_median == 20.0
    assert only_sync.slow_nodes[0].vs_type == 1.0
    assert only_sync.slow_nodes[0].type_nodes == 1


async def test_only_the_newest_runs_are_read_when_there_are_too_many(
    virtual: Virtual, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patterns, "MAX_RUNS", 5)
    report = await recognize_patterns(virtual.stack.database)
    assert (report.runs_in_range, report.runs_analysed, report.truncated) == (18, 5, True)
    newest = virtual.runs[-5:]  # 3 syncs, 2 bad files
    assert report.first_run_at == newest[0]["created_at"]
    assert report.last_run_at == newest[-1]["created_at"]
    assert [(f.signature, f.count) for f in report.failures] == [
        ("ValueError: Stock file <value> has <n> bad rows", 2)
    ]
    assert [(p.workflow_name, p.runs) for p in report.paths] == [("Nightly sync", 5)]
    assert report.summary[0].endswith("(the newest 5 of 18 in the range).")


async def test_report_is_json(virtual: Virtual) -> None:
    report = await recognize_patterns(virtual.stack.database)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["runs_analysed"] == 18
    assert data["empty"] is False
    assert data["failures"][0]["nodes"][0]["node_id"] == "price_used"
    assert data["paths"][0]["top"][0]["node_ids"] == ["t", "check", "price_new", "notify"]
    assert data["summary"] == report.summary
    assert set(data) == {
        "since",
        "until",
        "workflow_id",
        "generated_at",
        "empty",
        "runs_in_range",
        "runs_analysed",
        "truncated",
        "first_run_at",
        "last_run_at",
        "failed_nodes",
        "failures",
        "slow_nodes",
        "anomalies",
        "paths",
        "summary",
    }


# -- the real-time scenario on SQLite and PostgreSQL -------------------------------------
VEHICLE_LOOKUP = document(
    "Vehicle lookup",
    [
        node("t", "manual_trigger", "Start"),
        node("route", "condition", "New car?", condition="{{ $params.new }}"),
        node("lookup", "http_request", "Look up vehicle", url="{{ $params.url }}"),
        node("pause", "delay", "Wait for the DMS", seconds="{{ $params.wait }}"),
        node("appraise", "delay", "Appraise trade-in", seconds="{{ $params.wait }}"),
    ],
    [
        ("t", "route"),
        ("route", "lookup", "true"),
        ("lookup", "pause"),
        ("route", "appraise", "false"),
    ],
)
SYNC = document(
    "Nightly sync",
    [
        node("t", "manual_trigger", "Start"),
        node("fetch", "delay", "Fetch stock", seconds=0.5),
        node("store", "log", "Store"),
    ],
    [("t", "fetch"), ("fetch", "store")],
)


def node_timings(statuses: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """Recorded ``finished_at - started_at`` of every timed node execution, by workflow and
    node id."""
    timings: dict[tuple[str, str], list[float]] = {}
    for status in statuses:
        for node_id, recorded in status["nodes"].items():
            if recorded["started_at"] is not None and recorded["finished_at"] is not None:
                duration = max(recorded["finished_at"] - recorded["started_at"], 0.0)
                timings.setdefault((status["workflow_id"], node_id), []).append(duration)
    return timings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_real_runs_on_any_database(any_database_url: str) -> None:
    stack = await build_stack(any_database_url)
    engine = new_engine(stack, time.time, workers=32)
    await engine.initialize()
    try:
        admin = await stack.admin()
        lookup = (await engine.store.create(admin, VEHICLE_LOOKUP)).id
        sync = (await engine.store.create(admin, SYNC)).id
        with local_http_server() as base:
            good = f"{base}/vehicles/{VIN}"
            refused_url = f"http://127.0.0.1:{closed_port()}/vehicles/{VIN}"
            plan: list[tuple[str, str, dict[str, Any]]] = [
                *[("normal", lookup, {"new": True, "url": good, "wait": 0.2})] * 8,
                *[("long", lookup, {"new": True, "url": good, "wait": 3.0})] * 2,
                *[("used", lookup, {"new": False, "wait": 0.2})] * 3,
                *[
                    (
                        "missing",
                        lookup,
                        {"new": True, "url": f"{base}/vehicles/VIN{i}X9", "wait": 0},
                    )
                    for i in range(3)
                ],
                *[("refused", lookup, {"new": True, "url": refused_url, "wait": 0})] * 2,
                *[("sync", sync, {})] * 3,
            ]
            started = [
                (label, await engine.execute_workflow(admin, wf, params))
                for label, wf, params in plan
            ]
            statuses = await asyncio.gather(*(engine.wait(run_id) for _, run_id in started))
        runs: dict[str, list[str]] = {}
        for (label, run_id), status in zip(started, statuses, strict=True):
            runs.setdefault(label, []).append(run_id)
            expected = "failed" if label in ("missing", "refused") else "succeeded"
            assert status["status"] == expected, (label, status["error"])

        report = await recognize_patterns(stack.database)
        assert report.runs_analysed == len(plan)

        assert [(f.signature, f.count) for f in report.failures] == [
            ("GET <url> answered <n> Not Found", 3),
            ("GET <url> failed: All connection attempts failed", 2),
        ]
        missing, refused = report.failures
        assert sorted(missing.run_ids) == sorted(runs["missing"])
        assert sorted(refused.run_ids) == sorted(runs["refused"])
        assert [(n["node_id"], n["node_type"], n["count"]) for n in missing.nodes] == [
            ("lookup", "http_request", 3)
        ]
        assert missing.example.startswith(f"GET {base}/vehicles/VIN")
        assert missing.first_seen <= missing.last_seen

        # Every figure is checked against the timestamps the runs recorded, never against
        # wall-time windows: on a busy machine a node's recorded time also holds its wait
        # for the database, so only lower bounds (a delay never ends early) are fixed.
        recorded = dict(zip((run_id for _, run_id in started), statuses, strict=True))
        timings = node_timings(recorded.values())
        slow = {n.node_id: n for n in report.slow_nodes if n.workflow_id == lookup}
        slow["fetch"] = next(n for n in report.slow_nodes if n.node_id == "fetch")
        assert {"pause", "fetch", "appraise", "lookup"} <= set(slow)
        for node_id, found in slow.items():
            durations = timings[found.workflow_id, node_id]
            assert found.count == len(durations), node_id
            assert found.p50 == pytest.approx(np.median(durations)), node_id
            assert found.p95 == pytest.approx(np.quantile(durations, 0.95)), node_id
            assert found.max == pytest.approx(max(durations)), node_id
        p95s = [(n.p95, n.p50) for n in report.slow_nodes]  # slowest first by p95, then p50
        assert p95s == sorted(p95s, reverse=True)
        # pause: 8 × 0.2 s and 2 × 3 s (the 5 failed lookups never reached it).
        assert slow["pause"].count == 10
        assert slow["pause"].p50 >= 0.2
        assert slow["pause"].p95 >= 3.0
        assert (slow["appraise"].count, slow["lookup"].count) == (3, 15)
        # fetch against the 16 delay executions: 11 × 0.2 s, 3 × 0.5 s, 2 × 3 s.
        fetch = slow["fetch"]
        assert (fetch.count, fetch.type_nodes) == (3, 3)
        delays = timings[lookup, "pause"] + timings[lookup, "appraise"] + timings[sync, "fetch"]
        assert fetch.type_median == pytest.approx(np.median(delays))
        assert fetch.vs_type == pytest.approx(fetch.p50 / fetch.type_median)
        assert fetch.p50 >= 0.5

        # Anomalies are exactly the succeeded lookups whose robust z-score passes 3.5; the
        # two 3 s runs are among them however busy the machine is, short of a spread of
        # over half a second between ordinary runs.
        succeeded = [
            (run_id, s["finished_at"] - s["started_at"])
            for run_id, s in recorded.items()
            if s["workflow_id"] == lookup and s["status"] == "succeeded"
        ]
        _, _, z = robust_z([duration for _, duration in succeeded])
        flagged = sorted(
            run_id for (run_id, _), score in zip(succeeded, z, strict=True) if abs(score) > 3.5
        )
        assert sorted(a.run_id for a in report.anomalies) == flagged
        assert set(runs["long"]) <= set(flagged)
        assert all(a.z > 3.5 and a.workflow_id == lookup for a in report.anomalies)

        by_workflow = {p.workflow_id: p for p in report.paths}
        assert [(p.node_ids, p.count, p.outcomes) for p in by_workflow[lookup].top] == [
            (["t", "route", "lookup", "pause"], 10, {"succeeded": 10}),
            (["t", "route"], 5, {"failed": 5}),
            (["t", "route", "appraise"], 3, {"succeeded": 3}),
        ]
        assert [(p.node_ids, p.share) for p in by_workflow[sync].top] == [
            (["t", "fetch", "store"], 1.0)
        ]
        assert (
            f"'Look up vehicle' in 'Vehicle lookup' failed 3 times with "
            f"'GET <url> answered <n> Not Found' since {patterns._when(missing.first_seen)} "
            f"(last {patterns._when(missing.last_seen)})."
        ) in report.summary
        json.dumps(report.to_dict(), allow_nan=False)
    finally:
        await engine.cleanup()
        await close_stack(stack)


# -- no data, bad input, the pieces -----------------------------------------------------
async def test_no_runs_is_an_empty_report(stack: Stack) -> None:
    report = await recognize_patterns(stack.database)
    assert isinstance(report, PatternReport)
    assert report.empty
    assert (report.runs_in_range, report.runs_analysed, report.failed_nodes) == (0, 0, 0)
    assert report.failures == report.slow_nodes == report.anomalies == report.paths == []
    assert report.summary == ["No workflow runs: there is nothing to analyse yet."]
    ranged = await recognize_patterns(stack.database, since=T0, until=T0 + 3600)
    assert ranged.summary == [
        "No workflow runs created between 2030-03-17 17:46 UTC and 2030-03-17 18:46 UTC: "
        "there is nothing to analyse yet."
    ]
    assert json.loads(json.dumps(ranged.to_dict()))["empty"] is True


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"since": "yesterday"}, ErrorCode.INVALID_INPUT, "since"),
        ({"until": True}, ErrorCode.INVALID_INPUT, "until"),
        ({"since": math.nan}, ErrorCode.INVALID_INPUT, "since"),
        ({"until": math.inf}, ErrorCode.INVALID_INPUT, "until"),
        ({"since": T0 + 1, "until": T0}, ErrorCode.VALIDATION_ERROR, "since"),
        ({"workflow_id": 42}, ErrorCode.INVALID_INPUT, "workflow_id"),
        ({"workflow_id": ""}, ErrorCode.INVALID_INPUT, "workflow_id"),
    ],
)
async def test_bad_arguments_are_refused(
    stack: Stack, kwargs: dict[str, Any], code: ErrorCode, field: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        await recognize_patterns(stack.database, **kwargs)
    assert caught.value.code is code
    assert caught.value.details["field"] == field


@pytest.mark.parametrize(
    ("message", "signature"),
    [
        (
            "GET https://dms.example.com/vehicles/1HGCM82633A004352?x=1 answered 404 Not Found",
            "GET <url> answered <n> Not Found",
        ),
        ("connection refused to db.dealer.local:5432", "connection refused to <host>"),
        ("connection refused to 192.168.1.20", "connection refused to <host>"),
        (
            'Customer "Ana Ruiz" has no e-mail; can\'t send',
            "Customer <value> has no e-mail; can't send",
        ),
        (
            "unknown name 'vin' (at position 3 of `{{ vin }}`)",
            "unknown name <value> (at position <n> of <value>)",
        ),
        ("Run 3f2c9a0e5b7d4e1fa2b3c4d5e6f7a8b9 stopped", "Run <id> stopped"),
        ("Run 123e4567-e89b-12d3-a456-426614174000 stopped", "Run <id> stopped"),
        ("mail to ana.ruiz@dealer.example bounced", "mail to <email> bounced"),
        ("Lookup took longer than 2.5 s", "Lookup took longer than <n> s"),
        ("  spaced\n\tout  ", "spaced out"),
        ("", "(no message)"),
    ],
)
def test_error_signature(message: str, signature: str) -> None:
    assert error_signature(message) == signature


def test_error_signature_is_bounded() -> None:
    signature = error_signature("word " * 500)
    assert len(signature) == patterns.SIGNATURE_CHARS
    assert signature.endswith("…")


def test_robust_z_falls_back_to_mean_deviation_and_has_a_floor() -> None:
    # MAD = 0 (most runs took exactly 5 s): scale = 1.253314 × mean |x - 5| = 1.253314 × 4/7.
    median, mad, z = robust_z([5, 5, 5, 5, 5, 5, 9])
    assert (median, mad) == (5.0, 0.0)
    assert z[-1] == pytest.approx(4 / (1.253314 * 4 / 7))
    assert abs(z[-1]) > patterns.ANOMALY_Z
    # Half a second on a 5 s median is within the floor (10 % of the median): z = 1.
    _, _, z = robust_z([5, 5, 5, 5, 5, 5, 5.5])
    assert z[-1] == pytest.approx(1.0)
    # All equal: nothing stands out.
    _, _, z = robust_z([2.0] * 6)
    assert list(z) == [0.0] * 6
