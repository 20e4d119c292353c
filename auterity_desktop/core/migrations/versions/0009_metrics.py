"""Metric history with downsampling.

Revision ID: 0009_metrics
Revises: 0008_message_queue
Create Date: 2026-11-27 10:30:00
"""

import sqlalchemy as sa  # noqa: F401 - used once the tables are written
from alembic import op  # noqa: F401

revision = "0009_metrics"
down_revision = "0008_message_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: the tables are being written


def downgrade() -> None:
    pass
