"""When each schedule trigger last fired.

Revision ID: 0005_schedule
Revises: 0004_runs
Create Date: 2026-11-27 08:33:53.328262
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_schedule'
down_revision = '0004_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('schedule_state',
    sa.Column('workflow_id', sa.String(length=36), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('last_fire', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_schedule_state_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workflow_id', 'node_id', name=op.f('pk_schedule_state'))
    )



def downgrade() -> None:

    op.drop_table('schedule_state')

