"""The HTTP request node against a real local server: JSON, POST, errors, timeouts, retries."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from auterity_desktop.services.workflows.engine import WorkflowEngine
from tests.services.conftest import Stack
from tests.services.workflows.conftest import T, run, wf
from tests.services.workflows.local_http import local_http_server


@pytest.fixture
def server() -> Iterator[str]:
    with local_http_server() as url:
        yield url


def http(node_id: str, **params: object) -> dict:
    return {"id": node_id, "type": "http_request", "params": params}


async def test_get_json_and_use_it_downstream(
    stack: Stack, engine: WorkflowEngine, server: str
) -> None:
    doc = wf(
        T,
        http("lookup", url=server + "/vehicles/{{ $params.vin }}"),
        {
            "id": "price",
            "type": "set_fields",
            "name": "Price",
            "params": {
                "fields": {"offer": "{{ $node['lookup'].output.body.price * 0.9 }}"},
                "keep_input": False,
            },
        },
        edges=[("t", "lookup"), ("lookup", "price")],
    )
    status = await run(stack, engine, doc, {"vin": "1HGCM82633A004352"})
    assert status["status"] == "succeeded", status
    assert status["nodes"]["lookup"]["output"]["main"]["status"] == 200
    assert status["results"] == {"Price": {"main": {"offer": 16650.0}}}


async def test_post_json_with_headers(stack: Stack, engine: WorkflowEngine, server: str) -> None:
    doc = wf(
        T,
        http(
            "push",
            method="POST",
            url=server + "/leads",
            headers={"X-Api-Key": "{{ $params.key }}"},
            body={"email": "{{ $params.email }}"},
        ),
        edges=[("t", "push")],
    )
    status = await run(stack, engine, doc, {"email": "ana@example.com", "key": "k-1"})
    body = status["results"]["push"]["main"]
    assert body["status"] == 201
    assert body["body"] == {"received": {"email": "ana@example.com"}, "auth": "k-1"}


async def test_text_response_and_404(stack: Stack, engine: WorkflowEngine, server: str) -> None:
    doc = wf(T, http("txt", url=server + "/text", response="text"), edges=[("t", "txt")])
    assert (await run(stack, engine, doc))["results"]["txt"]["main"]["body"] == "plain words"
    doc = wf(T, http("missing", url=server + "/nothing"), edges=[("t", "missing")])
    status = await run(stack, engine, doc)
    assert status["status"] == "failed"
    assert "answered 404 Not Found" in status["nodes"]["missing"]["error"]


async def test_retries_through_503s(stack: Stack, engine: WorkflowEngine, server: str) -> None:
    doc = wf(
        T,
        {**http("flaky", url=server + "/flaky"), "retry": {"attempts": 4, "delay": 0.01}},
        edges=[("t", "flaky")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "succeeded"
    assert status["nodes"]["flaky"]["attempt"] == 3


async def test_slow_server_and_closed_port(
    stack: Stack, engine: WorkflowEngine, server: str
) -> None:
    doc = wf(T, http("slow", url=server + "/slow", timeout=0.2), edges=[("t", "slow")])
    status = await run(stack, engine, doc)
    assert "did not answer within 0.2 s" in status["nodes"]["slow"]["error"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    doc = wf(
        T,
        {**http("down", url=f"http://127.0.0.1:{closed_port}/x"), "on_error": "route"},
        {"id": "alert", "type": "error_handler"},
        edges=[("t", "down"), ("down", "alert", "error")],
    )
    status = await run(stack, engine, doc)
    assert status["status"] == "succeeded"
    assert "failed" in status["results"]["alert"]["main"]["error"]
