"""The message queue: queues, messages, dead letters and known topics.

Revision ID: 0008_message_queue
Revises: 0007_integrations
Create Date: 2026-11-28 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_message_queue"
down_revision = "0007_integrations"
branch_labels = None
depends_on = None

MESSAGE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mq_queues",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pattern", sa.String(length=255), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=False),
        sa.Column("overflow", sa.String(length=20), nullable=False),
        sa.Column("delivery_limit", sa.Integer(), nullable=False),
        sa.Column("visibility_timeout", sa.Float(), nullable=False),
        sa.Column("ttl", sa.Float(), nullable=True),
        sa.Column("depth", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mq_queues")),
    )
    op.create_table(
        "mq_messages",
        sa.Column("id", MESSAGE_ID, autoincrement=True, nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.Float(), nullable=False),
        sa.Column("available_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.String(length=32), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("lost_at", sa.Float(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["queue"],
            ["mq_queues.name"],
            name=op.f("fk_mq_messages_queue_mq_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mq_messages")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("mq_messages") as batch:
        batch.create_index(
            "ix_mq_messages_claim",
            ["queue", sa.text("priority DESC"), "id", "available_at"],
            unique=False,
        )
        batch.create_index(batch.f("ix_mq_messages_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "mq_dead_letters",
        sa.Column("id", MESSAGE_ID, autoincrement=False, nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.Float(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=True),
        sa.Column("dead_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mq_dead_letters")),
    )
    with op.batch_alter_table("mq_dead_letters") as batch:
        batch.create_index(batch.f("ix_mq_dead_letters_dead_at"), ["dead_at"], unique=False)
        batch.create_index(batch.f("ix_mq_dead_letters_queue"), ["queue"], unique=False)
    op.create_table(
        "mq_topics",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("first_published_at", sa.Float(), nullable=False),
        sa.Column("last_published_at", sa.Float(), nullable=False),
        sa.Column("published", sa.BigInteger(), nullable=False),
        sa.Column("unrouted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mq_topics")),
    )


def downgrade() -> None:
    op.drop_table("mq_topics")
    with op.batch_alter_table("mq_dead_letters") as batch:
        batch.drop_index(batch.f("ix_mq_dead_letters_queue"))
        batch.drop_index(batch.f("ix_mq_dead_letters_dead_at"))
    op.drop_table("mq_dead_letters")
    with op.batch_alter_table("mq_messages") as batch:
        batch.drop_index(batch.f("ix_mq_messages_expires_at"))
        batch.drop_index("ix_mq_messages_claim")
    op.drop_table("mq_messages")
    op.drop_table("mq_queues")
