"""Workflow nodes that use integrations by name, run by the real engine: a REST call, a SQL
query whose values stay bound parameters, and an e-mail to a local SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from auterity_desktop.services.integrations.controller import IntegrationController
from auterity_desktop.services.workflows.engine import WorkflowEngine
from tests.services.conftest import Stack
from tests.services.integrations.api_server import Api
from tests.services.integrations.conftest import Inbox
from tests.services.workflows.conftest import T, new_engine, run, wf


@pytest.fixture
async def engine(stack: Stack, controller: IntegrationController) -> AsyncIterator[WorkflowEngine]:
    built = new_engine(stack)
    built.services["integrations"] = controller  # as the platform wires it
    await built.initialize()
    yield built
    await built.cleanup()


async def test_nodes_call_integrations_by_name(
    stack: Stack,
    engine: WorkflowEngine,
    controller: IntegrationController,
    api: Api,
    smtp_server: tuple[int, Inbox],
    tmp_path: Path,
) -> None:
    admin = await stack.admin()
    await controller.establish_connection(
        admin, {"name": "CRM", "kind": "rest", "base_url": f"{api.url}/bearer", "auth": "bearer",
                "token": api.bearer},
    )  # fmt: skip
    await controller.establish_connection(
        admin, {"name": "Stock", "kind": "sql", "url": f"sqlite:///{tmp_path / 'stock.db'}"}
    )
    port, inbox = smtp_server
    await controller.establish_connection(
        admin, {"name": "Mail", "kind": "email", "host": "127.0.0.1", "port": port,
                "security": "none", "from_address": "service@dealer.example"},
    )  # fmt: skip
    await controller.call(
        "Stock", "sql",
        lambda c: c.query("CREATE TABLE cars (vin TEXT, price INTEGER)"),
    )  # fmt: skip
    await controller.call(
        "Stock", "sql",
        lambda c: c.query("INSERT INTO cars VALUES ('WVW1', 31900), ('WVW2', 24500)"),
    )  # fmt: skip
    doc = wf(
        T,
        {"id": "lead", "type": "integration_request",
         "params": {"integration": "CRM", "method": "POST", "path": "/leads",
                    "body": {"vin": "{{ $params.vin }}"}}},
        {"id": "price", "type": "sql_query",
         "params": {"integration": "Stock", "sql": "SELECT price FROM cars WHERE vin = :vin",
                    "parameters": {"vin": "{{ $params.vin }}"}}},
        {"id": "mail", "type": "send_email",
         "params": {"integration": "Mail", "to": "{{ $params.email }}",
                    "subject": "Your {{ $params.vin }}",
                    "body": "Price: {{ $node['price'].output.rows[0].price }}"}},
        edges=[("t", "lead"), ("t", "price"), ("price", "mail")],
    )  # fmt: skip
    status = await run(stack, engine, doc, {"vin": "WVW1", "email": "mara@example.com"})
    assert status["status"] == "succeeded", status["error"]
    assert status["nodes"]["lead"]["output"]["main"]["status"] == 201
    assert api.seen[-1]["body"] == {"vin": "WVW1"}
    assert status["nodes"]["price"]["output"]["main"]["rows"] == [{"price": 31900}]
    [envelope] = inbox.messages
    assert b"Price: 31900" in envelope.content

    hostile = await run(stack, engine, doc, {"vin": "x' OR '1'='1", "email": "a@b.c"})
    assert hostile["nodes"]["price"]["output"]["main"]["rows"] == []  # data, not SQL
    assert hostile["status"] == "failed"  # no price: the e-mail's expression says so
    assert "index 0" in hostile["nodes"]["mail"]["error"]

    missing = await run(
        stack, engine,
        wf(T, {"id": "x", "type": "sql_query",
               "params": {"integration": "Nope", "sql": "SELECT 1"}}, edges=[("t", "x")]),
    )  # fmt: skip
    assert "There is no integration 'Nope'" in missing["error"]
    wrong_kind = await run(
        stack, engine,
        wf(T, {"id": "x", "type": "sql_query",
               "params": {"integration": "Mail", "sql": "SELECT 1"}}, edges=[("t", "x")]),
    )  # fmt: skip
    assert "Mail is of type E-mail (SMTP); this needs SQL database" in wrong_kind["error"]
