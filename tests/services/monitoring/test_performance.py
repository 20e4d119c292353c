"""The performance service on a real platform: real psutil readings, run counts from real
engine runs, queue depths of a real queue, integration health, today's KPIs, live values,
and the background collection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.platform import Platform
from auterity_desktop.services.monitoring.metric_store import labels_key
from auterity_desktop.services.monitoring.performance import Deriver, quantile
from auterity_desktop.services.security.principal import Principal
from tests.ui.workflow_docs import chain, node

PASSWORD = "Correct-Horse-42!"
RESOURCES = (
    "auterity_system_cpu_ratio",
    "auterity_system_memory_ratio",
    "auterity_disk_usage_ratio",
    "auterity_process_cpu_ratio",
    "auterity_process_memory_bytes",
    "auterity_process_open_files",
    "auterity_process_threads",
)


def divide_doc() -> dict[str, Any]:
    return chain(
        "Divide",
        node("start", "manual_trigger", "Start"),
        node("calc", "set_fields", "Calculate", fields={"share": "{{ 10 / $params.divisor }}"}),
        node("log", "log", "Log"),
    )


@pytest.fixture
async def platform(data_dir: Path) -> AsyncIterator[Platform]:
    """The whole product as the CLI starts it: nothing collects unless asked."""
    async with Platform.from_environment(background=False) as started:
        yield started


async def admin(platform: Platform) -> Principal:
    await platform.security.users.create_first_admin("alice", PASSWORD)
    session = await platform.security.authenticate_user({"username": "alice", "password": PASSWORD})
    return session.principal


async def run(platform: Platform, actor: Principal, workflow_id: str, divisor: int) -> str:
    run_id = await platform.engine.execute_workflow(actor, workflow_id, {"divisor": divisor})
    await platform.engine.wait(run_id)
    return str(run_id)


async def test_resources_are_real_readings(platform: Platform) -> None:
    performance = platform.performance
    assert performance._task is None  # the CLI's platform does not collect by itself
    burn = sum(i * i for i in range(300_000))  # some CPU for the process share
    assert burn > 0
    values = performance.sample_resources()
    assert set(values) == set(RESOURCES)
    for name in RESOURCES:
        assert platform.metrics.value(name) == pytest.approx(values[name]), name
    for name in RESOURCES[:4]:
        assert 0.0 <= values[name] <= 1.0, name
    assert values["auterity_process_cpu_ratio"] > 0.0
    assert values["auterity_system_memory_ratio"] > 0.0
    disk = psutil.disk_usage(str(platform.settings.data_dir))
    assert values["auterity_disk_usage_ratio"] == pytest.approx(disk.percent / 100, abs=0.01)
    rss = psutil.Process().memory_info().rss
    assert values["auterity_process_memory_bytes"] == pytest.approx(rss, rel=0.2)
    assert values["auterity_process_open_files"] >= 3  # stdin, stdout, stderr at least
    assert values["auterity_process_threads"] >= 1


async def test_collection_stores_product_metrics_from_real_runs_and_queues(
    platform: Platform,
) -> None:
    me = await admin(platform)
    workflow = await platform.workflows.create(me, divide_doc())
    await run(platform, me, workflow.id, 2)
    await run(platform, me, workflow.id, 0)  # division by zero: failed
    await platform.messages.declare_queue("crm.leads", "sales.lead.*")
    for lead in range(3):
        await platform.messages.publish("sales.lead.created", {"lead": lead})
    hook = await platform.integrations.establish_connection(
        me, {"name": "Website leads", "kind": "webhook", "path": "leads", "signing_secret": "s"}
    )
    await platform.integrations.check(hook.id)

    performance = platform.performance
    assert await performance.collect_metrics() > len(RESOURCES)
    first = performance.last_collection
    assert first is not None
    metrics = platform.metrics
    assert metrics.value("auterity_queue_depth", {"queue": "crm.leads"}) == 3
    assert metrics.value("auterity_queue_depth_total") == 3
    assert metrics.value("auterity_integration_up", {"integration": "Website leads"}) == 1
    assert metrics.count("auterity_node_duration_seconds") >= 4  # start and calc, twice

    async def stored(metric: str, labels: dict[str, str] | None = None) -> list[float]:
        data = await performance.series(metric, labels, first - 60, first + 3600)
        return data.sum

    assert await stored("auterity_runs_total", {"status": "succeeded"}) == [1.0]
    assert await stored("auterity_runs_total", {"status": "failed"}) == [1.0]
    assert await stored("auterity_queue_depth", {"queue": "crm.leads"}) == [3.0]
    assert await stored("auterity_integration_up", {"integration": "Website leads"}) == [1.0]
    memory = await stored("auterity_process_memory_bytes")
    assert memory == [metrics.history("auterity_process_memory_bytes")[-1][1]]
    assert len(await stored("auterity_node_duration_seconds_p95")) == 1

    # the next collection stores increases, not totals; the queue shrank by one
    await run(platform, me, workflow.id, 5)
    message = await platform.messages.get("crm.leads")
    assert message is not None
    await platform.messages.ack(message.receipt)
    await asyncio.sleep(0.01)
    await performance.collect_metrics()
    assert await stored("auterity_runs_total", {"status": "succeeded"}) == [1.0, 1.0]
    assert await stored("auterity_runs_total", {"status": "failed"}) == [1.0, 0.0]
    assert await stored("auterity_queue_depth", {"queue": "crm.leads"}) == [3.0, 2.0]

    many = await performance.series_many(
        [("auterity_queue_depth", None), ("auterity_runs_total", None)], first - 60, first + 60
    )
    assert {(d.metric, labels_key(d.labels)) for d in many} >= {
        ("auterity_queue_depth", labels_key({"queue": "crm.leads"})),
        ("auterity_runs_total", labels_key({"status": "failed"})),
        ("auterity_runs_total", labels_key({"status": "succeeded"})),
    }
    names = await performance.metric_names()
    assert {*RESOURCES, "auterity_runs_total", "auterity_node_duration_seconds_p95"} <= set(names)

    kpis = await performance.kpis()
    assert kpis.runs_today == 3
    assert (kpis.succeeded_today, kpis.failed_today) == (2, 1)
    assert kpis.success_rate == pytest.approx(2 / 3)
    assert kpis.p95_node_latency is not None and 0 <= kpis.p95_node_latency < 5
    assert kpis.queue_depth == 2
    assert kpis.firing_alerts == 0


async def test_live_values_give_rates_over_the_last_seconds(platform: Platform) -> None:
    me = await admin(platform)
    workflow = await platform.workflows.create(me, divide_doc())
    performance = platform.performance
    first = await performance.live()
    assert first.values[("auterity_process_threads", "{}")] >= 1
    succeeded = ("auterity_runs_total", labels_key({"status": "succeeded"}))
    assert succeeded not in first.values  # no counter yet, and a rate needs two looks
    await run(platform, me, workflow.id, 2)
    await run(platform, me, workflow.id, 4)
    await asyncio.sleep(0.05)
    second = await performance.live()
    # new since the first look: both runs count
    assert second.values[succeeded] == pytest.approx(2 / (second.at - first.at) * 60)
    await run(platform, me, workflow.id, 1)
    third = await performance.live()  # a rate over the last 15 s: all three runs
    assert third.values[succeeded] == pytest.approx(3 / (third.at - first.at) * 60)
    assert await platform.engine.list_runs(me) != []


async def test_background_collection_every_interval(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_COLLECTION_INTERVAL", "1")
    async with Platform.from_environment() as platform:
        performance = platform.performance
        assert performance._task is not None
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            data = await performance.series("auterity_process_threads")
            if len(data) >= 2:
                break
            assert asyncio.get_running_loop().time() < deadline, "no second collection"
            await asyncio.sleep(0.1)
        assert data.t[1] - data.t[0] >= 0.9
        health = await performance.health()
        assert health.ok
    assert performance._task is None


def test_counters_become_increases_and_histograms_three_series() -> None:
    metrics = MetricsCollector()
    deriver = Deriver()
    metrics.increment("jobs_total", 5)
    metrics.describe("wait_seconds", "histogram", buckets=[1, 2, 4])
    for value in (0.5, 1.5, 1.5, 3.0):
        metrics.observe("wait_seconds", value)
    metrics.gauge("depth", 7)
    first = {s.name: s.value for s in deriver.derive(metrics.snapshot(), None)}
    assert first == {
        "jobs_total": 5.0,
        "wait_seconds_count": 4.0,
        "wait_seconds_mean": pytest.approx(6.5 / 4),
        "wait_seconds_p95": pytest.approx(2 + 2 * (3.8 - 3) / 1),
        "depth": 7.0,
    }
    metrics.increment("jobs_total", 2)
    metrics.observe("wait_seconds", 10.0)  # above every bound: p95 is the highest bound
    later = {s.name: s.value for s in deriver.derive(metrics.snapshot(), 1e18)}
    assert later == {
        "jobs_total": 2.0,
        "wait_seconds_count": 1.0,
        "wait_seconds_mean": 10.0,
        "wait_seconds_p95": 4.0,
    }  # the gauge did not change since: left out
    quiet = {s.name: s.value for s in deriver.derive(metrics.snapshot(), 1e18)}
    assert quiet == {"jobs_total": 0.0, "wait_seconds_count": 0.0}

    restarted = MetricsCollector()  # a new process: its total starts again
    restarted.increment("jobs_total", 1)
    again = {s.name: s.value for s in deriver.derive(restarted.snapshot(), None)}
    assert again["jobs_total"] == 1.0


def test_quantile_interpolates_inside_the_bucket() -> None:
    assert quantile(0.5, [1.0, 2.0], [0, 10, 0]) == pytest.approx(1.5)
    assert quantile(0.95, [1.0, 2.0], [100, 0, 0]) == pytest.approx(0.95)
    assert quantile(0.95, [1.0], [0, 0]) is None


async def test_collection_and_kpis_on_postgresql(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    async with Platform.from_environment(background=False) as platform:
        me = await admin(platform)
        workflow = await platform.workflows.create(me, divide_doc())
        await run(platform, me, workflow.id, 3)
        await run(platform, me, workflow.id, 0)
        performance = platform.performance
        await performance.collect_metrics()
        await performance.collect_metrics()
        runs = await performance.series("auterity_runs_total", {"status": "failed"})
        assert runs.sum == [1.0, 0.0]
        threads = await performance.series("auterity_process_threads", {})
        assert len(threads) == 2 and min(threads.min) >= 1
        kpis = await performance.kpis()
        assert (kpis.runs_today, kpis.succeeded_today, kpis.failed_today) == (2, 1, 1)
        assert kpis.p95_node_latency is not None
