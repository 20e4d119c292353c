"""Configured integrations (secrets stay in the OS keyring).

Revision ID: 0007_integrations
Revises: 0006_run_control
Create Date: 2026-11-27 09:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_integrations"
down_revision = "0006_run_control"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_refs", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("last_status", sa.String(length=20), nullable=False),
        sa.Column("last_checked_at", sa.Float(), nullable=True),
        sa.Column("last_latency", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("name", name=op.f("uq_integrations_name")),
    )


def downgrade() -> None:
    op.drop_table("integrations")
