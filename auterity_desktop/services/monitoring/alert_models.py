"""Tables of the alert service: rules, alerts with their state history, and silences.

A rule (``alert_rules``) says which metric to watch and when that is bad. Each time a rule's
condition turns true for one series, an alert (``alerts``) is opened in state ``pending``;
it becomes ``firing`` once the condition has held for the rule's for-duration and
``resolved`` when it turns false again. A resolved alert is never reopened: the next time
the condition holds, a new alert starts, so the table is the history. Every transition is
appended to the alert's ``history``, and every attempt to notify through an integration to
its ``notifications``. Alerts raised by other services (model drift) have no rule.

A silence (``alert_silences``) mutes the notifications of one rule or one alert until a
time; the alerts still change state and show on the Alerts page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base

NULLABLE_JSON = JSON(none_as_null=True)


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))  # threshold | rate | anomaly | absence
    metric: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, str]] = mapped_column(JSON)  # series matcher (subset)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # kind-specific settings
    for_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    severity: Mapped[str] = mapped_column(String(10))  # info | warning | critical
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    # Default rules carry their key; until someone edits one, it follows the settings
    # (ALERT_THRESHOLD, METRICS_COLLECTION_INTERVAL) at every start.
    builtin: Mapped[str | None] = mapped_column(String(40), nullable=True)
    customised: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # Which series of which rule (or which model event) this alert is about; at most one
    # open (pending or firing) alert per fingerprint.
    fingerprint: Mapped[str] = mapped_column(String(400), index=True)
    source: Mapped[str] = mapped_column(String(20))  # rule | model
    name: Mapped[str] = mapped_column(String(200))  # the rule's name when it opened
    severity: Mapped[str] = mapped_column(String(10))
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))  # pending | firing | resolved
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    started_at: Mapped[float] = mapped_column(Float)  # the condition became true
    fired_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ack_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    notifications: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


# Open alerts are read at every evaluation; past ones are paged newest first.
Index("ix_alerts_state_started_at", AlertRow.state, AlertRow.started_at)
Index("ix_alerts_state_resolved_at", AlertRow.state, AlertRow.resolved_at)


class AlertSilenceRow(Base):
    __tablename__ = "alert_silences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=True, index=True
    )
    alert_id: Mapped[str | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    cancelled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_at: Mapped[float | None] = mapped_column(Float, nullable=True)
