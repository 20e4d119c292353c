"""Saved workflows and their versions.

Revision ID: 0003_workflows
Revises: 0002_security_audit
Create Date: 2026-11-27 07:51:19.713074
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_workflows'
down_revision = '0002_security_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('workflows',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows'))
    )
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflows_name'), ['name'], unique=False)

    op.create_table('workflow_versions',
    sa.Column('workflow_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('saved_at', sa.Float(), nullable=False),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_workflow_versions_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workflow_id', 'version', name=op.f('pk_workflow_versions'))
    )



def downgrade() -> None:

    op.drop_table('workflow_versions')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflows_name'))

    op.drop_table('workflows')

