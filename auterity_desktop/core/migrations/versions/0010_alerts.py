"""Alert rules and alert history.

Revision ID: 0010_alerts
Revises: 0009_metrics
Create Date: 2026-11-27 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_alerts"
down_revision = "0009_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("for_seconds", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("notify", sa.JSON(), nullable=True),
        sa.Column("builtin", sa.String(length=40), nullable=True),
        sa.Column("customised", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rules_name")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=32), nullable=True),
        sa.Column("fingerprint", sa.String(length=400), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("fired_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("notifications", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alerts_rule_id_alert_rules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.create_index(batch.f("ix_alerts_fingerprint"), ["fingerprint"], unique=False)
        batch.create_index(batch.f("ix_alerts_rule_id"), ["rule_id"], unique=False)
        batch.create_index("ix_alerts_state_resolved_at", ["state", "resolved_at"], unique=False)
        batch.create_index("ix_alerts_state_started_at", ["state", "started_at"], unique=False)
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=32), nullable=True),
        sa.Column("alert_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("cancelled_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_silences_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_silences_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_silences")),
    )
    with op.batch_alter_table("alert_silences") as batch:
        batch.create_index(batch.f("ix_alert_silences_alert_id"), ["alert_id"], unique=False)
        batch.create_index(batch.f("ix_alert_silences_ends_at"), ["ends_at"], unique=False)
        batch.create_index(batch.f("ix_alert_silences_rule_id"), ["rule_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_silences") as batch:
        batch.drop_index(batch.f("ix_alert_silences_rule_id"))
        batch.drop_index(batch.f("ix_alert_silences_ends_at"))
        batch.drop_index(batch.f("ix_alert_silences_alert_id"))
    op.drop_table("alert_silences")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_state_started_at")
        batch.drop_index("ix_alerts_state_resolved_at")
        batch.drop_index(batch.f("ix_alerts_rule_id"))
        batch.drop_index(batch.f("ix_alerts_fingerprint"))
    op.drop_table("alerts")
    op.drop_table("alert_rules")
