"""AI orchestration: deployments, routing policies, budgets and the request log.

Revision ID: 0012_ai
Revises: 0011_ml_monitoring
Create Date: 2026-11-27 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_ai"
down_revision = "0011_ml_monitoring"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ai_deployments",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("api_base", sa.String(length=500), nullable=False),
        sa.Column("price_input_per_1k", sa.Float(), nullable=False),
        sa.Column("price_output_per_1k", sa.Float(), nullable=False),
        sa.Column("price_cached_input_per_1k", sa.Float(), nullable=True),
        sa.Column("context_window", sa.Integer(), nullable=False),
        sa.Column("max_output_tokens", sa.Integer(), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("key_ref", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ai_deployments")),
    )
    op.create_table(
        "ai_policies",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("deployments", sa.JSON(), nullable=False),
        sa.Column("fallbacks", sa.JSON(), nullable=False),
        sa.Column("num_retries", sa.Integer(), nullable=False),
        sa.Column("allowed_fails", sa.Integer(), nullable=False),
        sa.Column("cooldown_seconds", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ai_policies")),
    )
    op.create_table(
        "ai_budgets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("limit_amount", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_budgets")),
        sa.UniqueConstraint("scope", "target", "period", name=op.f("uq_ai_budgets_scope")),
    )
    op.create_table(
        "ai_requests",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("deployment", sa.String(length=60), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("policy", sa.String(length=60), nullable=True),
        sa.Column("workflow_id", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("ttft_s", sa.Float(), nullable=True),
        sa.Column("tokens_per_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("streamed", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_requests")),
    )
    with op.batch_alter_table("ai_requests") as batch:
        batch.create_index("ix_ai_requests_ts", ["ts"], unique=False)
        batch.create_index("ix_ai_requests_deployment_ts", ["deployment", "ts"], unique=False)
        batch.create_index("ix_ai_requests_workflow_ts", ["workflow_id", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_requests") as batch:
        batch.drop_index("ix_ai_requests_workflow_ts")
        batch.drop_index("ix_ai_requests_deployment_ts")
        batch.drop_index("ix_ai_requests_ts")
    op.drop_table("ai_requests")
    op.drop_table("ai_budgets")
    op.drop_table("ai_policies")
    op.drop_table("ai_deployments")
