"""``AlertService``: alert rules over the metrics, alerts with a state machine, silences
and notifications.

Every ``evaluation_interval`` seconds (and whenever ``evaluate`` is called) each enabled
rule is decided on the samples of the metrics collector (see ``alert_rules``), one series
at a time. Per series the alert moves::

    (nothing) ──condition true──▶ pending ──true for ≥ for-duration──▶ firing
        ▲                            │                                   │
        └──────condition false───────┘                condition false / no data
                                                                         ▼
                                                                     resolved

A pending alert whose condition turns false before its for-duration is dropped; a resolved
one stays as history and the next time the condition holds a new alert starts (re-armed).
A rule that is disabled or deleted resolves its open alerts. Other services raise alerts
without rules through events: ``model_drift_detected`` and ``model_metric_degraded`` open a
firing alert per model (and version); ``model_drift_cleared`` (``model_metric_recovered``)
or an acknowledgement resolves it.

Each transition to firing or resolved is published (``alert_firing``, ``alert_resolved``;
the GUI makes toasts of them) and, when the rule names an integration, sent by e-mail or
POSTed to a REST API in the background. A failed notification is logged and recorded on
the alert; it never stops an evaluation. A silence (of a rule or of one alert, until a
time, with a reason) keeps the alert's states going but sends nothing. Acknowledging
records who, when and why.

Default rules are created on the first start and stay editable; until someone edits one,
it follows ``ALERT_THRESHOLD`` and ``METRICS_COLLECTION_INTERVAL`` at every start. Methods
that take ``actor`` first are the guarded API (permission resource ``analytics``); rule
changes, acknowledgements and silences are audited.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event, EventBus, Subscription
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.orm import AppMeta
from auterity_desktop.core.service import BaseService, Health, HealthState
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.monitoring.alert_info import (
    OPEN_STATES,
    SEVERITY_ORDER,
    Alert,
    AlertPage,
    AlertRule,
    EvaluationReport,
    Silence,
    alert_info,
    rule_info,
    rule_spec,
    silence_info,
)
from auterity_desktop.services.monitoring.alert_models import (
    AlertRow,
    AlertRuleRow,
    AlertSilenceRow,
)
from auterity_desktop.services.monitoring.alert_rules import (
    SEVERITIES,
    MetricSource,
    Outcome,
    RuleSpec,
    duration,
    evaluate_rule,
    validate_rule,
)
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

logger = logging.getLogger(__name__)

SEEDED_KEY = "alert_default_rules"
MAX_PAGE = 500
MAX_SILENCE = 30 * 86_400.0
MAX_NOTE = 2000
MODEL_EVENTS = ("model_drift_detected", "model_metric_degraded")
# Events that resolve what a model event raised: event → (kind of alert, why)
CLEARING_EVENTS = {
    "model_drift_cleared": ("drift", "the drift cleared"),
    "model_metric_recovered": ("degraded", "the metrics recovered"),
}
NOTIFIABLE = ("email", "rest", "dms")
EVALUATIONS = "auterity_alert_evaluations_total"
FIRING = "auterity_alerts_firing"
NOTIFICATIONS = "auterity_alert_notifications_total"
CONDITION_FIELDS = ("kind", "metric", "labels", "params", "for_seconds")


class Notifier(Protocol):
    """The part of the integration controller alerts use."""

    async def find(self, reference: str) -> Any: ...

    async def call(
        self,
        reference: str,
        kind: str | tuple[str, ...] | None,
        operation: Callable[[Any], Awaitable[Any]],
    ) -> Any: ...


def default_rules(threshold: float, interval: float) -> dict[str, RuleSpec]:
    """The rules every console starts with, keyed by their ``builtin`` key."""
    ratio = {"comparator": ">", "threshold": threshold}
    return {
        "system_memory": RuleSpec(
            "System memory almost full", "threshold", "auterity_system_memory_ratio",
            params=ratio, for_seconds=120, severity="critical",
            description="The computer's memory use stays above ALERT_THRESHOLD for 2 minutes.",
        ),
        "system_cpu": RuleSpec(
            "System CPU saturated", "threshold", "auterity_system_cpu_ratio",
            params=ratio, for_seconds=300, severity="warning",
            description="The computer's CPU use stays above ALERT_THRESHOLD for 5 minutes.",
        ),
        "disk_usage": RuleSpec(
            "Disk almost full", "threshold", "auterity_disk_usage_ratio",
            params=ratio, for_seconds=0, severity="critical",
            description="The disk holding the data folder is fuller than ALERT_THRESHOLD.",
        ),
        "failed_runs": RuleSpec(
            "Workflow runs failing", "rate", "auterity_runs_total", {"status": "failed"},
            params={"comparator": ">", "threshold": 0.5, "window": 600.0}, severity="warning",
            description="More than 5 workflow runs failed in the last 10 minutes.",
        ),
        "metrics_absent": RuleSpec(
            "No metrics collected", "absence", "auterity_system_cpu_ratio",
            params={"seconds": 5 * interval}, severity="warning",
            description="No resource sample for 5 collection intervals "
            "(METRICS_COLLECTION_INTERVAL): the collector has stopped.",
        ),
    }  # fmt: skip


def fingerprint(rule_id: str, labels: Mapping[str, str]) -> str:
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return f"rule:{rule_id}:{hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()}"


def _json_safe(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def _value(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _refuse(problems: Sequence[tuple[str, str]]) -> ServiceError:
    return ServiceError(
        ErrorCode.VALIDATION_ERROR,
        "; ".join(message for _, message in problems[:3]),
        {"problems": [{"field": f, "message": m} for f, m in problems]},
    )


class AlertService(BaseService):
    name = "alerts"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        events: EventBus | None,
        source: MetricSource,
        integrations: Notifier | None = None,
        metrics: MetricsCollector | None = None,
        *,
        threshold: float = 0.95,
        collection_interval: float = 60.0,
        evaluation_interval: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``source`` gives the samples (the platform's metrics collector);
        ``evaluation_interval`` 0 evaluates only when asked. A threshold rule treats a
        latest sample older than five collection intervals as no data."""
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.events = events
        self.source = source
        self.integrations = integrations
        self.metrics = metrics
        self.threshold = threshold
        self.collection_interval = collection_interval
        self.evaluation_interval = evaluation_interval
        self.stale_after = 5 * collection_interval
        self.clock = clock
        self.watching_since = clock()
        self.last_evaluation: EvaluationReport | None = None
        self.firing = 0  # alerts firing, recounted after every change
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None
        self._notifying: set[asyncio.Task[None]] = set()
        self._subscriptions: list[Subscription] = []
        if metrics is not None:
            metrics.describe(EVALUATIONS, MetricKind.COUNTER, "Evaluations of the alert rules")
            metrics.describe(FIRING, MetricKind.GAUGE, "Alerts firing now")
            metrics.describe(NOTIFICATIONS, MetricKind.COUNTER, "Alert notifications, by outcome")

    # -- lifecycle ------------------------------------------------------------------------
    async def initialize(self) -> None:
        self.watching_since = self.clock()
        await self._seed_defaults()
        await self._count_firing()
        if self.events is not None:
            for name in MODEL_EVENTS:
                self._subscriptions.append(self.events.subscribe(name, self._on_model_event))
            for name in CLEARING_EVENTS:
                self._subscriptions.append(self.events.subscribe(name, self._on_cleared))
        if self.evaluation_interval > 0:
            self._loop = asyncio.create_task(self._evaluate_forever())

    async def cleanup(self) -> None:
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions.clear()
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        await self.drain(grace=5.0)

    async def drain(self, grace: float | None = None) -> None:
        """Wait for notifications still being sent (cancelled after ``grace`` seconds)."""
        while self._notifying:
            tasks = list(self._notifying)
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                self._notifying.difference_update(pending)

    async def health(self) -> Health:
        """Firing alerts as counted after the last change (no database round trip: the
        status bar and the dashboard ask often)."""
        if not self.started:
            return await super().health()
        firing = self.firing
        detail = f"{firing} alert{'' if firing == 1 else 's'} firing" if firing else "quiet"
        return Health(HealthState.OK, detail, {"firing": firing})

    async def _evaluate_forever(self) -> None:
        while True:
            await asyncio.sleep(self.evaluation_interval)
            try:
                await self.evaluate()
            except Exception:  # the next round may work; the log says why this one did not
                logger.exception("alert evaluation failed")

    async def _seed_defaults(self) -> None:
        specs = default_rules(self.threshold, self.collection_interval)
        now = self.clock()
        try:
            async with self.database.session() as db:
                seeded = await db.get(AppMeta, SEEDED_KEY) is not None
                existing = {
                    row.builtin: row
                    for row in (
                        await db.execute(
                            select(AlertRuleRow).where(AlertRuleRow.builtin.is_not(None))
                        )
                    ).scalars()
                }
                names = set((await db.execute(select(AlertRuleRow.name))).scalars())
                for key, spec in specs.items():
                    row = existing.get(key)
                    if row is None and not seeded and spec.name not in names:
                        db.add(self._new_rule_row(spec, "system", now, builtin=key))
                    elif row is not None and not row.customised and row.params != spec.params:
                        row.params = dict(spec.params)  # the settings changed since
                if not seeded:
                    db.add(AppMeta(key=SEEDED_KEY, value="1", updated_at=datetime.now(UTC)))
        except IntegrityError:  # another console seeded them at the same moment
            logger.info("default alert rules were created by another process")

    @staticmethod
    def _new_rule_row(
        spec: RuleSpec, actor: str, now: float, builtin: str | None = None
    ) -> AlertRuleRow:
        return AlertRuleRow(
            id=uuid.uuid4().hex,
            name=spec.name,
            description=spec.description,
            kind=spec.kind,
            metric=spec.metric,
            labels=dict(spec.labels),
            params=dict(spec.params),
            for_seconds=spec.for_seconds,
            severity=spec.severity,
            enabled=spec.enabled,
            notify=dict(spec.notify) if spec.notify else None,
            builtin=builtin,
            customised=False,
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
        )

    # -- evaluation -----------------------------------------------------------------------
    async def evaluate(self, now: float | None = None) -> EvaluationReport:
        """Decide every enabled rule at ``now`` (default: the clock) and move its alerts."""
        now = self.clock() if now is None else float(now)
        async with self._lock:
            report, changes = await self._evaluate(now)
        self.last_evaluation = report
        if self.metrics is not None:
            self.metrics.increment(EVALUATIONS)
        self._announce(changes, changed=report.changed)
        await self._count_firing()  # also picks up other consoles' changes
        return report

    async def _evaluate(self, now: float) -> tuple[EvaluationReport, list[_Change]]:
        report = EvaluationReport(at=now, rules=0)
        changes: list[_Change] = []
        async with self.database.session() as db:
            rules = {r.id: r for r in (await db.execute(select(AlertRuleRow))).scalars()}
            open_rows = list(
                (
                    await db.execute(
                        select(AlertRow).where(
                            AlertRow.state.in_(OPEN_STATES), AlertRow.source == "rule"
                        )
                    )
                ).scalars()
            )
            silenced = await self._silences(db, now)
            by_fingerprint = {row.fingerprint: row for row in open_rows}
            seen: set[str] = set()
            for rule in rules.values():
                if not rule.enabled:
                    continue
                report.rules += 1
                spec = rule_spec(rule)
                try:
                    outcomes = evaluate_rule(
                        spec,
                        self.source,
                        now,
                        stale_after=self.stale_after,
                        watching_since=self.watching_since,
                    )
                except Exception as exc:  # a broken rule must not stop the others
                    logger.exception("alert rule could not be evaluated", extra={"rule": rule.name})
                    report.errors[rule.name] = f"{type(exc).__name__}: {exc}"
                    seen.update(r.fingerprint for r in open_rows if r.rule_id == rule.id)
                    continue
                for outcome in outcomes:
                    key = fingerprint(rule.id, outcome.labels)
                    seen.add(key)
                    row = by_fingerprint.get(key)
                    if outcome.active:
                        if row is None:
                            row = self._open(rule, key, outcome, now)
                            db.add(row)
                            by_fingerprint[key] = row
                            report.opened.append(row.id)
                        if row.state == "pending" and now - row.started_at >= spec.for_seconds:
                            self._fire(row, outcome, now)
                            report.fired.append(row.id)
                            changes.append(_Change("alert_firing", row, rule, silenced))
                        else:
                            _update_value(row, outcome, now)
                    elif row is not None:
                        why = "the condition no longer holds"
                        changes += await self._close(
                            db, row, rule, silenced, report, now, outcome.value, why
                        )
            for row in open_rows:
                if row.fingerprint in seen:
                    continue
                owner = rules.get(row.rule_id or "")
                why = (
                    "the rule was deleted" if owner is None
                    else "the rule was disabled" if not owner.enabled
                    else "no recent data"
                )  # fmt: skip
                changes += await self._close(db, row, owner, silenced, report, now, None, why)
        return report, changes

    @staticmethod
    def _open(rule: AlertRuleRow, key: str, outcome: Outcome, now: float) -> AlertRow:
        value = _value(outcome.value)
        return AlertRow(
            id=uuid.uuid4().hex,
            rule_id=rule.id,
            fingerprint=key,
            source="rule",
            name=rule.name,
            severity=rule.severity,
            labels=dict(outcome.labels),
            state="pending",
            value=value,
            message=outcome.message,
            details=None,
            started_at=now,
            fired_at=None,
            resolved_at=None,
            updated_at=now,
            history=[{"state": "pending", "at": now, "value": value}],
            notifications=[],
        )

    @staticmethod
    def _fire(row: AlertRow, outcome: Outcome, now: float) -> None:
        row.state = "firing"
        row.fired_at = now
        row.value = _value(outcome.value)
        row.message = outcome.message
        row.updated_at = now
        row.history = [*row.history, {"state": "firing", "at": now, "value": row.value}]

    async def _close(
        self,
        db: Any,
        row: AlertRow,
        rule: AlertRuleRow | None,
        silenced: _Silences,
        report: EvaluationReport,
        now: float,
        value: float | None,
        why: str,
    ) -> list[_Change]:
        if row.state == "pending":  # never fired: not worth keeping
            report.dropped.append(row.id)
            await db.delete(row)
            return []
        _resolve(row, now, value, why)
        report.resolved.append(row.id)
        return [_Change("alert_resolved", row, rule, silenced)]

    async def _silences(self, db: Any, now: float) -> _Silences:
        rows = (
            await db.execute(
                select(AlertSilenceRow).where(
                    AlertSilenceRow.cancelled_at.is_(None),
                    AlertSilenceRow.starts_at <= now,
                    AlertSilenceRow.ends_at > now,
                )
            )
        ).scalars()
        return _Silences(list(rows))

    def _announce(self, changes: list[_Change], *, changed: bool = True) -> None:
        """Publish what changed and send the notifications, after the commit."""
        for change in changes:
            silence = change.silences.of(change.alert)
            alert = alert_info(change.alert, silence)
            self._publish(change.event, _payload(alert))
            notify = change.rule.notify if change.rule is not None else None
            if notify and silence is None and self.integrations is not None:
                self._spawn(self._notify(alert, dict(notify), change.event))
        if changed or changes:
            self._publish("alerts_changed", {})

    def _publish(self, name: str, payload: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(name, payload, source="alerts")

    async def _count_firing(self) -> None:
        async with self.database.session() as db:
            firing = await db.scalar(
                select(func.count()).select_from(AlertRow).where(AlertRow.state == "firing")
            )
        self.firing = int(firing or 0)
        if self.metrics is not None:
            self.metrics.gauge(FIRING, float(self.firing))

    # -- notifications --------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    async def _notify(self, alert: Alert, notify: dict[str, Any], event: str) -> None:
        reference = str(notify.get("integration") or "")
        record: dict[str, Any] = {
            "at": self.clock(),
            "event": "firing" if event == "alert_firing" else "resolved",
            "integration": reference,
            "ok": True,
            "error": None,
        }
        try:
            record["to"] = await self._send(alert, notify, reference)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a notification never breaks the alerting itself
            record["ok"] = False
            record["error"] = exc.message if isinstance(exc, ServiceError) else (
                f"{type(exc).__name__}: {exc}"
            )  # fmt: skip
            logger.warning(
                "alert notification failed",
                extra={"alert": alert.id, "integration": reference, "error": record["error"]},
            )
        if self.metrics is not None:
            self.metrics.increment(NOTIFICATIONS, labels={"outcome": "sent" if record["ok"]
                                                          else "failed"})  # fmt: skip
        async with self._lock, self.database.session() as db:
            row = await db.get(AlertRow, alert.id)
            if row is not None:
                row.notifications = [*row.notifications, record]
        self._publish("alerts_changed", {"alert_id": alert.id})

    async def _send(self, alert: Alert, notify: dict[str, Any], reference: str) -> str:
        assert self.integrations is not None
        info = await self.integrations.find(reference)
        firing = alert.state == "firing"
        status = "FIRING" if firing else "RESOLVED"
        if info.kind == "email":
            recipients = list(notify.get("recipients") or [])
            if not recipients:
                raise ServiceError(
                    ErrorCode.VALIDATION_ERROR,
                    f"The rule sends to the e-mail integration {info.name} but names no recipient",
                    {"integration": info.name},
                )
            subject = f"[Auterity {status}] {alert.name} ({alert.severity})"
            await self.integrations.call(
                info.id, "email", lambda client: client.send(recipients, subject, _body(alert))
            )
            return ", ".join(recipients)
        if info.kind in ("rest", "dms"):
            path = str(notify.get("path") or "/")
            body = {"status": status.lower(), "alert": alert.to_dict()}
            response = await self.integrations.call(
                info.id,
                ("rest", "dms"),
                lambda client: client.request("POST", path, json_body=body),
            )
            if getattr(response, "status", 200) >= 400:
                raise ServiceError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    f"{info.name} answered {response.status} to POST {path}",
                    {"integration": info.name, "status": response.status},
                )
            return f"POST {path}"
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"{info.name} cannot send alerts: use an e-mail or REST integration",
            {"integration": info.name, "kind": info.kind},
        )

    async def _check_notify(self, notify: Mapping[str, Any] | None) -> list[tuple[str, str]]:
        if not notify:
            return []
        if self.integrations is None:
            return [("integration", "Notifications through integrations are not available")]
        reference = str(notify.get("integration"))
        try:
            info = await self.integrations.find(reference)
        except ServiceError:
            return [("integration", f"There is no integration {reference!r}")]
        if info.kind not in NOTIFIABLE:
            return [("integration", f"{info.name} cannot send alerts: use e-mail or a REST API")]
        if info.kind == "email" and not notify.get("recipients"):
            return [("recipients", "Name at least one recipient for the e-mail")]
        return []

    # -- alerts from other services -------------------------------------------------------
    async def _on_model_event(self, event: Event) -> None:
        payload = event.payload
        model = str(payload.get("model") or "").strip()
        if not model:
            logger.warning("model event without a model", extra={"event": event.name})
            return
        version = str(payload.get("version") or "").strip()
        drift = event.name == "model_drift_detected"
        key = f"model:{'drift' if drift else 'degraded'}:{model}:{version}"
        title = "Model drift" if drift else "Model metric degraded"
        name = f"{title}: {model}" + (f" ({version})" if version else "")
        message = str(payload.get("message") or f"{title} reported for {model}")
        severity = payload.get("severity")
        if severity not in SEVERITIES:
            severity = "warning" if drift else "critical"
        details = _json_safe(payload.get("details")) if payload.get("details") else None
        now = self.clock()
        async with self._lock, self.database.session() as db:
            row = (
                await db.execute(
                    select(AlertRow).where(
                        AlertRow.fingerprint == key, AlertRow.state.in_(OPEN_STATES)
                    )
                )
            ).scalar_one_or_none()
            if row is not None:  # reported again while open: keep one alert, up to date
                row.message, row.details, row.updated_at = message, details, now
                changes: list[_Change] = []
            else:
                labels = {"model": model, **({"version": version} if version else {})}
                row = AlertRow(
                    id=uuid.uuid4().hex, rule_id=None, fingerprint=key, source="model",
                    name=name[:200], severity=severity, labels=labels, state="firing",
                    value=None, message=message, details=details, started_at=now,
                    fired_at=now, resolved_at=None, updated_at=now,
                    history=[{"state": "firing", "at": now, "note": event.name}],
                    notifications=[],
                )  # fmt: skip
                db.add(row)
                await db.flush()
                changes = [_Change("alert_firing", row, None, await self._silences(db, now))]
        self._announce(changes)
        await self._count_firing()

    async def _on_cleared(self, event: Event) -> None:
        model = str(event.payload.get("model") or "").strip()
        version = str(event.payload.get("version") or "").strip()
        if not model:
            return
        kind, why = CLEARING_EVENTS[event.name]
        now = self.clock()
        async with self._lock, self.database.session() as db:
            rows = (
                await db.execute(
                    select(AlertRow).where(
                        AlertRow.fingerprint.startswith(f"model:{kind}:{model}:", autoescape=True),
                        AlertRow.state.in_(OPEN_STATES),
                    )
                )
            ).scalars()
            silenced = await self._silences(db, now)
            changes = []
            for row in rows:
                if version and row.labels.get("version") not in (None, version):
                    continue
                _resolve(row, now, None, why)
                changes.append(_Change("alert_resolved", row, None, silenced))
        if changes:
            self._announce(changes)
            await self._count_firing()

    # -- rules ----------------------------------------------------------------------------
    def check_rule(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Every problem of a rule form, as ``(field, message)``, for inline validation."""
        return validate_rule(data)[1]

    def rule_warnings(self, spec: RuleSpec) -> list[str]:
        """What may surprise: a metric nobody has recorded, a rate of a gauge."""
        warnings = []
        if not self.source.series_labels(spec.metric):
            warnings.append(
                f"No sample of {spec.metric} has been recorded yet; the rule stays quiet "
                "until there is one"
                + (" (and counts its absence)" if spec.kind == "absence" else "")
            )
        return warnings

    def metric_names(self) -> list[str]:
        names = getattr(self.source, "names", None)
        known = set(names()) if callable(names) else set()
        for spec in default_rules(self.threshold, self.collection_interval).values():
            known.add(spec.metric)
        return sorted(known)

    @guarded("analytics", "read")
    async def list_rules(self, actor: Principal) -> list[AlertRule]:
        async with self.database.session() as db:
            rows = (await db.execute(select(AlertRuleRow).order_by(AlertRuleRow.name))).scalars()
            return [rule_info(r) for r in rows]

    @guarded("analytics", "read")
    async def get_rule(self, actor: Principal, rule_id: str) -> AlertRule:
        async with self.database.session() as db:
            return rule_info(await self._rule(db, rule_id))

    async def _rule(self, db: Any, rule_id: Any) -> AlertRuleRow:
        row = await db.get(AlertRuleRow, rule_id) if isinstance(rule_id, str) else None
        if row is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"There is no alert rule {rule_id!r}", {"rule_id": rule_id}
            )
        return row  # type: ignore[no-any-return]

    async def _unique(self, db: Any, name: str, own_id: str | None = None) -> None:
        clash = await db.scalar(select(AlertRuleRow.id).where(AlertRuleRow.name == name))
        if clash is not None and clash != own_id:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"An alert rule called {name!r} exists already",
                {"field": "name", "name": name},
            )

    async def _validated(self, data: Mapping[str, Any]) -> RuleSpec:
        spec, problems = validate_rule(data)
        if spec is not None:
            problems = await self._check_notify(spec.notify)
        if problems or spec is None:
            raise _refuse(problems)
        return spec

    @guarded("analytics", "write")
    async def create_rule(self, actor: Principal, data: Mapping[str, Any]) -> AlertRule:
        spec = await self._validated(data)
        now = self.clock()
        async with self.database.session() as db:
            await self._unique(db, spec.name)
            row = self._new_rule_row(spec, actor.username, now)
            db.add(row)
            info = rule_info(row)
        await self.audit.record(
            actor.username, "alert_rule.created", f"alert_rules/{info.id}", "success",
            {"name": spec.name, "condition": info.condition, "severity": spec.severity},
        )  # fmt: skip
        self._publish("alert_rules_changed", {"rule_id": info.id})
        return info

    @guarded("analytics", "write")
    async def update_rule(
        self, actor: Principal, rule_id: str, changes: Mapping[str, Any]
    ) -> AlertRule:
        """Change some fields; ``params`` given for the same kind are merged."""
        if not isinstance(changes, Mapping):
            raise ServiceError(ErrorCode.INVALID_INPUT, "The changes must be an object", {})
        return await self._update(actor, rule_id, changes)

    @guarded("analytics", "write")
    async def set_rule_enabled(self, actor: Principal, rule_id: str, enabled: bool) -> AlertRule:
        if not isinstance(enabled, bool):
            raise ServiceError(ErrorCode.INVALID_INPUT, "Enabled must be true or false", {})
        return await self._update(actor, rule_id, {"enabled": enabled})

    async def _update(
        self, actor: Principal, rule_id: str, changes: Mapping[str, Any]
    ) -> AlertRule:
        now = self.clock()
        async with self._lock, self.database.session() as db:
            row = await self._rule(db, rule_id)
            current = rule_spec(row).to_dict()
            merged = {**current, **{k: v for k, v in changes.items() if k in current}}
            if isinstance(changes.get("params"), Mapping) and merged["kind"] == row.kind:
                merged["params"] = {**current["params"], **changes["params"]}
            elif merged["kind"] != row.kind and "params" not in changes:
                merged["params"] = {}
            spec = await self._validated(merged)
            await self._unique(db, spec.name, row.id)
            new = spec.to_dict()
            changed = sorted(k for k in new if new[k] != current[k])
            if not changed:
                return rule_info(row)
            for key in changed:  # the spec's fields are the row's columns
                setattr(row, key, new[key])
            if set(changed) & set(CONDITION_FIELDS):
                row.customised = True
            row.updated_by, row.updated_at = actor.username, now
            closes: list[_Change] = []
            if not spec.enabled:
                closes = await self._close_rule(db, row, now, "the rule was disabled")
            info = rule_info(row)
        action = "alert_rule.updated"
        if changed == ["enabled"]:
            action = "alert_rule.enabled" if spec.enabled else "alert_rule.disabled"
        await self.audit.record(
            actor.username, action, f"alert_rules/{rule_id}", "success",
            {"name": spec.name, "fields": changed, "condition": info.condition},
        )  # fmt: skip
        self._publish("alert_rules_changed", {"rule_id": rule_id})
        self._announce(closes, changed=bool(closes))
        if closes:
            await self._count_firing()
        return info

    async def _close_rule(
        self, db: Any, rule: AlertRuleRow | None, now: float, why: str, rule_id: str = ""
    ) -> list[_Change]:
        rows = (
            await db.execute(
                select(AlertRow).where(
                    AlertRow.rule_id == (rule.id if rule is not None else rule_id),
                    AlertRow.state.in_(OPEN_STATES),
                )
            )
        ).scalars()
        silenced = await self._silences(db, now)
        changes = []
        for row in rows:
            if row.state == "pending":
                await db.delete(row)
                continue
            _resolve(row, now, None, why)
            changes.append(_Change("alert_resolved", row, rule, silenced))
        return changes

    @guarded("analytics", "delete")
    async def delete_rule(self, actor: Principal, rule_id: str) -> None:
        """Delete a rule; its open alerts resolve, its past alerts stay in the history."""
        now = self.clock()
        async with self._lock, self.database.session() as db:
            row = await self._rule(db, rule_id)
            name = row.name
            closes = await self._close_rule(db, row, now, "the rule was deleted")
            for change in closes:
                change.rule = None  # no notification for a rule that is going away
            await db.flush()
            await db.delete(row)
        await self.audit.record(
            actor.username, "alert_rule.deleted", f"alert_rules/{rule_id}", "success",
            {"name": name},
        )  # fmt: skip
        self._publish("alert_rules_changed", {"rule_id": rule_id})
        self._announce(closes, changed=bool(closes))
        if closes:
            await self._count_firing()

    @guarded("analytics", "read")
    async def preview_rule(self, actor: Principal, data: Mapping[str, Any]) -> list[Outcome]:
        """What the rule would say about the current samples (for the editor)."""
        spec, problems = validate_rule(data)
        if spec is None:
            raise _refuse(problems)
        return evaluate_rule(
            spec,
            self.source,
            self.clock(),
            stale_after=self.stale_after,
            watching_since=self.watching_since,
        )

    @guarded("analytics", "execute")
    async def evaluate_now(self, actor: Principal) -> EvaluationReport:
        return await self.evaluate()

    # -- alerts ---------------------------------------------------------------------------
    @guarded("analytics", "read")
    async def list_alerts(
        self,
        actor: Principal,
        *,
        state: str | None = "open",
        rule_id: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> AlertPage:
        """``state``: ``open`` (pending and firing; firing first, most severe first),
        ``pending``, ``firing``, ``resolved`` (newest first) or None (all, newest first)."""
        if state not in (None, "open", "pending", "firing", "resolved"):
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                f"There is no alert state {state!r}",
                {"states": ["open", "pending", "firing", "resolved"]},
            )
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ServiceError(ErrorCode.INVALID_INPUT, "The offset must be 0 or more", {})
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise ServiceError(ErrorCode.INVALID_INPUT, f"The limit must be 1 to {MAX_PAGE}", {})
        query = select(AlertRow)
        if state == "open":
            query = query.where(AlertRow.state.in_(OPEN_STATES))
        elif state is not None:
            query = query.where(AlertRow.state == state)
        if rule_id is not None:
            query = query.where(AlertRow.rule_id == rule_id)
        now = self.clock()
        async with self.database.session() as db:
            total = await db.scalar(select(func.count()).select_from(query.subquery()))
            if state == "resolved":
                query = query.order_by(AlertRow.resolved_at.desc(), AlertRow.id)
            else:
                query = query.order_by(AlertRow.started_at.desc(), AlertRow.id)
            if state == "open":
                rows = list((await db.execute(query)).scalars())
                rows.sort(key=lambda r: (r.state != "firing", SEVERITY_ORDER.get(r.severity, 9)))
                rows = rows[offset : offset + limit]
            else:
                rows = list((await db.execute(query.offset(offset).limit(limit))).scalars())
            silenced = await self._silences(db, now)
            items = [alert_info(r, silenced.of(r)) for r in rows]
        return AlertPage(items, int(total or 0), offset, limit)

    @guarded("analytics", "read")
    async def get_alert(self, actor: Principal, alert_id: str) -> Alert:
        async with self.database.session() as db:
            row = await self._alert(db, alert_id)
            return alert_info(row, (await self._silences(db, self.clock())).of(row))

    async def _alert(self, db: Any, alert_id: Any) -> AlertRow:
        row = await db.get(AlertRow, alert_id) if isinstance(alert_id, str) else None
        if row is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"There is no alert {alert_id!r}", {"alert_id": alert_id}
            )
        return row  # type: ignore[no-any-return]

    @guarded("analytics", "write")
    async def acknowledge(self, actor: Principal, alert_id: str, note: str = "") -> Alert:
        """Say someone is on it. An alert from another service (no rule) is resolved by it."""
        note = _note(note, "note")
        now = self.clock()
        async with self._lock, self.database.session() as db:
            row = await self._alert(db, alert_id)
            if row.state not in OPEN_STATES:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    f"{row.name} is resolved already",
                    {"alert_id": alert_id, "state": row.state},
                )
            if row.acknowledged_at is not None:
                raise ServiceError(
                    ErrorCode.CONFLICT,
                    f"{row.acknowledged_by} acknowledged {row.name} already",
                    {"alert_id": alert_id, "acknowledged_by": row.acknowledged_by},
                )
            row.acknowledged_by, row.acknowledged_at = actor.username, now
            row.ack_note = note or None
            row.updated_at = now
            entry = {"state": "acknowledged", "at": now, "by": actor.username}
            row.history = [*row.history, {**entry, **({"note": note} if note else {})}]
            changes: list[_Change] = []
            if row.source != "rule":
                _resolve(row, now, None, f"acknowledged by {actor.username}")
                changes.append(_Change("alert_resolved", row, None, _Silences([])))
            silence = (await self._silences(db, now)).of(row)
            info = alert_info(row, silence)
        await self.audit.record(
            actor.username, "alert.acknowledged", f"alerts/{alert_id}", "success",
            {"name": info.name, "note": note, "state": info.state},
        )  # fmt: skip
        self._publish("alert_acknowledged", _payload(info))
        self._announce(changes)
        if changes:
            await self._count_firing()
        return info

    # -- silences -------------------------------------------------------------------------
    @guarded("analytics", "write")
    async def silence(
        self,
        actor: Principal,
        *,
        rule_id: str | None = None,
        alert_id: str | None = None,
        duration: float | None = None,
        until: float | None = None,
        reason: str = "",
    ) -> Silence:
        """Mute the notifications of a rule or of one alert for ``duration`` seconds (or
        until a time). The alerts still change state and show as silenced."""
        if (rule_id is None) == (alert_id is None):
            raise ServiceError(ErrorCode.INVALID_INPUT, "Silence either a rule or an alert", {})
        reason = _note(reason, "reason")
        if not reason:
            raise ServiceError(
                ErrorCode.VALIDATION_ERROR,
                "Say why the alerts are silenced",
                {"problems": [{"field": "reason", "message": "Give a reason"}]},
            )
        now = self.clock()
        ends = _silence_end(now, duration, until)
        async with self._lock, self.database.session() as db:
            if rule_id is not None:
                target = f"rule {(await self._rule(db, rule_id)).name}"
            else:
                alert = await self._alert(db, alert_id)
                if alert.state not in OPEN_STATES:
                    raise ServiceError(
                        ErrorCode.CONFLICT,
                        f"{alert.name} is resolved already",
                        {"alert_id": alert_id},
                    )
                target = f"alert {alert.name}"
                alert.history = [
                    *alert.history,
                    {"state": "silenced", "at": now, "by": actor.username, "until": ends,
                     "note": reason},
                ]  # fmt: skip
            row = AlertSilenceRow(
                id=uuid.uuid4().hex,
                rule_id=rule_id,
                alert_id=alert_id,
                reason=reason,
                starts_at=now,
                ends_at=ends,
                created_by=actor.username,
            )
            db.add(row)
            info = silence_info(row, target)
        resource = f"alert_rules/{rule_id}" if rule_id else f"alerts/{alert_id}"
        await self.audit.record(
            actor.username, "alert.silenced", resource, "success",
            {"target": target, "until": ends, "duration": round(ends - now), "reason": reason},
        )  # fmt: skip
        self._publish("alerts_changed", {"silence_id": info.id})
        return info

    @guarded("analytics", "write")
    async def unsilence(self, actor: Principal, silence_id: str) -> Silence:
        now = self.clock()
        async with self.database.session() as db:
            row = await db.get(AlertSilenceRow, silence_id) if isinstance(silence_id, str) else None
            if row is None:
                raise ServiceError(
                    ErrorCode.NOT_FOUND,
                    f"There is no silence {silence_id!r}",
                    {"silence_id": silence_id},
                )
            if row.cancelled_at is None and row.ends_at > now:
                row.cancelled_by, row.cancelled_at = actor.username, now
            target = await self._target(db, row)
            info = silence_info(row, target)
        await self.audit.record(
            actor.username, "alert.unsilenced", f"alert_silences/{silence_id}", "success",
            {"target": target},
        )  # fmt: skip
        self._publish("alerts_changed", {"silence_id": silence_id})
        return info

    @guarded("analytics", "read")
    async def list_silences(self, actor: Principal, *, active: bool = True) -> list[Silence]:
        """Silences in force now (``active``), or all of them, newest first."""
        now = self.clock()
        async with self.database.session() as db:
            query = select(AlertSilenceRow).order_by(AlertSilenceRow.starts_at.desc())
            if active:
                query = query.where(
                    AlertSilenceRow.cancelled_at.is_(None),
                    AlertSilenceRow.starts_at <= now,
                    AlertSilenceRow.ends_at > now,
                )
            rows = list((await db.execute(query.limit(MAX_PAGE))).scalars())
            return [silence_info(r, await self._target(db, r)) for r in rows]

    async def _target(self, db: Any, row: AlertSilenceRow) -> str:
        if row.rule_id is not None:
            rule = await db.get(AlertRuleRow, row.rule_id)
            return f"rule {rule.name}" if rule is not None else "a deleted rule"
        alert = await db.get(AlertRow, row.alert_id)
        return f"alert {alert.name}" if alert is not None else "a deleted alert"


class _Silences:
    """The silences in force at one moment, looked up by alert and by rule."""

    def __init__(self, rows: list[AlertSilenceRow]) -> None:
        self.by_alert = {r.alert_id: r for r in rows if r.alert_id}
        self.by_rule = {r.rule_id: r for r in rows if r.rule_id}

    def of(self, alert: AlertRow) -> AlertSilenceRow | None:
        found = [self.by_alert.get(alert.id), self.by_rule.get(alert.rule_id or "")]
        present = [s for s in found if s is not None]
        return max(present, key=lambda s: s.ends_at) if present else None


class _Change:
    """One transition to announce after the commit."""

    def __init__(
        self, event: str, alert: AlertRow, rule: AlertRuleRow | None, silences: _Silences
    ) -> None:
        self.event = event
        self.alert = alert
        self.rule = rule
        self.silences = silences


def _update_value(row: AlertRow, outcome: Outcome, now: float) -> None:
    value = _value(outcome.value)
    if row.value != value or row.message != outcome.message:
        row.value, row.message, row.updated_at = value, outcome.message, now


def _resolve(row: AlertRow, now: float, value: float | None, why: str) -> None:
    row.state = "resolved"
    row.resolved_at = now
    row.updated_at = now
    entry: dict[str, Any] = {"state": "resolved", "at": now, "note": why}
    if value is not None and math.isfinite(value):
        entry["value"] = value
    row.history = [*row.history, entry]


def _note(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError(ErrorCode.INVALID_INPUT, f"The {field} must be text", {"field": field})
    text: str = value.strip()
    if len(text) > MAX_NOTE:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"The {field} may have at most {MAX_NOTE} characters",
            {"problems": [{"field": field, "message": "Too long"}]},
        )
    return text


def _silence_end(now: float, duration_: Any, until: Any) -> float:
    if (duration_ is None) == (until is None):
        raise ServiceError(ErrorCode.INVALID_INPUT, "Give either a duration or an end time", {})
    raw = duration_ if duration_ is not None else until
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ServiceError(ErrorCode.INVALID_INPUT, "The silence's end must be a number", {})
    ends = now + float(raw) if duration_ is not None else float(raw)
    if ends <= now:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            "A silence must end in the future",
            {"problems": [{"field": "duration", "message": "Must end in the future"}]},
        )
    if ends - now > MAX_SILENCE:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"A silence may last at most {duration(MAX_SILENCE)}",
            {"problems": [{"field": "duration", "message": "At most 30 days"}]},
        )
    return ends


def _payload(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "source": alert.source,
        "name": alert.name,
        "severity": alert.severity,
        "state": alert.state,
        "value": alert.value,
        "message": alert.message,
        "labels": dict(alert.labels),
        "silenced": alert.silenced,
        "acknowledged": alert.acknowledged,
    }


def _body(alert: Alert) -> str:
    when = datetime.fromtimestamp(alert.resolved_at or alert.fired_at or alert.started_at, UTC)
    lines = [
        f"{alert.name} is {alert.state} ({alert.severity}).",
        "",
        alert.message,
        "",
        f"Since: {when.isoformat(timespec='seconds')}",
    ]
    if alert.labels:
        lines.append("Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    if alert.value is not None:
        lines.append(f"Value: {alert.value:.6g}")
    lines += ["", "Sent by Auterity Desktop. Acknowledge or silence it on the Alerts page."]
    return "\n".join(lines)
