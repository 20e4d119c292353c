"""Security (users, roles, sessions), audit trail and compliance tables.

Revision ID: 0002_security_audit
Revises: 0001_baseline
Create Date: 2026-11-27 07:06:07.266738
"""

from alembic import op
import sqlalchemy as sa


revision = '0002_security_audit'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_anchors',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('through_seq', sa.BigInteger(), nullable=False),
    sa.Column('through_hash', sa.LargeBinary(32), nullable=False),
    sa.Column('pruned_count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors'))
    )
    # The filterable columns are generated from the hashed body by the database, so they
    # cannot be changed apart from it.
    if op.get_bind().dialect.name == "postgresql":
        def field(name: str, cast: str = "") -> str:
            return f"((body::jsonb ->> '{name}'){cast})"
        ts = field("ts_us", "::bigint")
    else:
        def field(name: str, cast: str = "") -> str:
            return f"json_extract(body, '$.{name}')"
        ts = "CAST(json_extract(body, '$.ts_us') AS INTEGER)"
    op.create_table('audit_entries',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.LargeBinary(32), nullable=False),
    sa.Column('hash', sa.LargeBinary(32), nullable=False),
    sa.Column('ts_us', sa.BigInteger(), sa.Computed(ts, persisted=True), nullable=False),
    sa.Column('actor', sa.String(length=200), sa.Computed(field("actor"), persisted=True), nullable=False),
    sa.Column('action', sa.String(length=100), sa.Computed(field("action"), persisted=True), nullable=False),
    sa.Column('resource', sa.String(length=300), sa.Computed(field("resource"), persisted=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), sa.Computed(field("outcome"), persisted=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))
    )
    op.create_index('ix_audit_entries_action_seq', 'audit_entries', ['action', 'seq'], unique=False)
    op.create_index('ix_audit_entries_actor_seq', 'audit_entries', ['actor', 'seq'], unique=False)
    op.create_index('ix_audit_entries_outcome_seq', 'audit_entries', ['outcome', 'seq'], unique=False)
    op.create_index('ix_audit_entries_resource_seq', 'audit_entries', ['resource', 'seq'], unique=False)
    op.create_index(op.f('ix_audit_entries_ts_us'), 'audit_entries', ['ts_us'], unique=False)

    op.create_table('compliance_checks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject_type', sa.String(length=50), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('policies_checked', sa.Integer(), nullable=False),
    sa.Column('violations', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_checks'))
    )
    with op.batch_alter_table('compliance_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_checks_checked_at'), ['checked_at'], unique=False)

    op.create_table('compliance_policies',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_policies'))
    )
    op.create_table('roles',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('permissions', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_roles'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('password_changed_at', sa.Float(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', sa.Float(), nullable=True),
    sa.Column('locked_until', sa.Float(), nullable=True),
    sa.Column('last_login_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['role'], ['roles.name'], name=op.f('fk_users_role_roles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('last_seen_at', sa.Float(), nullable=False),
    sa.Column('revoked_at', sa.Float(), nullable=True),
    sa.Column('client', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_user_id'), ['user_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_user_id'))

    op.drop_table('sessions')
    op.drop_table('users')
    op.drop_table('roles')
    op.drop_table('compliance_policies')
    with op.batch_alter_table('compliance_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_checks_checked_at'))

    op.drop_table('compliance_checks')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_ts_us'))
        batch_op.drop_index('ix_audit_entries_resource_seq')
        batch_op.drop_index('ix_audit_entries_outcome_seq')
        batch_op.drop_index('ix_audit_entries_actor_seq')
        batch_op.drop_index('ix_audit_entries_action_seq')

    op.drop_table('audit_entries')
    op.drop_table('audit_anchors')

