"""The route table: longest prefix at a segment boundary, clear errors otherwise."""

from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.gateway.routes import RouteTable


def test_longest_prefix_at_a_segment_boundary() -> None:
    table = RouteTable()
    assert table.register_route("/api/v1/workflows/", "workflows") == "/api/v1/workflows"
    table.register_route("/api/v1", "api")
    table.register_route("/healthz", "health")
    found = table.match("/api/v1/workflows/42/status?verbose=1")
    assert (found.prefix, found.controller, found.rest) == (
        "/api/v1/workflows", "workflows", "/42/status"
    )  # fmt: skip
    assert table.match("/api/v1/workflowsX").controller == "api"
    assert table.match("/healthz").rest == ""
    with pytest.raises(ServiceError) as info:
        table.match("/metrics")
    assert info.value.code is ErrorCode.NOT_FOUND
    table.register_route("/", "fallback")
    assert table.match("/metrics").controller == "fallback"
    table.unregister_route("/healthz")
    assert table.prefixes == ["/", "/api/v1", "/api/v1/workflows"]


def test_taken_and_malformed_prefixes_are_refused() -> None:
    table = RouteTable()
    table.register_route("/api/v1", "api")
    with pytest.raises(ServiceError) as info:
        table.register_route("/api/v1/", "again")
    assert info.value.code is ErrorCode.CONFLICT
    for bad in ("api", "/api/<script>", "/a//b", 42):
        with pytest.raises(ServiceError) as info:
            table.register_route(bad, "x")  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.INVALID_INPUT
