"""The local REST API: controllers mounted on the platform's API gateway, an ASGI app and
the server that runs it inside the console (Settings) or headless (``auterity serve``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auterity_desktop.platform import Platform

API = "/api/v1"


def mount_api(platform: Platform) -> None:
    """Register every REST controller on ``platform.gateway`` (once)."""
    from auterity_desktop.api.analytics_api import analytics_controller
    from auterity_desktop.api.openapi import build_openapi
    from auterity_desktop.api.security_api import security_controller
    from auterity_desktop.api.system_api import system_controller
    from auterity_desktop.api.webhooks_api import webhooks_controller
    from auterity_desktop.api.workflows_api import (
        RunStatusCache,
        runs_controller,
        workflows_controller,
    )
    from auterity_desktop.services.gateway.http import ApiRequest, ApiResponse
    from auterity_desktop.services.gateway.operations import Controller, Operation

    gateway = platform.gateway
    if f"{API}/workflows" in gateway.routes.prefixes:
        return
    statuses = RunStatusCache(platform)
    document: dict[str, Any] = {}

    async def openapi(request: ApiRequest) -> ApiResponse:
        if not document:
            document.update(build_openapi(gateway))
        return ApiResponse.json(document)

    gateway.register_route(f"{API}/workflows", workflows_controller(platform, statuses))
    gateway.register_route(f"{API}/runs", runs_controller(platform, statuses))
    gateway.register_route(f"{API}/analytics", analytics_controller(platform))
    gateway.register_route(f"{API}/security", security_controller(platform))
    gateway.register_route(f"{API}/webhooks", webhooks_controller(platform))
    gateway.register_route(
        f"{API}/openapi.json",
        Controller(
            [Operation("GET", "", openapi, "This document", "openapi", auth=False,
                       response={"type": "object"}, tags=("system",))],
            "openapi",
        ),
    )  # fmt: skip
    gateway.register_route("/", system_controller(platform))
