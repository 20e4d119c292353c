"""Monitored models, predictions, actuals and drift reports.

Revision ID: 0011_ml_monitoring
Revises: 0010_alerts
Create Date: 2026-11-27 10:30:00
"""

import sqlalchemy as sa  # noqa: F401 - used once the tables are written
from alembic import op  # noqa: F401

revision = "0011_ml_monitoring"
down_revision = "0010_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: the tables are being written


def downgrade() -> None:
    pass
