"""The dealership sample pack on a real platform: loaded once (and not twice), every sample
workflow runs offline to its outbound queue, the event log mines into the expected map, the
data set pivots, the monitored model reports the drift it was given, and every step is in
the audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.platform import Platform
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.samples.loader import QUEUES, SampleReport
from auterity_desktop.services.security.principal import Principal

PASSWORD = "Correct-Horse-42!"


@dataclass
class Loaded:
    platform: Platform
    admin: Principal
    report: SampleReport
    progress: list[tuple[str, float]]


@pytest.fixture
async def loaded(data_dir: Path) -> AsyncIterator[Loaded]:
    async with Platform.from_environment() as platform:
        await platform.security.users.create_first_admin("maria", PASSWORD)
        session = await platform.security.authenticate_user(
            {"username": "maria", "password": PASSWORD}
        )
        progress: list[tuple[str, float]] = []
        report = await platform.samples.load(
            session.principal, lambda text, done: progress.append((text, done))
        )
        yield Loaded(platform, session.principal, report, progress)


async def run(loaded: Loaded, sample: str, params: dict[str, Any] | None = None) -> dict:
    engine = loaded.platform.engine
    run_id = await engine.execute_workflow(
        loaded.admin, loaded.report.workflows[sample], params or {}
    )
    return await engine.wait(run_id)


async def drain(platform: Platform, queue: str) -> list[Any]:
    payloads = []
    while (message := await platform.messages.get(queue)) is not None:
        payloads.append(message.payload)
        await platform.messages.ack(message.receipt)
    return payloads


async def test_everything_is_loaded_with_progress(loaded: Loaded, data_dir: Path) -> None:
    report = loaded.report
    assert sorted(report.workflows) == [
        "dlq_alerting",
        "inventory_price_check",
        "lead_follow_up",
        "service_appointment_reminder",
    ]
    names = [w.name for w in await loaded.platform.workflows.list_workflows(loaded.admin)]
    assert names == [
        "Dead-letter alerting",
        "Inventory price check",
        "Lead follow-up",
        "Service appointment reminder",
    ]
    queues = {q.name: q.pattern for q in await loaded.platform.messages.list_queues(loaded.admin)}
    assert set(QUEUES) <= set(queues.items())
    assert report.folder == data_dir / "samples"
    assert report.event_log is not None and report.event_log.parent == report.folder
    assert report.dataset is not None and report.dataset.exists()
    assert report.skipped == []
    fractions = [done for _text, done in loaded.progress]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    assert loaded.progress[-1][0] == "Samples loaded"


async def test_loading_again_adds_nothing_twice(loaded: Loaded) -> None:
    again = await loaded.platform.samples.load(loaded.admin)
    assert again.workflows == loaded.report.workflows
    assert len(again.skipped) == 5  # four workflows and the model
    assert len(await loaded.platform.workflows.list_workflows(loaded.admin)) == 4
    assert len(await loaded.platform.ml_monitoring.list_models(loaded.admin)) == 1


async def test_lead_follow_up_classifies_offline_and_books_a_call(loaded: Loaded) -> None:
    status = await run(loaded, "lead_follow_up")
    assert status["status"] == "succeeded", status["error"]
    assert status["nodes"]["classify"]["output"]["main"]["intent"] == "test_drive"
    [task] = await drain(loaded.platform, "sales-tasks")
    assert task["lead_id"] == "L-1001" and task["intent"] == "test_drive"
    assert task["note"].startswith("Hot lead Mara Jensen (test_drive) is interested in 2024")
    cold = {
        "hot_score": 70,
        "lead": {
            "id": "L-1002",
            "name": "Tom Weber",
            "email": "tom@example.com",
            "score": 35,
            "message": "Please send me your newsletter with the spring offers.",
        },
    }
    status = await run(loaded, "lead_follow_up", cold)
    assert status["status"] == "succeeded", status["error"]
    assert status["nodes"]["call"]["status"] == "skipped"
    [mail] = await drain(loaded.platform, "marketing-email")
    assert mail["to"] == "tom@example.com" and mail["variables"]["first_name"] == "Tom Weber"
    incomplete = {"hot_score": 70, "lead": {"id": "L-1003", "name": "Ann", "score": 90}}
    status = await run(loaded, "lead_follow_up", incomplete)
    message = status["results"]["Flag incomplete lead"]["main"]["message"]
    assert message.startswith("Lead L-1003 is incomplete: lead: 'email' is a required property")


async def test_service_reminders_text_or_email_each_customer(loaded: Loaded) -> None:
    status = await run(loaded, "service_appointment_reminder")
    assert status["status"] == "succeeded", status["error"]
    reminders = await drain(loaded.platform, "service-reminders")
    texts = sorted(r["to"] for r in reminders if "text" in r)
    assert texts == ["+4915112345678", "+4917011122233"]
    [mail] = [r for r in reminders if "template" in r]
    assert mail["to"] == "tom@example.com" and mail["variables"]["service"] == "brake pads"
    summary = status["results"]["Reminders sent"]["main"]["message"]
    assert summary == "3 service reminders sent"


async def test_inventory_price_check_alerts_on_overpriced_vehicles(loaded: Loaded) -> None:
    status = await run(loaded, "inventory_price_check")
    assert status["status"] == "succeeded", status["error"]
    assert await drain(loaded.platform, "price-alerts") == [
        {
            "vin": "WVWZZZ3CZPE000001",
            "model": "2023 Passat Variant",
            "our_price": 31900,
            "market_price": 29000,
            "gap": 0.1,
        }
    ]
    assert status["results"]["Checked"]["main"]["message"] == "Checked 3 vehicles"


async def test_dead_letters_raise_an_operations_alert(loaded: Loaded) -> None:
    platform = loaded.platform
    await platform.messages.declare_queue("dms-sync", "dms.#", delivery_limit=1)
    await platform.messages.publish("dms.repair_order", {"ro": "RO-1"})
    message = await platform.messages.get("dms-sync")
    assert message is not None
    await platform.messages.nack(message.receipt, requeue=False, reason="DMS refused it")
    deadline = asyncio.get_running_loop().time() + 20
    alerts: list[Any] = []
    while not alerts and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        alerts = await drain(platform, "ops-alerts")
    assert alerts == [
        {
            "queue": "dms-sync",
            "text": "1 message(s) dead-lettered on dms-sync (rejected). Open Messages > Dead "
            "letters to inspect and replay them.",
        }
    ]


async def test_the_event_log_mines_into_the_service_process(loaded: Loaded) -> None:
    mining = loaded.platform.process_mining
    assert loaded.report.event_log is not None and loaded.report.reference_log is not None
    log = await mining.import_log(loaded.admin, str(loaded.report.event_log))
    assert log.frame["case"].nunique() == 400
    found = await mining.discover(loaded.admin, log, "inductive")
    activities = set(found["inductive"]["activities"])
    assert {"Write up RO", "Quality check", "Order parts", "Vehicle picked up"} <= activities
    reference = await mining.import_log(loaded.admin, str(loaded.report.reference_log))
    model = loaded.report.folder / "reference.pnml"
    await mining.export_model(loaded.admin, reference, model)
    checked = await mining.conformance(loaded.admin, log, str(model))
    assert 0.9 < checked["fitness"] < 1.0  # the rework and skipped inspections deviate


async def test_the_data_set_pivots_by_department(loaded: Loaded) -> None:
    assert loaded.report.dataset is not None
    frame = pd.read_csv(loaded.report.dataset)
    assert len(frame) == 6000
    revenue = frame.groupby("department")["labor_revenue"].sum()
    assert revenue.idxmax() == "Service"


async def test_the_model_reports_the_drift_it_was_given(loaded: Loaded) -> None:
    ml = loaded.platform.ml_monitoring
    report = await ml.check_drift_as(loaded.admin, "lead-conversion", "2024.11", 4 * 86_400)
    assert report.dataset_drift, report.summary()
    drifted = {f.feature for f in report.features if f.drifted}
    assert {"vehicle_price", "lead_source"} <= drifted


async def test_every_step_is_in_the_audit_trail(loaded: Loaded) -> None:
    page = await loaded.platform.audit.page(AuditFilter(actor="maria"))
    actions = {entry.action for entry in page.entries}
    assert {"workflow.created", "queue.declared", "model.registered"} <= actions


async def test_a_viewer_may_not_load_samples(loaded: Loaded) -> None:
    users = loaded.platform.security.users
    await users.create_user(loaded.admin, "val", "Viewer-Only-2026!", "viewer")
    session = await loaded.platform.security.authenticate_user(
        {"username": "val", "password": "Viewer-Only-2026!"}
    )
    with pytest.raises(ServiceError) as info:
        await loaded.platform.samples.load(session.principal)
    assert info.value.code is ErrorCode.UNAUTHORIZED
