"""Tables of the message queue.

A message lives in ``mq_messages`` from publish until it is acknowledged (deleted) or dead
(moved to ``mq_dead_letters`` with a reason). One column, ``available_at``, carries both a
delay and a claim: publishing with a delay sets it in the future, and a consumer's claim
sets it to the end of its visibility timeout, so a claim that is never acknowledged (the
consumer crashed) simply becomes claimable again — no sweeper has to find it.

The claim index orders a queue's messages exactly as they are delivered (highest priority,
then oldest) and carries ``available_at``, so the claim scans the front of the queue in the
index without touching rows it must skip. Ids come from an autoincrement sequence that
never reuses a number (SQLite's ``AUTOINCREMENT``), because a replayed dead letter goes back
under its old id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base

MessageId = BigInteger().with_variant(Integer, "sqlite")  # SQLite: an alias of the rowid
NULLABLE_JSON = JSON(none_as_null=True)  # None is SQL NULL, not the JSON text 'null'


class QueueRow(Base):
    """A named queue bound to a topic pattern, with its limits."""

    __tablename__ = "mq_queues"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    pattern: Mapped[str] = mapped_column(String(255))
    max_length: Mapped[int] = mapped_column(Integer)
    overflow: Mapped[str] = mapped_column(String(20))  # "reject" | "drop_oldest"
    delivery_limit: Mapped[int] = mapped_column(Integer)
    visibility_timeout: Mapped[float] = mapped_column(Float)
    ttl: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Messages the queue holds (ready, delayed and in flight), kept with every insert and
    # delete so the length limit is checked without counting rows.
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class MessageRow(Base):
    """A message waiting in, or being delivered from, one queue."""

    __tablename__ = "mq_messages"

    id: Mapped[int] = mapped_column(MessageId, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(ForeignKey("mq_queues.name", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)  # JSON text, encoded once at publish
    headers: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[float] = mapped_column(Float)
    available_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    receipt: Mapped[str | None] = mapped_column(String(32), nullable=True)  # current claim
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # When the delivery before the current one started, if it ended without ack or nack
    # (its visibility timeout ran out): set by the claim from the old row, for the history.
    lost_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    history: Mapped[list[dict[str, Any]] | None] = mapped_column(NULLABLE_JSON, nullable=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


# The order of delivery, in the index: a queue's messages by priority (highest first), then
# id (oldest first); ``available_at`` rides along so skipped rows are never read.
Index(
    "ix_mq_messages_claim",
    MessageRow.queue,
    MessageRow.priority.desc(),
    MessageRow.id,
    MessageRow.available_at,
)


class DeadLetterRow(Base):
    """A message that could not be delivered, with why and how its deliveries went."""

    __tablename__ = "mq_dead_letters"

    id: Mapped[int] = mapped_column(MessageId, primary_key=True, autoincrement=False)
    queue: Mapped[str] = mapped_column(String(200), index=True)
    topic: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[float] = mapped_column(Float)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(20))  # rejected|expired|maxlen|delivery_limit
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    history: Mapped[list[dict[str, Any]] | None] = mapped_column(NULLABLE_JSON, nullable=True)
    dead_at: Mapped[float] = mapped_column(Float, index=True)


class TopicRow(Base):
    """Every topic ever published to, for the Messages page and routing diagnostics."""

    __tablename__ = "mq_topics"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_published_at: Mapped[float] = mapped_column(Float)
    last_published_at: Mapped[float] = mapped_column(Float)
    published: Mapped[int] = mapped_column(BigInteger, default=0)
    unrouted: Mapped[int] = mapped_column(BigInteger, default=0)  # matched no queue
