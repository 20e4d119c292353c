"""The dead-letter queue: browse, replay and purge.

Listings are paged and leave payloads out (one may be a megabyte; a page of fifty must not
be fifty): they carry the payload's size and a preview, and one dead letter's detail loads
the rest. Replay puts messages back into their queue under their old id with a fresh
delivery count and a ``replayed`` entry in their history; it never evicts other messages,
so what does not fit (or whose queue is gone) stays dead and is reported as skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.engine import Connection

from auterity_desktop.services.messaging import store
from auterity_desktop.services.messaging.message import DeadLetter
from auterity_desktop.services.messaging.models import DeadLetterRow, MessageRow

D = DeadLetterRow
PREVIEW_CHARS = 160
REPLAY_BATCH = 5000  # dead letters moved per transaction

SUMMARY = (
    D.id, D.queue, D.topic, D.reason, D.error, D.deliveries, D.priority, D.published_at,
    D.dead_at, D.headers, func.length(D.payload).label("size"),
    func.substr(D.payload, 1, PREVIEW_CHARS + 1).label("preview"),
)  # fmt: skip


def _where(
    queue: str | None, reason: str | None, ids: Sequence[int] | None = None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if queue is not None:
        conditions.append(D.queue == queue)
    if reason is not None:
        conditions.append(D.reason == reason)
    if ids is not None:
        conditions.append(D.id.in_(list(ids)))
    return conditions


def _summary(row: Any, payload: Any = None, history: Any = None) -> DeadLetter:
    preview = row.preview if len(row.preview) <= PREVIEW_CHARS else row.preview[:-1] + "…"
    return DeadLetter(
        id=str(row.id),
        queue=row.queue,
        topic=row.topic,
        reason=row.reason,
        error=row.error,
        deliveries=row.deliveries,
        priority=row.priority,
        published_at=row.published_at,
        dead_at=row.dead_at,
        payload_bytes=int(row.size or 0),
        preview=preview,
        headers=row.headers or {},
        payload=payload,
        history=history,
    )


def page(
    conn: Connection, queue: str | None, reason: str | None, offset: int, limit: int
) -> tuple[list[DeadLetter], int]:
    """Newest first; also the number of dead letters the filters match."""
    conditions = _where(queue, reason)
    total = conn.execute(select(func.count()).select_from(D).where(*conditions)).scalar()
    rows = conn.execute(
        select(*SUMMARY)
        .where(*conditions)
        .order_by(D.dead_at.desc(), D.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_summary(row) for row in rows], int(total or 0)


def detail(conn: Connection, dead_id: int) -> DeadLetter | None:
    row = conn.execute(select(*SUMMARY, D.payload, D.history).where(D.id == dead_id)).first()
    if row is None:
        return None
    try:
        payload = json.loads(row.payload)
    except ValueError:
        payload = row.payload
    return _summary(row, payload, list(row.history or ()))


def counts(conn: Connection) -> dict[str, Counter[str]]:
    """Per queue, dead letters by reason."""
    rows = conn.execute(select(D.queue, D.reason, func.count()).group_by(D.queue, D.reason))
    result: dict[str, Counter[str]] = {}
    for queue, reason, count in rows:
        result.setdefault(queue, Counter())[reason] = int(count)
    return result


def replay_batch(
    conn: Connection,
    ids: Sequence[int] | None,
    queue: str | None,
    after: int,
    now: float,
    actor: str,
    why: dict[str, str],
) -> tuple[Counter[str], int, int]:
    """One transaction's worth of a replay: the given ids (at most ``REPLAY_BATCH``), or
    the next dead letters of ``queue`` after id ``after``. Returns how many went back to
    each queue, how many were skipped, and the last id looked at (0: nothing left)."""
    rows = _by_ids(conn, ids) if ids is not None else _next_of_queue(conn, str(queue), after)
    if not rows:
        return Counter(), 0, 0
    back, skipped = _move_back(conn, rows, now, actor, why)
    return back, skipped, rows[-1].id


def _next_of_queue(conn: Connection, queue: str, after: int) -> list[Any]:
    query = (
        select(D)
        .where(D.queue == queue, D.id > after)
        .order_by(D.id)
        .limit(REPLAY_BATCH)
        .with_for_update()
    )
    return list(conn.execute(query).all())


def _by_ids(conn: Connection, ids: Sequence[int]) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(ids), store.CHUNK):
        chunk = list(ids[start : start + store.CHUNK])
        query = select(D).where(D.id.in_(chunk)).order_by(D.id).with_for_update()
        rows.extend(conn.execute(query).all())
    return sorted(rows, key=lambda r: r.id)


def _move_back(
    conn: Connection, rows: list[Any], now: float, actor: str, why: dict[str, str]
) -> tuple[Counter[str], int]:
    queues = store.lock_queues(conn, {row.queue for row in rows})
    room = {name: q.max_length - q.depth for name, q in queues.items()}
    chosen: list[Any] = []
    for row in rows:
        queue = queues.get(row.queue)
        if queue is None:
            why[row.queue] = "the queue no longer exists"
        elif room[row.queue] < 1:
            why[row.queue] = f"the queue is full ({queue.max_length:,} messages)"
        else:
            room[row.queue] -= 1
            chosen.append(row)
    if chosen:
        entry = {"delivery": 0, "at": now, "outcome": "replayed", "error": None, "by": actor}
        conn.execute(
            insert(MessageRow),
            [
                {
                    "id": row.id,
                    "queue": row.queue,
                    "topic": row.topic,
                    "payload": row.payload,
                    "headers": row.headers,
                    "priority": row.priority,
                    "published_at": row.published_at,
                    "available_at": now,
                    "expires_at": now + ttl if (ttl := queues[row.queue].ttl) else None,
                    "deliveries": 0,
                    "history": [*(row.history or ()), entry],
                }
                for row in chosen
            ],
        )
        for start in range(0, len(chosen), store.CHUNK):
            ids = [row.id for row in chosen[start : start + store.CHUNK]]
            conn.execute(delete(D).where(D.id.in_(ids)))
    back: Counter[str] = Counter(row.queue for row in chosen)
    store.apply_depths(conn, back)
    return back, len(rows) - len(chosen)


def purge(
    conn: Connection, ids: Sequence[int] | None, queue: str | None, reason: str | None
) -> int:
    """Delete dead letters for good: the given ids, else every one matching the filters."""
    if ids is None:
        return int(conn.execute(delete(D).where(*_where(queue, reason))).rowcount or 0)
    removed = 0
    for start in range(0, len(ids), store.CHUNK):
        chunk = ids[start : start + store.CHUNK]
        removed += int(conn.execute(delete(D).where(*_where(queue, reason, chunk))).rowcount or 0)
    return removed
