"""Health, Prometheus metrics and the OpenAPI document: public, read-only endpoints.

``/healthz`` answers 200 while every service is healthy and 503 otherwise, which is what
load balancers and container checks expect. ``/metrics`` is the Prometheus text format of
every metric the console collects (no secrets or personal data are metrics).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from auterity_desktop.api.schemas import Health
from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
from auterity_desktop.services.gateway.operations import Controller, Operation

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def system_controller(platform: Platform) -> Controller:
    async def healthz(request: ApiRequest) -> ApiResponse:
        health = await platform.health()
        state = platform.overall(health)
        body = {
            "status": state.value,
            "version": platform.version,
            "services": {name: h.state.value for name, h in health.items()},
        }
        return ApiResponse.json(body, 200 if state.value == "ok" else 503)

    async def metrics(request: ApiRequest) -> ApiResponse:
        platform.gateway.flush_metrics()
        return ApiResponse.text(platform.metrics.render_prometheus(), PROMETHEUS)

    tags = ("system",)
    return Controller(
        [
            Operation("GET", "/healthz", healthz, "Health of every service", "health",
                      auth=False, response=Health, tags=tags),
            Operation("GET", "/metrics", metrics, "Metrics in the Prometheus text format",
                      "metrics", auth=False, response={"type": "string"},
                      content_type=PROMETHEUS, tags=tags),
        ],
        "system",
    )  # fmt: skip
