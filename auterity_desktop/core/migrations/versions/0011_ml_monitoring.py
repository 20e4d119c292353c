"""Monitored models, predictions, actuals and drift reports.

Revision ID: 0011_ml_monitoring
Revises: 0010_alerts
Create Date: 2026-11-27 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_ml_monitoring"
down_revision = "0010_alerts"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NULLABLE_JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "ml_models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.Column("task", sa.String(length=20), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("positive_label", sa.String(length=200), nullable=True),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("baseline", NULLABLE_JSON, nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reference_rows", sa.Integer(), nullable=False),
        sa.Column("predictions", sa.BigInteger(), nullable=False),
        sa.Column("labelled", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("last_report_id", sa.String(length=32), nullable=True),
        sa.Column("last_drift_at", sa.Float(), nullable=True),
        sa.Column("last_drift_share", sa.Float(), nullable=True),
        sa.Column("last_dataset_drift", sa.Boolean(), nullable=True),
        sa.Column("metric_state", NULLABLE_JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_models")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_ml_models_name")),
    )
    op.create_table(
        "ml_reference_sets",
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ml_models.id"],
            name=op.f("fk_ml_reference_sets_model_id_ml_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_ml_reference_sets")),
    )
    op.create_table(
        "ml_predictions",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("prediction_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("prediction", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("actual", sa.Text(), nullable=True),
        sa.Column("actual_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ml_models.id"],
            name=op.f("fk_ml_predictions_model_id_ml_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_predictions")),
        sa.UniqueConstraint(
            "model_id", "prediction_id", name=op.f("uq_ml_predictions_model_id")
        ),
    )
    with op.batch_alter_table("ml_predictions") as batch:
        batch.create_index("ix_ml_predictions_model_ts", ["model_id", "ts"], unique=False)
    op.create_table(
        "ml_drift_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=True),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("reference_rows", sa.Integer(), nullable=False),
        sa.Column("current_rows", sa.Integer(), nullable=False),
        sa.Column("tested", sa.Integer(), nullable=False),
        sa.Column("drifted", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=False),
        sa.Column("dataset_drift", sa.Boolean(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("distributions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["ml_models.id"],
            name=op.f("fk_ml_drift_reports_model_id_ml_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_drift_reports")),
    )
    with op.batch_alter_table("ml_drift_reports") as batch:
        batch.create_index(
            "ix_ml_drift_reports_model_created", ["model_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ml_drift_reports") as batch:
        batch.drop_index("ix_ml_drift_reports_model_created")
    op.drop_table("ml_drift_reports")
    with op.batch_alter_table("ml_predictions") as batch:
        batch.drop_index("ix_ml_predictions_model_ts")
    op.drop_table("ml_predictions")
    op.drop_table("ml_reference_sets")
    op.drop_table("ml_models")
