"""The alert service on a real database with a hand-moved clock: default rules, the state
machine (pending → firing → resolved, re-armed), for-durations, absence, silences,
acknowledgements, alerts from model monitoring, notifications through a real SMTP server
and a real HTTP API, the guarded rule API and its audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.platform import Platform
from auterity_desktop.services.integrations.controller import IntegrationController
from auterity_desktop.services.monitoring.alerts import AlertService
from auterity_desktop.services.security.principal import Principal
from tests.fakes import FakeClock
from tests.services.conftest import Stack
from tests.services.integrations.api_server import Api, api_server
from tests.services.integrations.conftest import Inbox, closed_port

MEMORY = "auterity_system_memory_ratio"
CPU = "auterity_system_cpu_ratio"
DISK = "auterity_disk_usage_ratio"
RUNS = "auterity_runs_total"


@dataclass
class Alerting:
    service: AlertService
    metrics: MetricsCollector
    integrations: IntegrationController
    stack: Stack
    admin: Principal
    events: list[Event] = field(default_factory=list)

    @property
    def clock(self) -> FakeClock:
        return self.stack.clock

    async def step(self, seconds: float = 0.0, **gauges: float) -> Any:
        """Move the clock, record the named gauges (short names), evaluate."""
        self.clock.now += seconds
        names = {"memory": MEMORY, "cpu": CPU, "disk": DISK}
        for short, value in gauges.items():
            self.metrics.gauge(names.get(short, short), value)
        return await self.service.evaluate()

    async def rule(self, name: str) -> Any:
        rules = await self.service.list_rules(self.admin)
        return next(r for r in rules if r.name == name)

    async def open(self) -> list[Any]:
        return (await self.service.list_alerts(self.admin)).items

    async def past(self) -> list[Any]:
        return (await self.service.list_alerts(self.admin, state="resolved")).items

    def named(self, *names: str) -> list[Event]:
        return [e for e in self.events if e.name in names]

    async def audited(self, action: str) -> list[Any]:
        entries = (await self.stack.audit.page()).entries
        return [e for e in entries if e.action == action]


def build(stack: Stack, admin: Principal, **options: Any) -> Alerting:
    metrics = MetricsCollector(clock=stack.clock)
    integrations = IntegrationController(
        stack.database,
        stack.audit,
        stack.security.authz,
        SecretStore(),
        stack.events,
        MetricsCollector(),
        max_connections=4,
        health_interval=0,
    )
    options.setdefault("evaluation_interval", 0)
    service = AlertService(
        stack.database,
        stack.audit,
        stack.security.authz,
        stack.events,
        metrics,
        integrations,
        metrics,
        clock=stack.clock,
        **options,
    )
    alerting = Alerting(service, metrics, integrations, stack, admin)
    stack.events.subscribe("*", alerting.events.append)
    return alerting


@pytest.fixture
async def alerting(stack: Stack) -> AsyncIterator[Alerting]:
    built = build(stack, await stack.admin())
    await built.integrations.initialize()
    await built.service.initialize()
    built.service._mark_started(True)
    try:
        yield built
    finally:
        await built.service.cleanup()
        await built.integrations.cleanup()


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = closed_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def api() -> Iterator[Api]:
    with api_server() as server:
        yield server


async def only_rule(a: Alerting, name: str) -> Any:
    """Disable every rule but one (the defaults would fire for absent metrics)."""
    for rule in await a.service.list_rules(a.admin):
        if rule.name != name and rule.enabled:
            await a.service.set_rule_enabled(a.admin, rule.id, False)
    return await a.rule(name)


# -- default rules ---------------------------------------------------------------------------
async def test_default_rules_follow_the_settings_until_edited(stack: Stack) -> None:
    admin = await stack.admin()
    first = build(stack, admin, threshold=0.9, collection_interval=30)
    await first.service.initialize()
    rules = {r.builtin: r for r in await first.service.list_rules(admin)}
    assert set(rules) == {"system_memory", "system_cpu", "disk_usage", "failed_runs",
                          "metrics_absent"}  # fmt: skip
    memory = rules["system_memory"]
    assert memory.condition == f"{MEMORY} > 0.9 for 2 min" and memory.severity == "critical"
    assert rules["system_cpu"].condition == f"{CPU} > 0.9 for 5 min"
    assert rules["disk_usage"].condition == f"{DISK} > 0.9"
    assert (
        rules["failed_runs"].condition == f"rate of {RUNS}{{status=failed}} > 0.5/min over 10 min"
    )
    assert rules["metrics_absent"].condition == f"no {CPU} for 150 s"
    assert all(r.created_by == "system" and not r.customised for r in rules.values())
    # someone edits the CPU rule and deletes the disk rule
    await first.service.update_rule(admin, rules["system_cpu"].id, {"params": {"threshold": 0.8}})
    await first.service.delete_rule(admin, rules["disk_usage"].id)
    await first.service.cleanup()

    # the next start has other settings: untouched defaults follow, edited and deleted stay
    again = build(stack, admin, threshold=0.97, collection_interval=60)
    await again.service.initialize()
    rules = {r.builtin: r for r in await again.service.list_rules(admin)}
    assert "disk_usage" not in rules
    assert rules["system_memory"].spec.params["threshold"] == 0.97
    assert rules["system_cpu"].spec.params["threshold"] == 0.8 and rules["system_cpu"].customised
    assert rules["metrics_absent"].spec.params["seconds"] == 300
    await again.service.cleanup()


# -- the state machine -----------------------------------------------------------------------
async def test_pending_firing_resolved_and_rearmed(alerting: Alerting) -> None:
    a = alerting
    rule = await only_rule(a, "System memory almost full")
    start = a.clock.now
    report = await a.step(memory=0.97)
    (alert,) = await a.open()
    assert report.opened == [alert.id] and report.fired == []
    assert alert.state == "pending" and alert.value == 0.97 and alert.rule_id == rule.id
    assert alert.message == f"{MEMORY} is 0.97 (> 0.95)"
    assert a.named("alert_firing") == []

    report = await a.step(60, memory=0.98)
    (alert,) = await a.open()
    assert alert.state == "pending" and alert.value == 0.98 and report.fired == []
    report = await a.step(60, memory=0.99)  # 2 minutes since it became true
    (alert,) = await a.open()
    assert report.fired == [alert.id]
    assert alert.state == "firing" and alert.fired_at == start + 120
    (fired,) = a.named("alert_firing")
    assert fired.payload["alert_id"] == alert.id and fired.payload["severity"] == "critical"
    assert fired.payload["silenced"] is False and fired.source == "alerts"

    await a.step(15, memory=0.99)  # still true: nothing new
    assert len(a.named("alert_firing")) == 1
    report = await a.step(45, memory=0.60)
    assert report.resolved == [alert.id]
    assert await a.open() == []
    (past,) = await a.past()
    assert past.id == alert.id and past.state == "resolved" and past.resolved_at == start + 180
    assert [h["state"] for h in past.history] == ["pending", "firing", "resolved"]
    assert past.history[-1]["note"] == "the condition no longer holds"
    assert past.history[-1]["value"] == 0.6
    (resolved,) = a.named("alert_resolved")
    assert resolved.payload["alert_id"] == alert.id

    # re-armed: the next breach is a new alert; the old one stays in the history
    await a.step(60, memory=0.96)
    (again,) = await a.open()
    assert again.id != alert.id and again.state == "pending"
    assert [p.id for p in await a.past()] == [alert.id]


async def test_a_pending_alert_that_recovers_is_dropped(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "System CPU saturated")  # for 5 minutes
    await a.step(cpu=0.99)
    assert [x.state for x in await a.open()] == ["pending"]
    report = await a.step(240, cpu=0.99)
    assert report.fired == []
    report = await a.step(30, cpu=0.40)  # 4.5 min: recovered before the 5 min were up
    assert len(report.dropped) == 1
    assert await a.open() == [] and await a.past() == []
    assert a.named("alert_firing", "alert_resolved") == []
    # and the for-duration counts from the new breach, not the first one
    await a.step(30, cpu=0.99)
    await a.step(290, cpu=0.99)
    assert [x.state for x in await a.open()] == ["pending"]
    await a.step(10, cpu=0.99)
    assert [x.state for x in await a.open()] == ["firing"]


async def test_without_for_duration_it_fires_at_once_and_no_data_resolves(
    alerting: Alerting,
) -> None:
    a = alerting
    await only_rule(a, "Disk almost full")
    report = await a.step(disk=0.99)
    (alert,) = await a.open()
    assert alert.state == "firing" and report.opened == report.fired == [alert.id]
    assert [h["state"] for h in alert.history] == ["pending", "firing"]
    health = await a.service.health()
    assert health.detail == "1 alert firing" and health.data == {"firing": 1}
    assert a.metrics.value("auterity_alerts_firing") == 1
    # the collector stops: the latest sample goes stale (5 × the collection interval)
    await a.step(300)
    assert [x.state for x in await a.open()] == ["firing"]
    report = await a.step(1)
    assert report.resolved == [alert.id]
    (past,) = await a.past()
    assert past.history[-1]["note"] == "no recent data"


async def test_failed_runs_rate(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "Workflow runs failing")
    for _ in range(5):
        a.clock.now += 60
        a.metrics.increment(RUNS, labels={"status": "failed"})
        a.metrics.increment(RUNS, labels={"status": "succeeded"})
    assert (await a.step()).fired == []  # 5 in 10 minutes is not more than 5
    a.clock.now += 60
    a.metrics.increment(RUNS, labels={"status": "failed"})
    await a.step()
    (alert,) = await a.open()
    assert alert.state == "firing" and alert.labels == {"status": "failed"}
    assert alert.value == pytest.approx(0.6)
    await a.step(600)  # ten quiet minutes
    assert await a.open() == []


async def test_absence_of_metrics(alerting: Alerting) -> None:
    a = alerting
    rule = await only_rule(a, "No metrics collected")  # 5 × 60 s
    assert (await a.step(300)).opened == []  # watching for 300 s: not yet more than 300
    await a.step(1)
    (alert,) = await a.open()
    assert alert.state == "firing" and alert.message.startswith(f"No sample of {CPU} yet")
    await a.step(10, cpu=0.2)  # the collector is back
    assert await a.open() == []
    assert (await a.past())[0].rule_id == rule.id
    await a.step(299)
    assert await a.open() == []
    await a.step(2)
    (gone,) = await a.open()
    assert gone.message == f"Last sample of {CPU} 301 s ago"


async def test_a_broken_rule_does_not_stop_the_others(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "Disk almost full")
    real = a.metrics.history

    def history(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == DISK:
            raise RuntimeError("disk sensor exploded")
        return real(name, *args, **kwargs)

    a.service.source = type("Source", (), {})()
    a.service.source.history = history  # type: ignore[attr-defined]
    a.service.source.series_labels = a.metrics.series_labels  # type: ignore[attr-defined]
    a.service.source.kind = a.metrics.kind  # type: ignore[attr-defined]
    rule = await a.rule("System memory almost full")
    await a.service.set_rule_enabled(a.admin, rule.id, True)
    await a.service.update_rule(a.admin, rule.id, {"for_seconds": 0})
    report = await a.step(disk=0.99, memory=0.99)
    assert report.errors == {"Disk almost full": "RuntimeError: disk sensor exploded"}
    assert [x.name for x in await a.open()] == ["System memory almost full"]


# -- acknowledge and silence ------------------------------------------------------------------
async def test_acknowledge_records_who_when_and_why(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "Disk almost full")
    await a.step(disk=0.99)
    (alert,) = await a.open()
    a.clock.now += 30
    acked = await a.service.acknowledge(a.admin, alert.id, "  Clearing old exports  ")
    assert acked.acknowledged_by == "alice" and acked.acknowledged_at == a.clock.now
    assert acked.ack_note == "Clearing old exports" and acked.state == "firing"
    assert acked.history[-1] == {"state": "acknowledged", "at": a.clock.now, "by": "alice",
                                 "note": "Clearing old exports"}  # fmt: skip
    assert a.named("alert_acknowledged")[0].payload["alert_id"] == alert.id
    (entry,) = await a.audited("alert.acknowledged")
    assert entry.actor == "alice" and entry.resource == f"alerts/{alert.id}"
    with pytest.raises(ServiceError) as twice:
        await a.service.acknowledge(a.admin, alert.id)
    assert twice.value.code is ErrorCode.CONFLICT
    assert "alice acknowledged Disk almost full already" in twice.value.message
    await a.step(10, disk=0.5)
    with pytest.raises(ServiceError) as resolved:
        await a.service.acknowledge(a.admin, alert.id)
    assert resolved.value.code is ErrorCode.CONFLICT
    (past,) = await a.past()
    assert past.acknowledged_by == "alice"  # kept in the history


async def test_roles_decide_who_may_acknowledge_and_edit(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "Disk almost full")
    await a.step(disk=0.99)
    (alert,) = await a.open()
    viewer = await a.stack.user("vera", "viewer")
    assert [x.id for x in (await a.service.list_alerts(viewer)).items] == [alert.id]
    for attempt in (
        a.service.acknowledge(viewer, alert.id),
        a.service.silence(viewer, alert_id=alert.id, duration=60, reason="x"),
        a.service.create_rule(
            viewer, {"name": "x", "kind": "absence", "metric": "m", "params": {"seconds": 60}}
        ),
    ):
        with pytest.raises(ServiceError) as denied:
            await attempt
        assert denied.value.code is ErrorCode.UNAUTHORIZED
    analyst = await a.stack.user("ann", "analyst")
    await a.service.acknowledge(analyst, alert.id)
    with pytest.raises(ServiceError) as no_delete:
        await a.service.delete_rule(analyst, alert.rule_id)
    assert no_delete.value.code is ErrorCode.UNAUTHORIZED
    with pytest.raises(ServiceError) as anonymous:
        await a.service.list_rules(None)  # type: ignore[arg-type]
    assert anonymous.value.code is ErrorCode.UNAUTHENTICATED


async def test_silences_mute_notifications_not_states(
    alerting: Alerting, smtp: tuple[int, Inbox]
) -> None:
    a = alerting
    port, inbox = smtp
    await a.integrations.establish_connection(
        a.admin, {"name": "Ops mail", "kind": "email", "host": "127.0.0.1", "port": port,
                  "security": "none", "from_address": "alerts@dealer.example"},
    )  # fmt: skip
    rule = await only_rule(a, "Disk almost full")
    await a.service.update_rule(
        a.admin,
        rule.id,
        {"notify": {"integration": "Ops mail", "recipients": "ops@dealer.example"}},
    )
    silence = await a.service.silence(
        a.admin, rule_id=rule.id, duration=3600, reason="  Moving the archive disk  "
    )
    assert silence.target == "rule Disk almost full" and silence.ends_at == a.clock.now + 3600
    assert silence.reason == "Moving the archive disk"
    await a.step(disk=0.99)
    await a.service.drain()
    (alert,) = await a.open()
    assert alert.state == "firing" and alert.silenced_until == a.clock.now + 3600
    assert a.named("alert_firing")[0].payload["silenced"] is True
    assert inbox.messages == [] and alert.notifications == []
    assert [s.id for s in await a.service.list_silences(a.admin)] == [silence.id]
    (entry,) = await a.audited("alert.silenced")
    assert entry.details["reason"] == "Moving the archive disk"

    # lifted: the resolution is sent again
    lifted = await a.service.unsilence(a.admin, silence.id)
    assert lifted.cancelled_by == "alice" and await a.service.list_silences(a.admin) == []
    assert [s.id for s in await a.service.list_silences(a.admin, active=False)] == [silence.id]
    await a.step(10, disk=0.5)
    await a.service.drain()
    assert len(inbox.messages) == 1
    assert "Subject: [Auterity RESOLVED] Disk almost full" in inbox.messages[0].content.decode()

    # one alert silenced until a time; it runs out by itself
    await a.step(10, disk=0.99)
    (second,) = await a.open()
    until = a.clock.now + 120
    await a.service.silence(a.admin, alert_id=second.id, until=until, reason="known")
    assert (await a.service.get_alert(a.admin, second.id)).silence_reason == "known"
    assert (await a.service.get_alert(a.admin, second.id)).history[-1]["state"] == "silenced"
    a.clock.now += 121
    assert (await a.service.get_alert(a.admin, second.id)).silenced_until is None


@pytest.mark.parametrize(
    ("kwargs", "code", "text"),
    [
        ({"duration": 60, "reason": "x"}, ErrorCode.INVALID_INPUT, "Silence either a rule or"),
        ({"rule": True, "alert": True, "duration": 60, "reason": "x"}, ErrorCode.INVALID_INPUT,
         "Silence either a rule or"),
        ({"rule": True, "duration": 60, "reason": "  "}, ErrorCode.VALIDATION_ERROR,
         "Say why the alerts are silenced"),
        ({"rule": True, "reason": "x"}, ErrorCode.INVALID_INPUT, "Give either a duration or"),
        ({"rule": True, "duration": -5, "reason": "x"}, ErrorCode.VALIDATION_ERROR,
         "must end in the future"),
        ({"rule": True, "duration": 40 * 86400, "reason": "x"}, ErrorCode.VALIDATION_ERROR,
         "at most 30 d"),
        ({"rule_id": "nope", "duration": 60, "reason": "x"}, ErrorCode.NOT_FOUND,
         "There is no alert rule 'nope'"),
    ],
)  # fmt: skip
async def test_silence_validation(
    alerting: Alerting, kwargs: dict[str, Any], code: ErrorCode, text: str
) -> None:
    rule = await alerting.rule("Disk almost full")
    if kwargs.pop("rule", False):
        kwargs["rule_id"] = rule.id
    if kwargs.pop("alert", False):
        kwargs["alert_id"] = "some-alert"
    with pytest.raises(ServiceError) as info:
        await alerting.service.silence(alerting.admin, **kwargs)
    assert info.value.code is code and text in info.value.message


# -- alerts from model monitoring -------------------------------------------------------------
async def test_model_drift_and_degradation_become_alerts(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "Disk almost full")
    publish = a.stack.events.publish
    details = {"psi": 0.31, "feature": "credit_band"}
    publish(
        "model_drift_detected",
        {"model": "lead-scoring", "version": "3", "message": "PSI 0.31 on credit_band",
         "details": details},
    )  # fmt: skip
    await a.stack.events.drain()
    (drift,) = await a.open()
    assert drift.source == "model" and drift.rule_id is None and drift.state == "firing"
    assert drift.name == "Model drift: lead-scoring (3)" and drift.severity == "warning"
    assert drift.labels == {"model": "lead-scoring", "version": "3"}
    assert drift.details == {"psi": 0.31, "feature": "credit_band"}
    assert a.named("alert_firing")[0].payload["source"] == "model"
    # reported again while open: still one alert, with the latest message
    publish("model_drift_detected", {"model": "lead-scoring", "version": "3",
                                     "message": "PSI 0.35 on credit_band"})  # fmt: skip
    await a.stack.events.drain()
    (drift,) = await a.open()
    assert drift.message == "PSI 0.35 on credit_band" and len(a.named("alert_firing")) == 1
    # evaluations of rules leave it alone
    await a.step(60)
    assert [x.id for x in await a.open()] == [drift.id]

    publish("model_metric_degraded", {"model": "price-estimator", "version": None,
                                      "message": "MAE rose from 410 to 980"})  # fmt: skip
    await a.stack.events.drain()
    degraded = next(x for x in await a.open() if x.id != drift.id)
    assert degraded.name == "Model metric degraded: price-estimator"
    assert degraded.severity == "critical" and degraded.labels == {"model": "price-estimator"}
    assert (await a.open())[0].id == degraded.id  # most severe first

    publish("model_drift_cleared", {"model": "lead-scoring", "version": "2"})  # another version
    await a.stack.events.drain()
    assert len(await a.open()) == 2
    publish("model_drift_cleared", {"model": "lead-scoring", "version": "3"})
    await a.stack.events.drain()
    assert [x.id for x in await a.open()] == [degraded.id]
    (past,) = await a.past()
    assert past.id == drift.id and past.history[-1]["note"] == "the drift cleared"

    # acknowledging one resolves it
    acked = await a.service.acknowledge(a.admin, degraded.id, "retraining tonight")
    assert acked.state == "resolved" and acked.history[-1]["note"] == "acknowledged by alice"
    assert await a.open() == []
    # and so does the model's recovery
    publish("model_metric_degraded", {"model": "price-estimator", "message": "MAE 990"})
    await a.stack.events.drain()
    assert len(await a.open()) == 1
    a.clock.now += 60
    publish("model_metric_recovered", {"model": "price-estimator", "message": "back"})
    await a.stack.events.drain()
    assert await a.open() == []
    assert (await a.past())[0].history[-1]["note"] == "the metrics recovered"
    # nameless events are ignored
    publish("model_drift_detected", {"message": "who?"})
    await a.stack.events.drain()
    assert await a.open() == []


# -- notifications ---------------------------------------------------------------------------
async def test_firing_and_resolved_are_sent_by_email(
    alerting: Alerting, smtp: tuple[int, Inbox]
) -> None:
    a = alerting
    port, inbox = smtp
    await a.integrations.establish_connection(
        a.admin, {"name": "Ops mail", "kind": "email", "host": "127.0.0.1", "port": port,
                  "security": "none", "from_address": "Auterity <alerts@dealer.example>"},
    )  # fmt: skip
    rule = await only_rule(a, "System memory almost full")
    await a.service.update_rule(
        a.admin, rule.id,
        {"notify": {"integration": "Ops mail", "recipients": ["ops@dealer.example",
                                                                "it@dealer.example"]}},
    )  # fmt: skip
    await a.step(memory=0.97)
    await a.step(120, memory=0.97)
    await a.service.drain()
    (message,) = inbox.messages
    assert sorted(message.rcpt_tos) == ["it@dealer.example", "ops@dealer.example"]
    text = message.content.decode()
    assert "Subject: [Auterity FIRING] System memory almost full (critical)" in text
    assert f"{MEMORY} is 0.97 (> 0.95)" in text
    (alert,) = await a.open()
    (record,) = alert.notifications
    assert record["ok"] and record["event"] == "firing" and record["integration"] == "Ops mail"
    assert record["to"] == "ops@dealer.example, it@dealer.example"
    await a.step(60, memory=0.5)
    await a.service.drain()
    assert len(inbox.messages) == 2
    (past,) = await a.past()
    assert [n["event"] for n in past.notifications] == ["firing", "resolved"]
    assert a.metrics.value("auterity_alert_notifications_total", {"outcome": "sent"}) == 2


async def test_webhook_post_and_failures_are_recorded_not_raised(
    alerting: Alerting, api: Api
) -> None:
    a = alerting
    await a.integrations.establish_connection(
        a.admin, {"name": "Ops hook", "kind": "rest", "base_url": api.url}
    )
    dead = await a.integrations.establish_connection(
        a.admin, {"name": "Dead hook", "kind": "rest", "base_url": f"http://127.0.0.1:{closed_port()}",
                  "timeout": 2},
    )  # fmt: skip
    client = await a.integrations.client(dead.id)
    client.retry = type(client.retry)(max_attempts=1)
    disk = await only_rule(a, "Disk almost full")
    await a.service.update_rule(
        a.admin, disk.id, {"notify": {"integration": "Ops hook", "path": "/hooks/alerts"}}
    )
    memory = await a.rule("System memory almost full")
    await a.service.update_rule(
        a.admin, memory.id,
        {"enabled": True, "for_seconds": 0,
         "notify": {"integration": "Dead hook", "path": "/alerts"}},
    )  # fmt: skip
    report = await a.step(disk=0.99, memory=0.99)
    assert len(report.fired) == 2  # the evaluation itself does not wait for or fail on sending
    await a.service.drain()
    (posted,) = [s for s in api.seen if s["path"] == "/hooks/alerts"]
    assert posted["body"]["status"] == "firing"
    assert posted["body"]["alert"]["name"] == "Disk almost full"
    assert posted["body"]["alert"]["labels"] == {}
    alerts = {x.name: x for x in await a.open()}
    assert alerts["Disk almost full"].notifications[0]["ok"] is True
    failed = alerts["System memory almost full"].notifications[0]
    assert failed["ok"] is False and "127.0.0.1" in failed["error"]
    assert a.metrics.value("auterity_alert_notifications_total", {"outcome": "failed"}) == 1


# -- the rule API ----------------------------------------------------------------------------
async def test_rule_api_validates_audits_and_keeps_history(alerting: Alerting) -> None:
    a = alerting
    with pytest.raises(ServiceError) as bad:
        await a.service.create_rule(a.admin, {"name": "", "kind": "threshold", "metric": "m"})
    assert bad.value.code is ErrorCode.VALIDATION_ERROR
    assert {p["field"] for p in bad.value.details["problems"]} == {"name", "threshold"}
    with pytest.raises(ServiceError) as clash:
        await a.service.create_rule(
            a.admin,
            {"name": "Disk almost full", "kind": "absence", "metric": "m",
             "params": {"seconds": 60}},
        )  # fmt: skip
    assert clash.value.code is ErrorCode.CONFLICT
    with pytest.raises(ServiceError) as unknown:
        await a.service.create_rule(
            a.admin, {"name": "Q", "kind": "absence", "metric": "m", "params": {"seconds": 60},
                      "notify": {"integration": "Nope", "recipients": "a@b.c"}},
        )  # fmt: skip
    assert unknown.value.details["problems"] == [
        {"field": "integration", "message": "There is no integration 'Nope'"}
    ]

    created = await a.service.create_rule(
        a.admin,
        {"name": "Lead queue backlog", "kind": "threshold", "metric": "auterity_queue_depth",
         "labels": {"queue": "crm.leads"}, "params": {"comparator": ">=", "threshold": 500},
         "for_seconds": 60, "severity": "info", "description": "Leads wait too long"},
    )  # fmt: skip
    assert created.condition == "auterity_queue_depth{queue=crm.leads} >= 500 for 1 min"
    assert created.spec.labels == {"queue": "crm.leads"} and created.created_by == "alice"
    assert a.service.rule_warnings(created.spec)[0].startswith(
        "No sample of auterity_queue_depth has been recorded yet"
    )
    updated = await a.service.update_rule(a.admin, created.id, {"params": {"threshold": 800}})
    assert updated.spec.params == {"comparator": ">=", "threshold": 800.0}  # merged
    switched = await a.service.update_rule(
        a.admin, created.id, {"kind": "anomaly", "params": {"method": "mad"}}
    )
    assert switched.spec.params["method"] == "mad" and "comparator" not in switched.spec.params
    rules = [r.name for r in await a.service.list_rules(a.admin)]
    assert "Lead queue backlog" in rules and rules == sorted(rules)
    assert (await a.service.get_rule(a.admin, created.id)).kind == "anomaly"
    assert [e.details["name"] for e in await a.audited("alert_rule.created")] == [
        "Lead queue backlog"
    ]
    assert len(await a.audited("alert_rule.updated")) == 2
    assert a.named("alert_rules_changed")

    # disabling resolves what the rule had open; deleting keeps the history
    disk = await only_rule(a, "Disk almost full")
    await a.step(disk=0.99)
    assert len(await a.open()) == 1
    await a.service.set_rule_enabled(a.admin, disk.id, False)
    assert await a.open() == []
    assert (await a.past())[0].history[-1]["note"] == "the rule was disabled"
    assert (await a.audited("alert_rule.disabled"))[0].details["name"] == "Disk almost full"
    await a.service.set_rule_enabled(a.admin, disk.id, True)
    await a.step(10, disk=0.99)
    await a.service.delete_rule(a.admin, disk.id)
    assert await a.open() == []
    history = await a.past()
    assert [x.rule_id for x in history] == [None, None]
    assert history[0].history[-1]["note"] == "the rule was deleted"
    assert history[0].name == "Disk almost full"
    with pytest.raises(ServiceError) as gone:
        await a.service.get_rule(a.admin, disk.id)
    assert gone.value.code is ErrorCode.NOT_FOUND
    preview = await a.service.preview_rule(
        a.admin, {"name": "p", "kind": "threshold", "metric": DISK, "params": {"threshold": 0.9}}
    )
    assert [o.active for o in preview] == [True]


async def test_alert_lists_are_paged(alerting: Alerting) -> None:
    a = alerting
    await only_rule(a, "Disk almost full")
    for _ in range(5):
        await a.step(10, disk=0.99)
        await a.step(10, disk=0.10)
    page = await a.service.list_alerts(a.admin, state="resolved", offset=1, limit=2)
    assert page.total == 5 and len(page.items) == 2 and page.offset == 1
    everything = await a.service.list_alerts(a.admin, state=None, limit=10)
    assert [x.resolved_at for x in everything.items] == sorted(
        (x.resolved_at for x in everything.items), reverse=True
    )
    assert page.items == everything.items[1:3]
    for bad in ({"state": "lost"}, {"limit": 0}, {"offset": -1}):
        with pytest.raises(ServiceError) as info:
            await a.service.list_alerts(a.admin, **bad)
        assert info.value.code is ErrorCode.INVALID_INPUT


async def test_background_evaluation_runs_on_its_own(stack: Stack) -> None:
    a = build(stack, await stack.admin(), evaluation_interval=0.01)
    await a.service.initialize()
    try:
        await only_rule(a, "Disk almost full")
        a.metrics.gauge(DISK, 0.99)
        for _ in range(500):
            if await a.open():
                break
            await asyncio.sleep(0.01)
        assert [x.state for x in await a.open()] == ["firing"]
    finally:
        await a.service.cleanup()
    assert a.service._loop is None


async def test_the_platform_runs_alerts_only_with_background_work(data_dir: Any) -> None:
    async with Platform.from_environment(background=False) as platform:
        assert platform.alerts.evaluation_interval == 0 and platform.alerts._loop is None
        assert platform.alerts.source is platform.metrics
        assert platform.alerts.threshold == platform.settings.alert_threshold
        health = await platform.alerts.health()
        assert health.ok and health.detail == "quiet"


# -- the schema, on SQLite and PostgreSQL -----------------------------------------------------
def _differences(conn: Any) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from auterity_desktop.core.orm import Base
    from auterity_desktop.core.schema import import_all_models

    import_all_models()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "target_metadata": Base.metadata,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, Base.metadata)


async def test_migration_matches_the_models_and_alerts_work(any_database_url: str) -> None:
    from tests.services.conftest import build_stack, close_stack

    stack = await build_stack(any_database_url)
    try:
        async with stack.database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        assert [d for d in differences if "alert" in repr(d)] == []  # other tables: their tests
        a = build(stack, await stack.admin())
        await a.service.initialize()
        rule = await only_rule(a, "Disk almost full")
        await a.service.silence(a.admin, rule_id=rule.id, duration=60, reason="test")
        await a.step(disk=0.99)
        (alert,) = await a.open()
        assert alert.silenced and alert.history[0]["state"] == "pending"
        await a.step(10, disk=0.1)
        await a.service.delete_rule(a.admin, rule.id)  # silences go with it, alerts stay
        assert (await a.past())[0].rule_id is None
        assert await a.service.list_silences(a.admin, active=False) == []
        await a.service.cleanup()
    finally:
        await close_stack(stack)
