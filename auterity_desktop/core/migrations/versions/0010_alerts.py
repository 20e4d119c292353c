"""Alert rules and alert history.

Revision ID: 0010_alerts
Revises: 0009_metrics
Create Date: 2026-11-27 10:30:00
"""

import sqlalchemy as sa  # noqa: F401 - used once the tables are written
from alembic import op  # noqa: F401

revision = "0010_alerts"
down_revision = "0009_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: the tables are being written


def downgrade() -> None:
    pass
