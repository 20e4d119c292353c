"""Health, Prometheus metrics and the OpenAPI document, and the request log behind them."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api


async def test_healthz_metrics_and_openapi_are_public(api: Api) -> None:
    async with api.client() as client:
        health = await client.get("/healthz")
        metrics = await client.get("/metrics")
        document = await client.get("/api/v1/openapi.json")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["services"]["gateway"] == "ok"
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "auterity_api_requests_total{" in metrics.text
    paths = document.json()["paths"]
    for path, method in [
        ("/api/v1/workflows/create", "post"),
        ("/api/v1/workflows/execute", "post"),
        ("/api/v1/workflows/{id}/status", "get"),
        ("/api/v1/analytics/metrics", "get"),
        ("/api/v1/analytics/custom-report", "post"),
        ("/api/v1/security/authorize", "post"),
        ("/api/v1/security/audit-logs", "get"),
        ("/api/v1/runs/{run_id}/cancel", "post"),
        ("/api/v1/webhooks/{path}", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ]:
        assert method in paths[path], path


async def test_healthz_is_503_when_a_service_is_down(api: Api) -> None:
    await api.platform.analytics.cleanup()
    api.platform.analytics._mark_started(False)
    async with api.client() as client:
        health = await client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["services"]["analytics"] == "stopped"


async def test_request_log_and_metrics_count_every_request(
    api: Api, admin_client: httpx.AsyncClient
) -> None:
    gateway = api.platform.gateway
    before = gateway.requests_since(0)
    await admin_client.get("/api/v1/workflows")
    await admin_client.get("/api/v1/nothing")
    new = gateway.requests_since(before[-1].seq if before else 0)
    assert [(r.method, r.path, r.status, r.actor) for r in new] == [
        ("GET", "/api/v1/workflows", 200, "alice"),
        ("GET", "/api/v1/nothing", 404, "anonymous"),
    ]
    assert new[1].error == "NOT_FOUND"
    gateway.flush_metrics()
    labels = {"route": "/api/v1/workflows", "method": "GET", "status": "200"}
    assert api.platform.metrics.value("auterity_api_requests_total", labels) == 1.0
