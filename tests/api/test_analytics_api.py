"""``/api/v1/analytics``: stored metrics over a range and custom reports over real runs."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api
from tests.ui.workflow_docs import chain, node


async def runs(api: Api, *divisors: int) -> None:
    doc = chain(
        "Divide",
        node("start", "manual_trigger", "Start"),
        node("calc", "set_fields", "Calculate", fields={"share": "{{ 10 / $params.divisor }}"}),
    )
    saved = await api.platform.workflows.create(api.admin, doc)
    for divisor in divisors:
        run_id = await api.platform.engine.execute_workflow(
            api.admin, saved.id, {"divisor": divisor}
        )
        await api.platform.engine.wait(run_id)


async def test_metrics_over_a_time_range(api: Api, admin_client: httpx.AsyncClient) -> None:
    await runs(api, 1, 2, 0)
    await api.platform.performance.collect_metrics()
    await api.platform.performance.collect_metrics()
    response = await admin_client.get(
        "/api/v1/analytics/metrics",
        params={"timeRange": "1h", "metrics": "auterity_runs_total", "aggregation": "sum"},
    )
    assert response.status_code == 200
    body = response.json()
    by_status = {s["labels"].get("status"): s for s in body["metrics"]}
    assert by_status["succeeded"]["value"] == 2.0
    assert by_status["failed"]["value"] == 1.0
    assert body["end"] - body["start"] == 3600
    listed = await admin_client.get(
        "/api/v1/analytics/metrics",
        params=[("metrics", "auterity_runs_total"), ("metrics", "auterity_system_cpu_ratio")],
    )
    assert {s["name"] for s in listed.json()["metrics"]} == {
        "auterity_runs_total",
        "auterity_system_cpu_ratio",
    }
    bad = await admin_client.get("/api/v1/analytics/metrics", params={"timeRange": "soon"})
    assert bad.status_code == 422


async def test_custom_report_over_the_runs(api: Api, admin_client: httpx.AsyncClient) -> None:
    await runs(api, 1, 2, 0, 5)
    response = await admin_client.post(
        "/api/v1/analytics/custom-report",
        json={"metrics": ["count"], "filters": {}, "groupBy": ["status"]},
    )
    assert response.status_code == 200, response.text
    rows = {r["status"]: r["count"] for r in response.json()["rows"]}
    assert rows == {"failed": 1, "succeeded": 3}
    filtered = await admin_client.post(
        "/api/v1/analytics/custom-report",
        json={"metrics": ["count"], "filters": {"status": "failed"}, "groupBy": []},
    )
    assert filtered.json()["totals"] == {"count": 1}
    bad = await admin_client.post(
        "/api/v1/analytics/custom-report",
        json={"metrics": ["no_such_column * 2"], "groupBy": ["status"]},
    )
    assert bad.status_code == 400
    assert "no_such_column" in bad.text
    actions = [e.action for e in (await api.platform.audit.page()).entries]
    assert "analytics.report_built" in actions


async def test_viewer_may_not_build_reports(api: Api) -> None:
    token = await api.user("vic", "viewer")
    async with api.client(token) as client:
        report = await client.post("/api/v1/analytics/custom-report", json={"metrics": ["count"]})
        metrics = await client.get("/api/v1/analytics/metrics")
    assert report.status_code == 403
    assert metrics.status_code == 200
