"""Screenshots for the README and the guide, taken from the real application.

Each scene starts the application on a fresh data folder, drives it as a user would
(sign in, import a sample, run it against a local stand-in back office) and grabs the
screen. Run it under Xvfb with a keyring session, from the repository root:

    xvfb-run -a -s "-screen 0 1366x850x24" \\
        bash tests/keyring_session.sh .venv/bin/python docs/take_screenshots.py [NAME ...]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
PASSWORD = "Correct-Horse-42!"


async def until(predicate: Callable[[], Any], within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the application did not get there in time")
        await asyncio.sleep(0.05)


async def sign_in(window: Any) -> Any:
    await until(lambda: window.login_dialog is not None)
    dialog = window.login_dialog
    dialog.username.setText("maria")
    dialog.password.setText(PASSWORD)
    dialog.confirm.setText(PASSWORD)
    dialog.submit()
    await until(lambda: window.session.signed_in)
    return window.session.principal


async def editor(window: Any) -> None:
    """The lead follow-up sample in the editor after a run: states, counts, a preview."""
    from auterity_desktop.services.workflows.samples import sample_file
    from tests.services.workflows.dealership_server import dealership_server

    me = await sign_in(window)
    platform = window.bridge.platform
    saved = await platform.workflows.import_file(me, sample_file("lead_follow_up"))
    page = window.show_page("workflows")
    page.open_editor(saved.id)
    panel = page.editor()
    await until(lambda: panel.editor.workflow_id == saved.id)
    with dealership_server() as dealer:
        run_id = await platform.engine.execute_workflow(me, saved.id, {"crm_url": dealer.url})
        await platform.engine.wait(run_id)
    panel.editor.follow_run(run_id)
    await until(lambda: panel.editor.tracker.status is not None)
    panel.editor.view.fit_all()
    panel.editor.scene.select(["hot"])
    await asyncio.sleep(0.5)


async def editor_approval(window: Any) -> None:
    """A run parked on a manager's approval, answered from the canvas."""
    me = await sign_in(window)
    platform = window.bridge.platform

    def at(x: float, y: float) -> dict[str, float]:
        return {"x": x, "y": y}

    document = {
        "name": "Trade-in offer",
        "nodes": [
            {"id": "t", "type": "manual_trigger", "name": "Appraisal in", "position": at(0, 60)},
            {"id": "s", "type": "set_fields", "name": "Price the offer", "position": at(280, 60),
             "params": {"fields": {"vehicle": "2019 RAV4", "offer": 18400}}},
            {"id": "a", "type": "approval", "name": "Used-car manager", "position": at(560, 60),
             "params": {"message": "Offer $18,400 for the 2019 RAV4 trade-in?"}},
            {"id": "o", "type": "log", "name": "Send offer", "position": at(840, 0)},
            {"id": "r", "type": "log", "name": "Ask for a re-appraisal", "position": at(840, 140)},
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "s"},
            {"id": "e2", "source": "s", "target": "a"},
            {"id": "e3", "source": "a", "source_port": "approved", "target": "o"},
            {"id": "e4", "source": "a", "source_port": "rejected", "target": "r"},
        ],
        "annotations": [
            {"id": "note", "kind": "note", "text": "Offers above book value need the manager.",
             "position": {"x": 280, "y": 220}, "size": {"width": 240, "height": 80}},
        ],
    }  # fmt: skip
    saved = await platform.workflows.create(me, document)
    page = window.show_page("workflows")
    page.open_editor(saved.id)
    panel = page.editor()
    await until(lambda: panel.editor.workflow_id == saved.id)
    panel.run()
    await until(lambda: panel.editor.approval_bar.isVisible())
    panel.editor.view.fit_all()
    panel.editor.scene.select(["s"])
    await asyncio.sleep(0.5)


async def _integrations(window: Any) -> Any:
    """A dealership's connections in every state, then the Integrations page."""
    from tests.services.workflows.local_http import local_http_server

    me = await sign_in(window)
    api = window.bridge.platform.integrations

    async def add(name: str, kind: str, **fields: Any) -> str:
        info = await api.establish_connection(me, {"name": name, "kind": kind, **fields})
        return str(info.id)

    with local_http_server() as url:
        vin = "/vehicles/1HGCM82633A004352"
        inventory = await add(
            "Inventory API",
            "rest",
            base_url=url,
            auth="api_key",
            api_key="inv-4f2a",
            health_path=vin,
        )
        dms = await add(
            "Main DMS",
            "dms",
            product="DealerSocket",
            base_url=url,
            auth="bearer",
            token="dms-token",
            health_path=vin,
        )
        crm = await add("Lead CRM", "rest", base_url=url, health_path="/crm/health")
        await add(
            "Service desk mail",
            "email",
            host="smtp.dealer.example",
            from_address="Service Desk <service@dealer.example>",
            username="service",
            password="mail-pass",
        )
        parts = await add("Parts supplier", "rest", base_url="http://127.0.0.1:9", timeout=2)
        await add("Website leads", "webhook", path="leads/new", signing_secret="whsec")
        for integration_id in (inventory, dms, crm):
            await api.test_connection(me, integration_id)
        for _ in range(5):  # repeated failures open its circuit breaker
            await api.test_connection(me, parts)
    page = window.show_page("integrations")
    await until(lambda: page.model.rowCount() == 6)
    page.select(parts)
    return page


async def integrations(window: Any) -> None:
    await _integrations(window)
    await asyncio.sleep(0.5)


async def integrations_wizard(window: Any) -> None:
    """The wizard's form for a REST API, tested before saving."""
    from tests.services.workflows.local_http import local_http_server

    page = await _integrations(window)
    dialog = page.new_integration()
    dialog.move(360, 90)
    dialog.chooser.select_kind("rest")
    dialog.next_step()
    dialog.name.setText("Used-car pricing")
    auth = dialog.editors["auth"].combo
    auth.setCurrentIndex(auth.findData("api_key"))
    dialog.editors["api_key"].edit.setText("price-key-7781")
    with local_http_server() as url:
        dialog.editors["base_url"].edit.setText(url)
        dialog.editors["health_path"].edit.setText("/vehicles/1HGCM82633A004352")
        task = dialog.test_connection()
        await until(lambda: task is not None and task.done())
    await asyncio.sleep(0.5)


async def _message_traffic(window: Any) -> Any:
    """Queues of a dealership's day, some traffic, a slow consumer and a few dead letters."""
    me = await sign_in(window)
    mq = window.bridge.platform.messages
    for name, pattern, options in (
        ("crm.leads", "sales.lead.*", {"delivery_limit": 3}),
        ("service.reminders", "service.appointment.#", {}),
        ("inventory.prices", "inventory.price.*", {"ttl": 0.5}),
        ("bi.everything", "#", {"max_length": 500, "overflow": "drop_oldest"}),
    ):
        await mq.declare_queue_as(me, name, pattern, **options)
    leads = [
        {"lead": 4810 + i, "name": n, "model": m, "email": f"{n.lower()}@mail.test"}
        for i, (n, m) in enumerate(
            [("Ada", "RAV4"), ("Grace", "Corolla"), ("Alan", "Camry"), ("Edsger", "Prius"),
             ("Barbara", "RAV4"), ("Ken", "Tacoma"), ("Linus", "Highlander")]
        )
    ]  # fmt: skip
    for lead in leads:
        await mq.publish("sales.lead.created", lead)
    poison = {"lead": 4799, "name": "Unknown", "model": "RAV4", "source": "walk-in"}
    await mq.publish("sales.lead.created", poison, priority=5)
    for _ in range(3):  # the CRM sync keeps failing on the lead without an e-mail
        message = await mq.get("crm.leads")
        await mq.nack(message.receipt, reason="KeyError: 'email' (CRM sync needs an e-mail)")
    rejected = {"lead": 4800, "name": "Test Test", "model": "?", "source": "web"}
    await mq.publish("sales.lead.qualified", rejected, priority=5)
    message = await mq.get("crm.leads")
    await mq.nack(message.receipt, requeue=False, reason="Spam: a test submission")
    for vin in ("JTMRWRFV0LD123456", "2T1BURHE5JC654321"):
        await mq.publish("inventory.price.changed", {"vin": vin, "price": 28450})
    for hours in (1, 2, 4, 6, 24):
        await mq.publish(
            "service.appointment.reminder.due",
            {"appointment": 9100 + hours, "customer": "M. Rossi"},
            delay=hours * 3600,
        )
    await mq.publish("service.appointment.booked", {"appointment": 9201, "bay": 3})
    await asyncio.sleep(0.6)
    await mq.expire()  # the price changes nobody picked up in time

    async def sync_to_crm(message: Any) -> None:
        await asyncio.sleep(3600)  # a slow CRM: two leads in flight while we look

    await mq.subscribe("sales.lead.*", sync_to_crm, queue="crm.leads", concurrency=2)
    bi = await mq.get_many("bi.everything", 8)  # a BI export drained part of its copy
    for message in bi:
        await mq.ack(message.receipt)
    page = window.show_page("messages")
    await until(lambda: page.stats is not None and page.queue_model.rowCount() == 4)
    return page


async def messages(window: Any) -> None:
    """The Messages page: queues by state with rates, while a consumer works."""
    page = await _message_traffic(window)
    await until(lambda: any(q.in_flight == 2 for q in page.stats.queues))
    await asyncio.sleep(0.5)


async def messages_dead_letters(window: Any) -> None:
    """The dead-letter queue: why each message died, its payload and delivery history."""
    from auterity_desktop.ui.pages.messages_page import DEAD_TAB

    page = await _message_traffic(window)
    page.tabs.setCurrentIndex(DEAD_TAB)
    await until(lambda: page.dead_model.rowCount() == 4)
    dead = next(d for d in page.dead_model._rows if d.reason == "delivery_limit")
    page.select_dead(dead.id)
    await until(lambda: page.shown_dead_id == dead.id)
    page.history_view.expand_all()
    await asyncio.sleep(0.5)


SCENES: dict[str, Callable[[Any], Awaitable[None]]] = {
    "editor": editor,
    "editor-approval": editor_approval,
    "integrations": integrations,
    "integrations-wizard": integrations_wizard,
    "messages": messages,
    "messages-dead-letters": messages_dead_letters,
}


def take(name: str) -> None:
    """One scene in this process: the application, the scenario, the grab."""
    from PySide6.QtGui import QGuiApplication

    from auterity_desktop.ui.app import run_gui

    def shown(window: Any) -> None:
        window.resize(1366, 850)
        window.move(0, 0)

        async def scene() -> None:
            try:
                await SCENES[name](window)
                QGuiApplication.primaryScreen().grabWindow(0).save(str(IMAGES / f"{name}.png"))
                print(f"wrote docs/images/{name}.png")
            finally:
                window.close()

        running.append(asyncio.ensure_future(scene()))

    running: list[asyncio.Future[None]] = []
    run_gui(on_shown=shown)


def main(names: list[str]) -> int:
    if len(names) == 1 and os.environ.get("AUTERITY_DATA_DIR"):
        take(names[0])
        return 0
    failed = 0
    for name in names or list(SCENES):
        with tempfile.TemporaryDirectory() as data:  # every scene starts like a new user
            env = {**os.environ, "AUTERITY_DATA_DIR": data, "PYTHONPATH": str(ROOT)}
            done = subprocess.run([sys.executable, __file__, name], env=env, cwd=ROOT)
            failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
