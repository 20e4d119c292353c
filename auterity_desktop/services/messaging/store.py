"""The queue's SQL: prepared statements and the few steps every write path shares.

Statements are module constants with bound parameters, so batches send each one once with
many rows and the database compiles it once. The functions take a synchronous connection
inside a transaction (see ``runner``). Two rules keep SQLite and PostgreSQL equally safe
when several processes share the queue:

* every write transaction takes the write lock first (``BEGIN IMMEDIATE`` on SQLite, done
  by the runner), so what it reads cannot change before it writes; on PostgreSQL the rows
  it decides on are read ``FOR UPDATE`` (queues in name order, so two processes never
  deadlock);
* every insert into or delete from ``mq_messages`` goes through ``insert_messages`` or
  ``bury``/``delete_messages`` here, which report the change of each queue's depth, and
  the transaction applies those with ``apply_depths`` — the counter the length limit reads.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from auterity_desktop.services.messaging.message import Message, QueueConfig
from auterity_desktop.services.messaging.models import (
    DeadLetterRow,
    MessageRow,
    QueueRow,
    TopicRow,
)

M, Q, D = MessageRow, QueueRow, DeadLetterRow
CHUNK = 500  # ids per IN (...) list: far below every driver's parameter limit


def _p(name: str, type_: Any = None) -> Any:
    return bindparam(name, type_=type_)


def _ids(name: str = "ids") -> Any:
    return bindparam(name, expanding=True)


# -- claiming ------------------------------------------------------------------------------
# The receipt is a fresh token plus the message id: unique per message and per claim, so a
# stale receipt never acknowledges a later delivery, and ``id IN … AND receipt IN …`` matches
# exactly the pairs given.
_CLAIMABLE = (
    select(M.id)
    .where(M.queue == _p("k_queue"), M.available_at <= _p("now", Float))
    .order_by(M.priority.desc(), M.id)
    .limit(_p("n", Integer))
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
RETURNED = (
    M.id, M.queue, M.topic, M.payload, M.headers, M.priority, M.published_at,
    M.available_at, M.expires_at, M.deliveries, M.receipt, M.lost_at, M.history,
)  # fmt: skip
CLAIM = (
    update(M)
    .where(M.id.in_(_CLAIMABLE))
    .values(
        receipt=_p("token", String) + "." + cast(M.id, String),
        deliveries=M.deliveries + 1,
        delivered_at=_p("now", Float),
        # read from the old row: a claim still held means that delivery ran out of time
        lost_at=case((M.receipt.is_not(None), M.delivered_at), else_=None),
        available_at=_p("until", Float),
    )
    .returning(*RETURNED)
)
HELD = select(*RETURNED).where(M.id.in_(_ids()), M.receipt.in_(_ids("receipts"))).with_for_update()
ACK = delete(M).where(M.id.in_(_ids()), M.receipt.in_(_ids("receipts"))).returning(M.id, M.queue)
RELEASE = (
    update(M)
    .where(M.id.in_(_ids()), M.receipt.in_(_ids("receipts")))
    .values(receipt=None, available_at=_p("now", Float), deliveries=M.deliveries - 1)
    .returning(M.id, M.queue)
)
EXTEND = update(M).where(M.id == _p("k_id")).values(available_at=_p("v_until", Float))
REQUEUE = (
    update(M)
    .where(M.id == _p("k_id"))
    .values(receipt=None, available_at=_p("v_until", Float), history=_p("v_history", JSON))
)
SET_HISTORY = update(M).where(M.id == _p("k_id")).values(history=_p("v_history", JSON))

# -- queues --------------------------------------------------------------------------------
LOCK_QUEUES = select(Q).where(Q.name.in_(_ids("names"))).order_by(Q.name).with_for_update()
ADD_DEPTH = update(Q).where(Q.name == _p("k_name")).values(depth=Q.depth + _p("v_delta", Integer))
# Lock a queue and change its depth in one statement; its settings and new depth come back.
TAKE_QUEUE = ADD_DEPTH.returning(
    Q.name, Q.pattern, Q.max_length, Q.overflow, Q.delivery_limit, Q.visibility_timeout,
    Q.ttl, Q.depth,
)  # fmt: skip
RECOUNT = update(Q).values(
    depth=select(func.count())
    .select_from(M)
    .where(M.queue == Q.name)
    .correlate(Q)
    .scalar_subquery()
)

# -- messages in and out -------------------------------------------------------------------
INSERT = insert(M).returning(M.id, sort_by_parameter_order=True)
PLAIN_INSERT = insert(M)
DELETE = delete(M).where(M.id.in_(_ids()))
BURY = insert(D)
DROPPABLE = (  # oldest first, never one a consumer holds right now
    select(*RETURNED)
    .where(
        M.queue == _p("k_queue"),
        or_(M.receipt.is_(None), M.available_at <= _p("now", Float)),
    )
    .order_by(M.id)
    .limit(_p("n", Integer))
    .with_for_update(skip_locked=True)
)
EXPIRED = (
    select(*RETURNED)
    .where(
        M.expires_at <= _p("now", Float),
        or_(M.receipt.is_(None), M.available_at <= _p("now", Float)),
    )
    .limit(_p("n", Integer))
    .with_for_update(skip_locked=True)
)


def queue_config(row: Any) -> QueueConfig:
    return QueueConfig(
        row.name,
        row.pattern,
        row.max_length,
        row.overflow,
        row.delivery_limit,
        row.visibility_timeout,
        row.ttl,
        row.depth,
    )


def lock_queues(conn: Connection, names: Iterable[str]) -> dict[str, QueueConfig]:
    """The queues' settings and depth, locked until the transaction ends."""
    wanted = sorted(set(names))
    found: dict[str, QueueConfig] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(LOCK_QUEUES, {"names": wanted[start : start + CHUNK]})
        found.update((row.name, queue_config(row)) for row in rows)
    return found


def read_queues(conn: Connection, names: Iterable[str]) -> dict[str, QueueConfig]:
    """The queues' settings, unlocked (for decisions that do not depend on the depth)."""
    wanted = sorted(set(names))
    found: dict[str, QueueConfig] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(select(Q).where(Q.name.in_(wanted[start : start + CHUNK])))
        found.update((row.name, queue_config(row)) for row in rows)
    return found


def take_queues(conn: Connection, deltas: dict[str, int]) -> dict[str, QueueConfig]:
    """Lock each queue (in name order) while adding ``deltas[name]`` to its depth; their
    settings with the new depth. A queue that does not exist is left out. One statement
    per queue does what a locking read and a later update would do in two."""
    found: dict[str, QueueConfig] = {}
    for name in sorted(deltas):
        row = conn.execute(TAKE_QUEUE, {"k_name": name, "v_delta": deltas[name]}).first()
        if row is not None:
            found[name] = queue_config(row)
    return found


def apply_depths(conn: Connection, deltas: Counter[str]) -> None:
    changes = [{"k_name": q, "v_delta": n} for q, n in sorted(deltas.items()) if n]
    if changes:
        conn.execute(ADD_DEPTH, changes)


def insert_messages(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert message rows; their ids, in the order given. The caller counts the depth.

    On SQLite the rows go in with ``executemany`` (one prepared statement stepped per row;
    asking for ``RETURNING`` in parameter order would send one statement per row instead)
    and the ids are read back as the last one and the ones before it: the transaction holds
    the write lock and ``AUTOINCREMENT`` numbers consecutive inserts consecutively.
    PostgreSQL returns them in order from one multi-row insert."""
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        return [row[0] for row in conn.execute(INSERT, list(rows))]
    conn.execute(PLAIN_INSERT, list(rows))
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    return list(range(last - len(rows) + 1, last + 1))


def held(conn: Connection, pairs: Sequence[tuple[int, str]]) -> dict[int, Row[Any]]:
    """The messages of ``(id, receipt)`` pairs whose claim is still that receipt."""
    found: dict[int, Row[Any]] = {}
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start : start + CHUNK]
        params = {"ids": [i for i, _ in chunk], "receipts": [r for _, r in chunk]}
        found.update((row.id, row) for row in conn.execute(HELD, params))
    return found


def delete_messages(conn: Connection, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        conn.execute(DELETE, {"ids": list(ids[start : start + CHUNK])})


def bury(
    conn: Connection,
    rows: Sequence[Any],
    now: float,
    depths: Counter[str],
) -> Counter[tuple[str, str]]:
    """Move messages to the dead-letter queue.

    ``rows`` are ``(row, reason, error, deliveries, history)``: the message as read (any
    object with the message columns), why it died, the last error, how many deliveries it
    had and its delivery history. Returns the count per ``(queue, reason)``."""
    if not rows:
        return Counter()
    conn.execute(
        BURY,
        [
            {
                "id": row.id,
                "queue": row.queue,
                "topic": row.topic,
                "payload": row.payload,
                "headers": row.headers,
                "priority": row.priority,
                "published_at": row.published_at,
                "deliveries": deliveries,
                "reason": reason,
                "error": error,
                "history": history or None,
                "dead_at": now,
            }
            for row, reason, error, deliveries, history in rows
        ],
    )
    delete_messages(conn, [row.id for row, *_ in rows])
    counts: Counter[tuple[str, str]] = Counter()
    for row, reason, *_ in rows:
        depths[row.queue] -= 1
        counts[(row.queue, reason)] += 1
    return counts


def write_topics(conn: Connection, counts: dict[str, tuple[int, int]], now: float) -> None:
    """Add ``(published, unrouted)`` to each topic's counters, creating unknown topics."""
    if not counts:
        return
    ins = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(TopicRow)
    statement = ins.on_conflict_do_update(
        index_elements=[TopicRow.name],
        set_={
            "last_published_at": ins.excluded.last_published_at,
            "published": TopicRow.published + ins.excluded.published,
            "unrouted": TopicRow.unrouted + ins.excluded.unrouted,
        },
    )
    rows = [
        {
            "name": topic,
            "first_published_at": now,
            "last_published_at": now,
            "published": published,
            "unrouted": unrouted,
        }
        for topic, (published, unrouted) in sorted(counts.items())
    ]
    conn.execute(statement, rows)


def to_message(row: Any, history: list[dict[str, Any]] | None) -> Message:
    return Message(
        id=str(row.id),
        queue=row.queue,
        topic=row.topic,
        payload=json.loads(row.payload),
        headers=row.headers or {},
        priority=row.priority,
        published_at=float(row.published_at),
        deliveries=row.deliveries,
        receipt=row.receipt,
        visible_until=float(row.available_at),
        history=list(history or ()),
    )
