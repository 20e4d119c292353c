"""Metric history with downsampling.

Revision ID: 0009_metrics
Revises: 0008_message_queue
Create Date: 2026-11-27 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_metrics"
down_revision = "0008_message_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("labels", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
        sa.UniqueConstraint("name", "labels", name=op.f("uq_metric_series_name")),
    )
    op.create_table(
        "metric_samples",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["metric_series.id"],
            name=op.f("fk_metric_samples_series_id_metric_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "ts", name=op.f("pk_metric_samples")),
    )
    with op.batch_alter_table("metric_samples") as batch:
        batch.create_index("ix_metric_samples_ts", ["ts"], unique=False)
    op.create_table(
        "metric_rollups",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["metric_series.id"],
            name=op.f("fk_metric_rollups_series_id_metric_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "series_id", "resolution", "bucket", name=op.f("pk_metric_rollups")
        ),
    )
    with op.batch_alter_table("metric_rollups") as batch:
        batch.create_index(
            "ix_metric_rollups_resolution_bucket", ["resolution", "bucket"], unique=False
        )
    op.create_table(
        "metric_rollup_state",
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("done_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("resolution", name=op.f("pk_metric_rollup_state")),
    )


def downgrade() -> None:
    op.drop_table("metric_rollup_state")
    with op.batch_alter_table("metric_rollups") as batch:
        batch.drop_index("ix_metric_rollups_resolution_bucket")
    op.drop_table("metric_rollups")
    with op.batch_alter_table("metric_samples") as batch:
        batch.drop_index("ix_metric_samples_ts")
    op.drop_table("metric_samples")
    op.drop_table("metric_series")
