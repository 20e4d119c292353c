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
sys.path.insert(0, str(ROOT))  # the package and tests, when run from a checkout

from auterity_desktop.services.samples.datasets import (  # noqa: E402
    leads_table,
    repair_orders_table,
)
from auterity_desktop.services.samples.event_log import write_repair_orders  # noqa: E402

# AUTERITY_SCREENSHOT_DIR: elsewhere than docs/images (the test of this script uses it)
IMAGES = Path(os.environ.get("AUTERITY_SCREENSHOT_DIR") or ROOT / "docs" / "images")
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
    dialog.samples_check.setChecked(False)  # each scene brings its own data
    dialog.username.setText("maria")
    dialog.password.setText(PASSWORD)
    dialog.confirm.setText(PASSWORD)
    dialog.submit()
    await until(lambda: window.session.signed_in)
    return window.session.principal


async def editor(window: Any) -> None:
    """The lead follow-up sample in the editor after a run: states, counts, a preview."""
    from auterity_desktop.services.workflows.samples import sample_file

    me = await sign_in(window)
    platform = window.bridge.platform
    saved = await platform.workflows.import_file(me, sample_file("lead_follow_up"))
    page = window.show_page("workflows")
    page.open_editor(saved.id)
    panel = page.editor()
    await until(lambda: panel.editor.workflow_id == saved.id)
    run_id = await platform.engine.execute_workflow(me, saved.id, {})
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


async def models(window: Any) -> None:
    """The Models page: a lead-scoring model whose recent leads drifted."""

    me = await sign_in(window)
    platform = window.bridge.platform
    ml = platform.ml_monitoring
    await platform.samples.load_model(me)  # the sample lead-conversion model
    appraisal = {"mileage": "numeric", "age_years": "numeric", "condition": "categorical"}
    reference = leads_table(600, seed=2).rename(
        columns={"trade_in_value": "mileage", "days_to_contact": "age_years",
                 "credit_tier": "condition"}
    )  # fmt: skip
    await ml.register_model(
        me, "trade-in-appraisal", "3", "regression", appraisal, reference, target="vehicle_price"
    )
    now = ml.clock()
    for day in range(14):
        other = reference.sample(40, random_state=day)
        start = now - (13 - day) * 86400 - 4999
        await ml.log_predictions(
            "trade-in-appraisal", "3", other, (other["vehicle_price"] * 0.97).tolist(),
            timestamps=[start + 40 * i for i in range(40)],
        )  # fmt: skip
    await ml.check_drift_as(me, "trade-in-appraisal", "3", window=7 * 86400)
    page = window.show_page("models")
    await until(lambda: page.model.rowCount() == 2 and page.info is not None)
    page.select_model("lead-conversion", "2024.11")
    await until(lambda: page.info is not None and page.info.name == "lead-conversion")
    page.window_choice.setCurrentIndex(page.window_choice.findText("Last 7 days"))
    task = page.check_drift()
    await until(lambda: task is not None and task.done() and page.report is not None)
    page.window_choice.setCurrentIndex(page.window_choice.findText("Last 30 days"))
    await until(lambda: not page.reload_detail.busy)
    page.select_feature("vehicle_price")
    await asyncio.sleep(1.0)
    hide_toasts(window)  # the drift alert's pop-up hides the chart
    await asyncio.sleep(0.2)


async def alerts(window: Any) -> None:
    """The Alerts page: memory firing (with its history), a backlog acknowledged, a CPU
    spike pending, model drift reported by model monitoring, a resolved alert, a toast."""
    import time

    me = await sign_in(window)
    platform = window.bridge.platform
    service, metrics = platform.alerts, platform.metrics
    now = time.time()
    real_clock = metrics._clock

    def record(at: float, name: str, value: float, labels: Any = None) -> None:
        metrics._clock = lambda: at  # samples from the last hour, as if collected then
        try:
            metrics.gauge(name, value, labels)
        finally:
            metrics._clock = real_clock

    await service.create_rule(
        me,
        {"name": "Lead queue backlog", "kind": "threshold", "metric": "auterity_queue_depth",
         "labels": {"queue": "crm.leads"}, "params": {"comparator": ">", "threshold": 500},
         "for_seconds": 60, "severity": "warning",
         "description": "New leads wait too long before the CRM sync picks them up."},
    )  # fmt: skip
    record(now - 3700, "auterity_disk_usage_ratio", 0.97)  # an hour ago: the disk filled up
    await service.evaluate(now - 3700)
    record(now - 2900, "auterity_disk_usage_ratio", 0.81)  # old exports were archived
    await service.evaluate(now - 2900)
    for minutes in (4, 3, 2):
        record(now - 60 * minutes, "auterity_system_memory_ratio", 0.955 + minutes / 200)
        record(
            now - 60 * minutes, "auterity_queue_depth", 620 + 40 * minutes, {"queue": "crm.leads"}
        )
        await service.evaluate(now - 60 * minutes)
    # the latest samples: after the ones the performance service took at start
    record(now - 0.5, "auterity_system_memory_ratio", 0.968)
    record(now - 0.5, "auterity_system_cpu_ratio", 0.97)
    record(now - 0.5, "auterity_queue_depth", 742, {"queue": "crm.leads"})
    await service.evaluate(now)
    backlog = next(a for a in (await service.list_alerts(me)).items if "backlog" in a.name)
    await service.acknowledge(me, backlog.id, "CRM sync restarted; draining")
    platform.events.publish(
        "model_drift_detected",
        {"model": "lead-scoring", "version": "7",
         "message": "PSI 0.28 on credit_band (limit 0.2) over the last 2,140 leads",
         "details": {"feature": "credit_band", "psi": 0.28, "window": "7 days"}},
    )  # fmt: skip
    page = window.show_page("alerts")
    await until(lambda: page.loaded and page.open_model.rowCount() == 4)
    memory = next(a for a in page.open_model._rows if "memory" in a.name)
    page.select_alert(memory.id)
    for toast in window.alert_toasts.toasts[:-1]:
        toast.dismiss()
    await asyncio.sleep(0.5)


async def dashboard(window: Any) -> None:
    """The Dashboard after a minute and a half of a dealership's work: price checks run
    (a few fail), leads queue up and are worked off, one integration is down. Metrics are
    collected every three seconds instead of every minute, and the charts show that stretch."""
    import random
    import time

    from tests.services.workflows.local_http import local_http_server

    me = await sign_in(window)
    platform = window.bridge.platform
    document = {
        "name": "Used-car price check",
        "nodes": [
            {"id": "t", "type": "manual_trigger", "name": "VIN in"},
            {"id": "w", "type": "delay", "name": "Ask the pricing API",
             "params": {"seconds": "{{ $params.wait }}"}},
            {"id": "p", "type": "set_fields", "name": "Price",
             "params": {"fields": {"offer": "{{ 18400 / $params.condition }}"}}},
            {"id": "o", "type": "log", "name": "Send offer"},
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "w"},
            {"id": "e2", "source": "w", "target": "p"},
            {"id": "e3", "source": "p", "target": "o"},
        ],
    }  # fmt: skip
    workflow = await platform.workflows.create(me, document)
    mq, api = platform.messages, platform.integrations
    await mq.declare_queue_as(me, "crm.leads", "sales.lead.*")
    await mq.declare_queue_as(me, "service.reminders", "service.appointment.#")
    with local_http_server() as url:
        crm = await api.establish_connection(
            me, {"name": "Lead CRM", "kind": "rest", "base_url": url, "health_path": "/crm/health"}
        )
        await api.test_connection(me, crm.id)
    parts = await api.establish_connection(
        me, {"name": "Parts supplier", "kind": "rest", "base_url": "http://127.0.0.1:9"}
    )
    await api.test_connection(me, parts.id)
    page = window.show_page("dashboard")
    rng = random.Random(4)
    began = time.time()
    for second in range(90):
        busy = 1 + (second // 15) % 3  # the floor gets busier and calmer again
        for _ in range(rng.randint(0, busy)):
            params = {
                "wait": round(rng.uniform(0.05, 0.3 * busy), 2),
                "condition": 0 if rng.random() < 0.12 else rng.choice([1, 1.1, 1.25]),
            }
            await platform.engine.execute_workflow(me, workflow.id, params)
        for _ in range(rng.randint(0, 2 + busy)):
            await mq.publish("sales.lead.created", {"lead": rng.randint(4000, 9000)})
        if rng.random() < 0.3:
            await mq.publish("service.appointment.booked", {"bay": rng.randint(1, 6)})
        if rng.random() < 0.6:  # the sales desk works the leads off
            for message in await mq.get_many("crm.leads", rng.randint(1, 4)):
                await mq.ack(message.receipt)
        if second % 3 == 2:
            await platform.performance.collect_metrics()
        await asyncio.sleep(1.0)
    page.set_custom_range(began - 2, time.time() + 2)
    await until(lambda: not page._stale and not page.reload.busy)
    page.reload_kpis()
    await until(lambda: page.kpis is not None and not page.reload_kpis.busy)
    await asyncio.sleep(0.5)
    hide_toasts(window)  # the failing-runs alert's pop-up
    await asyncio.sleep(0.2)


async def ai(window: Any) -> None:
    """The AI page's playground: a dealership's deployments (one cloud model answered by a
    local OpenAI-compatible stand-in, a local one not started, one switched off), a cost
    policy, and a reply streamed through it with its tokens, cost and routing decision."""
    from auterity_desktop.services.ai.types import ModelRequest
    from auterity_desktop.ui.pages.ai_page import PLAYGROUND_TAB
    from tests.ui.llm_stub_server import llm_stub_server

    me = await sign_in(window)
    ai = window.bridge.platform.ai
    reply = (
        "Yes — at 60,000 miles the 2019 RAV4 is due for its major service: oil and filter, "
        "tyre rotation, brake inspection, cabin and engine air filters and a coolant check. "
        "It takes about two and a half hours, and we can offer a loaner car or the shuttle. "
        "Shall I book a slot for you this week?"
    )
    with llm_stub_server(reply=reply, delay=0.02, model="gpt-4o-mini-2024-07-18") as stub:
        deployments = [
            {"name": "gpt-4o-mini", "provider": "openai", "model": "gpt-4o-mini",
             "api_base": stub.openai_base, "price_input_per_1k": 0.00015,
             "price_output_per_1k": 0.0006, "context_window": 128_000,
             "capabilities": ["json", "tools"], "rpm": 500, "tpm": 200_000},
            {"name": "claude-haiku", "provider": "anthropic", "model": "claude-3-5-haiku-latest",
             "price_input_per_1k": 0.0008, "price_output_per_1k": 0.004,
             "context_window": 200_000, "capabilities": ["tools", "vision"]},
            {"name": "llama-local", "provider": "openai", "model": "llama3.1:8b",
             "api_base": "http://127.0.0.1:9/v1", "context_window": 8192, "weight": 2},
            {"name": "mistral-small", "provider": "ollama", "model": "mistral-small:24b",
             "context_window": 32_768, "enabled": False},
        ]  # fmt: skip
        keys = {"gpt-4o-mini": "sk-demo-4f2a", "claude-haiku": "sk-ant-demo-91c3"}
        for spec in deployments:
            await ai.save_deployment(me, spec, api_key=keys.get(spec["name"]))
        policy = {
            "name": "cheap-first", "strategy": "cost",
            "deployments": ["llama-local", "gpt-4o-mini", "claude-haiku"],
            "num_retries": 0, "allowed_fails": 0, "cooldown_seconds": 300,
            "description": "The local model first, then the cheapest cloud one",
        }  # fmt: skip
        await ai.save_policy(me, policy)
        for scope, period, limit in (("global", "month", 50), ("deployment:gpt-4o-mini", "day", 2)):
            await ai.save_budget(me, {"scope": scope, "period": period, "limit": limit})
        for prompt in (  # the local model is not running: it fails once and cools down
            "Summarise this lead: Ada, RAV4 hybrid, wants a test drive on Saturday",
            "Classify: 'my check engine light is on again'",
        ):
            await ai.chat(me, ModelRequest.from_prompt(prompt, policy="cheap-first", cache=False))
        page = window.show_page("ai")
        await until(lambda: page.loaded and page.deployment_model.rowCount() == 4)
        page.tabs.setCurrentIndex(PLAYGROUND_TAB)
        playground = page.playground
        playground.choose_target("policy", "cheap-first")
        playground.system.setPlainText(
            "You are the service desk assistant of Riverside Toyota. Answer briefly and "
            "politely, and offer to book an appointment."
        )
        playground.prompt.setPlainText(
            "A customer asks: does my 2019 RAV4 need a service at 60,000 miles, and how long "
            "will it take?"
        )
        playground.send()
        await until(lambda: playground.response is not None)
        playground.decision_toggle.setChecked(True)
    await asyncio.sleep(0.5)


async def analysis(window: Any, charts: bool = False) -> None:
    """The Analysis page: a repair-order log mined into a map, checked against a model
    mined from a cleaner reference log (deviating paths dashed), a rework path clicked."""
    me = await sign_in(window)
    folder = Path(tempfile.mkdtemp())
    log = write_repair_orders(folder / "repair_orders.csv")
    reference = write_repair_orders(folder / "reference.csv", 60, clean=True)
    platform = window.bridge.platform
    model = folder / "reference.pnml"
    await platform.process_mining.export_model(
        me, await platform.process_mining.import_log(me, str(reference)), str(model)
    )
    page = window.show_page("analysis")
    analysed: list[bool] = []
    page.sig_analysed.connect(lambda: analysed.append(True))
    page.open_log(log)
    await until(lambda: analysed and page.busy is None, 60)
    checked: list[bool] = []
    page.sig_conformance.connect(lambda: checked.append(True))
    page.check_conformance(model)
    await until(lambda: checked, 60)
    page.map.view.fit()
    page.show_edge_cases("Quality check", "Repair")
    await until(lambda: page.edge_cases.list.count() > 0)
    if charts:
        page.map.time.setChecked(True)
        page.side.setCurrentWidget(page.dotted)
    await asyncio.sleep(0.5)


async def analysis_charts(window: Any) -> None:
    """The same map by mean time, and the dotted chart of the repair orders."""
    await analysis(window, charts=True)


async def analysis_filter(window: Any) -> None:
    """The repair orders narrowed to the cases that waited for parts, with the filter
    dialog open over the map of what is left."""
    await analysis(window)
    page = window.show_page("analysis")
    analysed: list[bool] = []
    page.sig_analysed.connect(lambda: analysed.append(True))
    parts = [{"kind": "directly_follows", "pairs": [["Order parts", "Parts received"]]}]
    page.apply_filters(parts)
    await until(lambda: analysed and page.busy is None, 60)
    page.map.view.fit()
    dialog = page.choose_filters()
    dialog.duration_box.setChecked(True)
    dialog.duration_min.setValue(48.0)
    dialog.duration_max.setValue(240.0)
    await asyncio.sleep(0.5)


async def datasets(window: Any) -> None:
    """The Analysis page's Data sets tab: a year of dealership repair orders opened from
    CSV, labour revenue pivoted by department and month, and its grouped bar chart."""
    await sign_in(window)
    frame = repair_orders_table()
    path = Path(tempfile.mkdtemp()) / "repair_orders_2024.csv"
    frame.to_csv(path, index=False)
    page = window.show_page("analysis")
    panel = page.datasets
    page.tabs.setCurrentWidget(panel)
    panel.open_dataset(path)
    await until(lambda: panel.frame is not None and not panel.busy)
    panel.tabs.setCurrentIndex(2)
    panel.set_group_by(["month"], column="department", values="labor_revenue", aggregate="sum")
    panel.run_group_by()
    await until(lambda: panel.result is not None and not panel.busy)
    await asyncio.sleep(0.5)


async def settings_api(window: Any) -> None:
    """Settings at the REST API: the server on, a key for the CRM, a few requests logged."""
    import socket

    import httpx

    await sign_in(window)
    page = window.show_page("settings")
    panel = page.api_panel
    port = window.settings.api_gateway_port
    with socket.socket() as probe:  # the default port, unless this machine uses it
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    panel.port_spin.setValue(port)
    panel.enabled_check.setChecked(True)
    await until(lambda: panel.controller.running and bool(panel.roles))
    dialog = panel.open_create_dialog()
    dialog.name.setText("crm-sync")
    dialog.expiry.setValue(90)
    dialog.submit()
    await until(lambda: panel.key_dialog is not None)
    key = panel.key_dialog.key_edit.text()
    panel.key_dialog.close()
    async with httpx.AsyncClient(base_url=panel.controller.url, timeout=10) as client:
        bearer = {"Authorization": f"Bearer {key}"}
        await client.get("/healthz")
        await client.get("/api/v1/openapi.json")
        await client.get("/api/v1/workflows", headers=bearer)
        await client.get("/api/v1/workflows", headers={"X-API-Key": key})
        await client.get("/api/v1/workflows")  # no credentials
        await client.post("/api/v1/workflows/create", json={"name": "x"}, headers=bearer)
    await until(lambda: panel.log_model.rowCount() >= 6)
    page.show_api_section()
    await asyncio.sleep(0.5)


def grab(name: str, window: Any = None) -> None:
    """The whole screen (window and any dialog over it) to docs/images/NAME.png; with the
    window given, without the alert pop-ups that would cover the picture."""
    from PySide6.QtGui import QGuiApplication

    if window is not None:
        hide_toasts(window)
    QGuiApplication.primaryScreen().grabWindow(0).save(str(IMAGES / f"{name}.png"))
    print(f"wrote {IMAGES / name}.png")


def hide_toasts(window: Any) -> None:
    from PySide6.QtWidgets import QWidget

    for widget in window.findChildren(QWidget):
        if type(widget).__name__ == "ToastWidget":
            widget.hide()


LEADS = [  # what the sales floor sends through the lead follow-up during the walkthrough
    ("L-1002", "Tom Weber", "tom@example.com", 35, "Please send me your newsletter."),
    ("L-1003", "Aylin Kaya", "aylin@example.com", 58, "What would my 2017 Golf be worth?"),
    ("L-1004", "Jon Berg", "jon@example.com", 81, "Can I see the Tiguan tomorrow at 10?"),
    ("L-1005", "Lea Roth", "lea@example.com", 22, "Do you open on Sundays?"),
    ("L-1006", "Sam Ortiz", "sam@example.com", 64, "What is your best price on the ID.4?"),
]


async def guide(window: Any) -> None:
    """The user guide's walkthrough, in one run of the application on a fresh data folder:
    welcome and first administrator, the samples, the lead follow-up in the editor and run,
    the Dashboard, the sample event log mined, and the audit trail of all of it."""
    await until(lambda: window.login_dialog is not None)
    welcome = window.login_dialog
    welcome.username.setText("maria")
    welcome.display_name.setText("Maria Lopez")
    welcome.password.setText(PASSWORD)
    welcome.confirm.setText(PASSWORD)
    await asyncio.sleep(0.3)
    grab("guide-welcome", window)
    welcome.submit()
    await until(lambda: window.session.signed_in and window.login_dialog is None, 60)
    report = welcome.report
    me = window.session.principal
    platform = window.bridge.platform

    page = window.show_page("workflows")
    await until(lambda: page.model.rowCount() == 4)
    page.select_workflow(report.workflows["lead_follow_up"])
    await asyncio.sleep(0.5)
    grab("guide-samples", window)

    page.open_editor(report.workflows["lead_follow_up"])
    panel = page.editor()
    await until(lambda: panel.editor.workflow_id == report.workflows["lead_follow_up"])
    panel.editor.view.fit_all()
    panel.editor.scene.select(["classify"])
    await asyncio.sleep(0.5)
    grab("guide-editor", window)

    panel.run()
    tracker = panel.editor.tracker
    await until(lambda: tracker.status is not None and tracker.status.get("status") == "succeeded")
    panel.editor.scene.select(["call"])
    await asyncio.sleep(0.5)
    grab("guide-run", window)

    dashboard = window.show_page("dashboard")
    workflow = report.workflows["lead_follow_up"]
    for lead_id, name, email, score, message in LEADS:
        lead = {"id": lead_id, "name": name, "email": email, "score": score, "message": message}
        run_id = await platform.engine.execute_workflow(me, workflow, {"lead": lead})
        await platform.engine.wait(run_id)
        await asyncio.sleep(0.2)
    await platform.performance.collect_metrics()
    dashboard.reload_kpis()
    await until(lambda: dashboard.kpis is not None and not dashboard.reload_kpis.busy)
    await asyncio.sleep(1.0)
    grab("guide-dashboard", window)

    analysis = window.show_page("analysis")
    analysed: list[bool] = []
    analysis.sig_analysed.connect(lambda: analysed.append(True))
    analysis.open_log(report.event_log)
    await until(lambda: analysed and analysis.busy is None, 90)
    analysis.map.view.fit()
    await asyncio.sleep(0.5)
    grab("guide-mining", window)

    audit = window.show_page("audit")
    audit.apply_filters()
    await until(lambda: audit.model is not None and audit.model.rowCount() > 10)
    audit.table.selectRow(0)
    await asyncio.sleep(0.5)
    grab("guide-audit", window)

    guide_window = window.show_guide()
    guide_window.resize(1100, 760)
    guide_window.move(120, 40)
    section = "Getting help"
    assert guide_window.show_section(section)
    guide_window.contents.setCurrentRow(guide_window.headings().index(section))
    await asyncio.sleep(0.5)  # laid out at its size, pictures fitted, the section on top
    grab("guide-help", window)
    guide_window.close()


SCENES: dict[str, Callable[[Any], Awaitable[None]]] = {
    "ai": ai,
    "alerts": alerts,
    "analysis": analysis,
    "analysis-charts": analysis_charts,
    "analysis-filter": analysis_filter,
    "dashboard": dashboard,
    "datasets": datasets,
    "editor": editor,
    "editor-approval": editor_approval,
    "guide": guide,
    "integrations": integrations,
    "integrations-wizard": integrations_wizard,
    "messages": messages,
    "messages-dead-letters": messages_dead_letters,
    "models": models,
    "settings-api": settings_api,
}


SELF_GRABBING = {"guide"}  # scenes that take several pictures themselves


def take(name: str) -> None:
    """One scene in this process: the application, the scenario, the grab."""

    from auterity_desktop.ui.app import run_gui

    def shown(window: Any) -> None:
        window.resize(1366, 850)
        window.move(0, 0)

        async def scene() -> None:
            try:
                await SCENES[name](window)
                if name not in SELF_GRABBING:
                    grab(name)
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
