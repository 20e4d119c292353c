"""What the alert service tells its callers: frozen copies of rules, alerts and silences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auterity_desktop.services.monitoring.alert_models import (
    AlertRow,
    AlertRuleRow,
    AlertSilenceRow,
)
from auterity_desktop.services.monitoring.alert_rules import RuleSpec, describe_condition

STATES = ("pending", "firing", "resolved")
OPEN_STATES = ("pending", "firing")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class AlertRule:
    id: str
    spec: RuleSpec
    builtin: str | None
    customised: bool
    created_by: str
    created_at: float
    updated_by: str
    updated_at: float

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def enabled(self) -> bool:
        return self.spec.enabled

    @property
    def severity(self) -> str:
        return self.spec.severity

    @property
    def condition(self) -> str:
        return describe_condition(self.spec)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.to_dict(),
            "condition": self.condition,
            "builtin": self.builtin,
            "customised": self.customised,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
        }


def rule_spec(row: AlertRuleRow) -> RuleSpec:
    return RuleSpec(
        name=row.name,
        kind=row.kind,
        metric=row.metric,
        labels=dict(row.labels or {}),
        params=dict(row.params or {}),
        for_seconds=row.for_seconds,
        severity=row.severity,
        enabled=row.enabled,
        description=row.description or "",
        notify=dict(row.notify) if row.notify else None,
    )


def rule_info(row: AlertRuleRow) -> AlertRule:
    return AlertRule(
        id=row.id,
        spec=rule_spec(row),
        builtin=row.builtin,
        customised=row.customised,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


@dataclass(frozen=True)
class Alert:
    id: str
    rule_id: str | None
    source: str  # rule | model
    name: str
    severity: str
    labels: dict[str, str]
    state: str
    value: float | None
    message: str
    details: dict[str, Any] | None
    started_at: float
    fired_at: float | None
    resolved_at: float | None
    updated_at: float
    acknowledged_by: str | None
    acknowledged_at: float | None
    ack_note: str | None
    history: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    silenced_until: float | None = None
    silence_reason: str | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def silenced(self) -> bool:
        return self.silenced_until is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "source": self.source,
            "name": self.name,
            "severity": self.severity,
            "labels": dict(self.labels),
            "state": self.state,
            "value": self.value,
            "message": self.message,
            "details": self.details,
            "started_at": self.started_at,
            "fired_at": self.fired_at,
            "resolved_at": self.resolved_at,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": self.acknowledged_at,
            "ack_note": self.ack_note,
            "silenced_until": self.silenced_until,
            "history": list(self.history),
            "notifications": list(self.notifications),
        }


def alert_info(row: AlertRow, silence: AlertSilenceRow | None = None) -> Alert:
    return Alert(
        id=row.id,
        rule_id=row.rule_id,
        source=row.source,
        name=row.name,
        severity=row.severity,
        labels=dict(row.labels or {}),
        state=row.state,
        value=row.value,
        message=row.message,
        details=dict(row.details) if row.details else None,
        started_at=row.started_at,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        updated_at=row.updated_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        ack_note=row.ack_note,
        history=list(row.history or []),
        notifications=list(row.notifications or []),
        silenced_until=silence.ends_at if silence is not None else None,
        silence_reason=silence.reason if silence is not None else None,
    )


@dataclass(frozen=True)
class AlertPage:
    items: list[Alert]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class Silence:
    id: str
    rule_id: str | None
    alert_id: str | None
    target: str  # the rule's or alert's name, for lists
    reason: str
    starts_at: float
    ends_at: float
    created_by: str
    cancelled_by: str | None
    cancelled_at: float | None

    def active(self, now: float) -> bool:
        return self.cancelled_at is None and self.starts_at <= now < self.ends_at


def silence_info(row: AlertSilenceRow, target: str) -> Silence:
    return Silence(
        id=row.id,
        rule_id=row.rule_id,
        alert_id=row.alert_id,
        target=target,
        reason=row.reason,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        cancelled_by=row.cancelled_by,
        cancelled_at=row.cancelled_at,
    )


@dataclass
class EvaluationReport:
    """What one evaluation changed (alert ids), and the rules that could not be decided."""

    at: float
    rules: int
    opened: list[str] = field(default_factory=list)  # now pending
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # pending that turned false
    errors: dict[str, str] = field(default_factory=dict)  # rule name → why

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.fired or self.resolved or self.dropped)
