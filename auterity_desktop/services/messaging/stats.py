"""What the Messages page and the REST API show about queues and topics.

One read of four small queries: the queues' settings, their messages counted by state
(ready: claimable now; in flight: claimed and not settled; delayed: not due yet), dead
letters by queue and reason, and the most recent topics with the queues their names reach.
Rates are this process's in-memory counters, passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from auterity_desktop.services.messaging import dead_letters, store
from auterity_desktop.services.messaging.models import MessageRow, QueueRow, TopicRow
from auterity_desktop.services.messaging.topics import matches

MAX_TOPICS = 500


@dataclass(frozen=True)
class QueueStats:
    name: str
    pattern: str
    depth: int  # every message the queue holds
    ready: int  # claimable now
    in_flight: int  # claimed, not yet settled
    delayed: int  # published with a delay that has not passed yet
    dead: int
    dead_by_reason: dict[str, int]
    max_length: int
    overflow: str
    delivery_limit: int
    visibility_timeout: float
    ttl: float | None
    published_per_minute: float  # by this process, over the last minute
    acked_per_minute: float
    consumers: int  # subscriptions in this process


@dataclass(frozen=True)
class TopicInfo:
    name: str
    published: int
    unrouted: int
    first_published_at: float
    last_published_at: float
    queues: list[str]


@dataclass(frozen=True)
class MessagingStats:
    queues: list[QueueStats]
    topics: list[TopicInfo]
    dead: int
    orphaned_dead: dict[str, int] = field(default_factory=dict)  # dead letters of gone queues


def read_stats(
    conn: Connection,
    now: float,
    rates: Callable[[str], tuple[float, float]],
    consumers: Counter[str],
) -> MessagingStats:
    M = MessageRow
    later = M.available_at > now
    counts = select(
        M.queue,
        func.count(),
        func.sum(case((M.available_at <= now, 1), else_=0)),
        func.sum(case((and_(later, M.receipt.is_not(None)), 1), else_=0)),
        func.sum(case((and_(later, M.receipt.is_(None)), 1), else_=0)),
    ).group_by(M.queue)
    configs = [store.queue_config(r) for r in conn.execute(select(QueueRow))]
    held = {row[0]: row[1:] for row in conn.execute(counts)}
    dead = dead_letters.counts(conn)
    recent = select(TopicRow).order_by(TopicRow.last_published_at.desc()).limit(MAX_TOPICS)
    topic_rows = conn.execute(recent).all()
    queues = []
    for q in sorted(configs, key=lambda c: c.name):
        total, ready, in_flight, delayed = (int(v or 0) for v in held.get(q.name, (0,) * 4))
        by_reason = dead.get(q.name, Counter())
        published, acked = rates(q.name)
        queues.append(
            QueueStats(
                name=q.name,
                pattern=q.pattern,
                depth=total,
                ready=ready,
                in_flight=in_flight,
                delayed=delayed,
                dead=sum(by_reason.values()),
                dead_by_reason=dict(by_reason),
                max_length=q.max_length,
                overflow=q.overflow,
                delivery_limit=q.delivery_limit,
                visibility_timeout=q.visibility_timeout,
                ttl=q.ttl,
                published_per_minute=published,
                acked_per_minute=acked,
                consumers=consumers[q.name],
            )
        )
    patterns = {q.name: q.pattern for q in configs}
    topics = [
        TopicInfo(
            t.name,
            t.published,
            t.unrouted,
            t.first_published_at,
            t.last_published_at,
            sorted(q for q, p in patterns.items() if matches(p, t.name)),
        )
        for t in topic_rows
    ]
    orphaned = {q: sum(c.values()) for q, c in dead.items() if q not in patterns}
    total_dead = sum(sum(c.values()) for c in dead.values())
    return MessagingStats(queues, topics, total_dead, orphaned)
