"""Sub-workflow parents, run owners and heartbeats, cancel requests, node checkpoints.

Revision ID: 0006_run_control
Revises: 0005_schedule
Create Date: 2026-11-27 09:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_run_control"
down_revision = "0005_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("parent_run_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("parent_node_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("heartbeat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("depth", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.create_index(batch.f("ix_runs_parent_run_id"), ["parent_run_id"], unique=False)
    with op.batch_alter_table("node_runs") as batch:
        batch.add_column(sa.Column("checkpoint", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_runs") as batch:
        batch.drop_column("checkpoint")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(batch.f("ix_runs_parent_run_id"))
        batch.drop_column("cancel_requested")
        batch.drop_column("depth")
        batch.drop_column("heartbeat")
        batch.drop_column("owner")
        batch.drop_column("parent_node_id")
        batch.drop_column("parent_run_id")
