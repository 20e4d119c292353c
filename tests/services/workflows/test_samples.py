"""The sample workflows shipped in resources/workflows run offline against a local stand-in
for the dealership's CRM, DMS, SMS gateway and market price feed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.samples import sample_file, sample_files
from tests.services.conftest import Stack
from tests.services.workflows.dealership_server import Dealership, dealership_server


@pytest.fixture
def dealer() -> Iterator[Dealership]:
    with dealership_server() as server:
        yield server


async def run_sample(
    stack: Stack, engine: WorkflowEngine, name: str, params: dict[str, Any]
) -> dict[str, Any]:
    admin = await stack.admin()
    saved = await engine.store.import_file(admin, sample_file(name))
    run_id = await engine.execute_workflow(admin, saved.id, params)
    return await engine.wait(run_id)


def test_every_sample_is_shipped() -> None:
    assert [p.stem for p in sample_files()] == [
        "inventory_price_check",
        "lead_follow_up",
        "service_appointment_reminder",
    ]


async def test_lead_follow_up_routes_hot_cold_and_incomplete_leads(
    stack: Stack, engine: WorkflowEngine, dealer: Dealership
) -> None:
    hot = await run_sample(
        stack, engine, "lead_follow_up", {"crm_url": dealer.url, "lead_id": "L-1001"}
    )
    assert hot["status"] == "succeeded", hot["error"]
    assert hot["nodes"]["call"]["status"] == "succeeded", hot["nodes"]
    [task] = dealer.posted["/tasks"]
    assert task["type"] == "call"
    assert task["note"].startswith("Hot lead Mara Jensen is interested in 2024 Passat Variant")
    cold = await run_sample(
        stack, engine, "lead_follow_up", {"crm_url": dealer.url, "lead_id": "L-1002"}
    )
    assert cold["nodes"]["call"]["status"] == "skipped"
    [mail] = dealer.posted["/emails"]
    assert mail["to"] == "tom@example.com"
    assert mail["variables"] == {"first_name": "Tom Weber"}
    incomplete = await run_sample(
        stack, engine, "lead_follow_up", {"crm_url": dealer.url, "lead_id": "L-1003"}
    )
    assert incomplete["status"] == "succeeded"
    message = incomplete["results"]["Flag incomplete lead"]["main"]["message"]
    assert message == "Lead L-1003 is incomplete: body: 'email' is a required property"
    assert len(dealer.posted["/tasks"]) == 1


async def test_lead_follow_up_flags_an_unreachable_crm(
    stack: Stack, engine: WorkflowEngine, dealer: Dealership
) -> None:
    dealer.down.add("/leads")
    doc_params = {"crm_url": dealer.url, "lead_id": "L-1001"}
    admin = await stack.admin()
    saved = await engine.store.import_file(admin, sample_file("lead_follow_up"))
    document = saved.document.model_dump()
    document["nodes"][1]["retry"] = {"attempts": 2, "delay": 0.01, "backoff": 1, "max_delay": 0.01}
    saved = await engine.store.save(admin, saved.id, document)
    status = await engine.wait(await engine.execute_workflow(admin, saved.id, doc_params))
    assert status["status"] == "succeeded"
    assert status["nodes"]["fetch"]["attempt"] == 2
    message = status["results"]["CRM unreachable"]["main"]["message"]
    assert "answered 503 Service Unavailable" in message


async def test_service_reminders_text_or_email_each_customer(
    stack: Stack, engine: WorkflowEngine, dealer: Dealership
) -> None:
    status = await run_sample(
        stack,
        engine,
        "service_appointment_reminder",
        {"dms_url": dealer.url, "sms_url": dealer.url},
    )
    assert status["status"] == "succeeded", status["error"]
    texts = sorted(m["to"] for m in dealer.posted["/messages"])
    assert texts == ["+4915112345678", "+4917011122233"]
    assert any("annual inspection appointment tomorrow at 08:30" in m["text"]
               for m in dealer.posted["/messages"])  # fmt: skip
    [mail] = dealer.posted["/emails"]
    assert mail["to"] == "tom@example.com"
    assert mail["variables"]["service"] == "brake pads"
    summary = status["results"]["Reminders sent"]["main"]["message"]
    assert summary == "3 service reminders sent"


async def test_inventory_price_check_alerts_on_overpriced_vehicles(
    stack: Stack, engine: WorkflowEngine, dealer: Dealership
) -> None:
    status = await run_sample(
        stack,
        engine,
        "inventory_price_check",
        {"dms_url": dealer.url, "market_url": dealer.url},
    )
    assert status["status"] == "succeeded", status["error"]
    assert dealer.posted["/price-alerts"] == [
        {"vin": "WVWZZZ3CZPE000001", "our_price": 31900, "market_price": 29000, "gap": 0.1}
    ]
    assert status["results"]["Checked"]["main"]["message"] == "Checked 3 vehicles"
