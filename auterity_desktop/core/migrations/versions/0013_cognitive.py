"""Cognitive engine: intent sets trained by users.

Revision ID: 0013_cognitive
Revises: 0012_ai
Create Date: 2026-11-27 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_cognitive"
down_revision = "0012_ai"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cognitive_intent_sets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("intents", sa.Integer(), nullable=False),
        sa.Column("example_count", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cognitive_intent_sets")),
    )


def downgrade() -> None:
    op.drop_table("cognitive_intent_sets")
