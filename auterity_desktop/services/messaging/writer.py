"""Group commit for the message queue: publish, claim, ack, nack, extend and release.

One transaction per message caps a queue at the database's commit rate (a few thousand a
second on SQLite through an async driver, fewer on PostgreSQL over a network). Callers here
queue their operation and await it; everything queued while a transaction runs goes into
the next one, where each kind of operation is one statement for the whole group (one
multi-row insert for all publishes, one delete for all acks, one update per queue for all
claims). Each caller still returns only after its own change is committed, so durability is
the same as one transaction each: a publish that returned survives a crash, an ack that
returned is never redelivered.

Inside the transaction the order is: settle (ack, nack, extend, release — they free room),
publish (checked against each queue's length limit), claim (sees what was just published).
A failure that belongs to one operation (a full queue, an unknown queue) fails that
operation only; a database error fails the whole group, and every waiter learns of it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.messaging import store
from auterity_desktop.services.messaging.message import Message, QueueConfig, clip_error
from auterity_desktop.services.messaging.runner import Runner

MAX_CLAIM_ROUNDS = 3  # re-claim when dead letters took places in a claim, this often
TOPICS_EVERY = 1.0  # seconds between two writes of the topic counters


@dataclass(eq=False)
class Op:
    future: asyncio.Future[Any] = field(init=False, repr=False)


@dataclass(eq=False)
class PublishOp(Op):
    topic: str
    body: str
    headers: dict[str, Any] | None
    priority: int
    delay: float
    ttl: float | None
    queues: tuple[str, ...]


@dataclass(eq=False)
class ClaimOp(Op):
    queue: str
    count: int
    visibility: float | None


@dataclass(eq=False)
class SettleOp(Op):
    kind: str  # ack | nack | extend | release
    id: int
    receipt: str
    requeue: bool = True
    error: str | None = None
    seconds: float = 0.0  # nack: delay before redelivery; extend: new visibility timeout


@dataclass
class FlushReport:
    """What one committed transaction changed, for counters, wake-ups and events."""

    now: float
    published: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    dead: Counter[tuple[str, str]] = field(default_factory=Counter)
    redelivered: Counter[str] = field(default_factory=Counter)
    ready: set[str] = field(default_factory=set)  # queues with messages claimable now
    due: dict[str, float] = field(default_factory=dict)  # queue → earliest delayed message


class QueueWriter:
    def __init__(
        self,
        runner: Runner,
        clock: Callable[[], float],
        on_commit: Callable[[FlushReport], None],
    ) -> None:
        self.runner = runner
        self.clock = clock
        self._on_commit = on_commit
        self._ops: list[Op] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0
        # Topic counters are statistics: written with the first message of a topic, then at
        # most once a second (or when someone reads them), not as a statement per batch.
        self._topic_counts: dict[str, tuple[int, int]] = {}  # published, unrouted
        self._known_topics: set[str] = set()
        self._topics_written = 0.0

    # -- submitting ---------------------------------------------------------------------
    def submit(self, op: Op) -> asyncio.Future[Any]:
        op.future = asyncio.get_running_loop().create_future()
        self._ops.append(op)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        return op.future

    async def close(self) -> None:
        """Wait for everything already submitted to be written, counters too."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.gather(self._flusher, return_exceptions=True)
        await self.write_topics()

    async def write_topics(self) -> None:
        """Write the topic counters gathered since the last time (a transaction of its own:
        batches in flight carry their own counts)."""
        if not self._topic_counts:
            return
        counts, self._topic_counts = self._topic_counts, {}
        now = self.clock()
        try:
            await self.runner.write(lambda conn: store.write_topics(conn, counts, now))
        except BaseException:
            self._merge_topics(counts)
            raise
        self._topics_written = time.monotonic()

    def _merge_topics(self, counts: dict[str, tuple[int, int]]) -> None:
        for topic, (published, unrouted) in counts.items():
            before = self._topic_counts.get(topic, (0, 0))
            self._topic_counts[topic] = (before[0] + published, before[1] + unrouted)

    # -- flushing -----------------------------------------------------------------------
    async def _flush_all(self) -> None:
        while self._ops:
            # One turn of the loop first: callers woken by the last commit submit their next
            # operation now and share this transaction instead of waiting for the next one.
            await asyncio.sleep(0)
            batch, self._ops = self._ops, []
            report = FlushReport(self.clock())
            try:
                await self._flush(batch, report)
            except BaseException as exc:  # every waiter of this batch learns of the failure
                error = exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                for op in batch:
                    if not op.future.done():
                        op.future.set_exception(error)
                if not isinstance(exc, Exception):
                    raise
                continue
            self.commits += 1
            for op in batch:
                if not op.future.done():  # every op has its result set by now
                    op.future.set_result(None)
            self._on_commit(report)

    async def _flush(self, batch: list[Op], report: FlushReport) -> None:
        results: list[tuple[Op, Any]] = []
        new = {op.topic for op in batch if isinstance(op, PublishOp)} - self._known_topics
        due = bool(new) or time.monotonic() - self._topics_written >= TOPICS_EVERY
        carried: dict[str, tuple[int, int]] | None = None
        if due:  # this batch takes the counters along (and owns them meanwhile)
            carried, self._topic_counts = self._topic_counts, {}
        flush = _Flush(report, results, carried)
        try:
            await self.runner.write(flush.run(batch))
        except BaseException:
            self._merge_topics(carried or {})
            raise
        if due:
            self._topics_written = time.monotonic()
            self._known_topics.update(flush.topics)
        else:
            self._merge_topics(flush.topics)
        for op, result in results:  # only after the commit: nothing is promised before
            if op.future.done():  # the caller stopped waiting
                continue
            if isinstance(result, BaseException):
                op.future.set_exception(result)
            else:
                op.future.set_result(result)


def _by_queue(claims: list[ClaimOp]) -> dict[tuple[str, float | None], list[ClaimOp]]:
    groups: dict[tuple[str, float | None], list[ClaimOp]] = defaultdict(list)
    for op in claims:
        groups[(op.queue, op.visibility)].append(op)
    return groups


def _unknown_queue(name: str) -> ServiceError:
    return ServiceError(ErrorCode.NOT_FOUND, f"There is no queue {name!r}", {"queue": name})


def _entry(delivery: int, at: float, outcome: str, error: str | None) -> dict[str, Any]:
    return {"delivery": delivery, "at": float(at), "outcome": outcome, "error": error}


class _Flush:
    """The steps of one transaction (run in the runner's thread: no asyncio in here);
    ``depths`` collects each queue's change in length."""

    def __init__(
        self,
        report: FlushReport,
        results: list[tuple[Op, Any]],
        carried_topics: dict[str, tuple[int, int]] | None,
    ) -> None:
        self.report = report
        self.results = results
        self.carried = carried_topics
        self.conn: Any = None
        self.queues: dict[str, QueueConfig] = {}
        self.depths: Counter[str] = Counter()
        self.topics: dict[str, tuple[int, int]] = {}  # this batch's: published, unrouted
        self.now = report.now

    def run(self, batch: list[Op]) -> Callable[[Connection], None]:
        """The transaction, as the runner wants it: a function of the connection."""

        def work(conn: Connection) -> None:
            self.conn = conn
            self._run(batch)

        return work

    def _run(self, batch: list[Op]) -> None:
        settles = [op for op in batch if isinstance(op, SettleOp)]
        publishes = [op for op in batch if isinstance(op, PublishOp)]
        claims = [op for op in batch if isinstance(op, ClaimOp)]
        if settles:
            self.settle(settles)  # what they removed is in self.depths already
        # Take every queue this batch touches, adding what settling removed and what the
        # publishes would add; publish() gives back what it refuses, and dead letters of
        # the steps after it are corrected at the end (rare).
        wanted = Counter(q for op in publishes for q in op.queues)
        names = set(wanted) | {op.queue for op in claims} | set(self.depths)
        deltas = {name: wanted[name] + self.depths[name] for name in names}
        self.queues = store.take_queues(self.conn, deltas) if names else {}
        self.depths = Counter()
        if publishes:
            self.publish(publishes, wanted)
        for (queue, visibility), group in _by_queue(claims).items():
            self.claim(queue, visibility, group)
        store.apply_depths(self.conn, self.depths)
        if self.carried is not None:  # the topic counters are due: this batch's too
            counts = dict(self.carried)
            for topic, (published, unrouted) in self.topics.items():
                before = counts.get(topic, (0, 0))
                counts[topic] = (before[0] + published, before[1] + unrouted)
            store.write_topics(self.conn, counts, self.now)

    def done(self, op: Op, result: Any) -> None:
        self.results.append((op, result))

    def bury(self, rows: list[Any]) -> None:
        self.report.dead.update(store.bury(self.conn, rows, self.now, self.depths))

    # -- ack, nack, extend, release -----------------------------------------------------
    def settle(self, ops: list[SettleOp]) -> None:
        kinds: dict[str, list[SettleOp]] = defaultdict(list)
        for op in ops:
            kinds[op.kind].append(op)
        if kinds["ack"]:
            self._ack(kinds["ack"])
        if kinds["release"]:
            self._release(kinds["release"])
        others = kinds["nack"] + kinds["extend"]
        if others:
            rows = store.held(self.conn, [(op.id, op.receipt) for op in others])
            self._nack([op for op in kinds["nack"] if op.id in rows], rows)
            extend = [op for op in kinds["extend"] if op.id in rows]
            if extend:
                changes = [{"k_id": op.id, "v_until": self.now + op.seconds} for op in extend]
                self.conn.execute(store.EXTEND, changes)
            for op in others:
                if op.id not in rows:
                    self.done(op, False)
            for op in extend:
                self.done(op, True)

    def _ack(self, ops: list[SettleOp]) -> None:
        gone: set[int] = set()
        for start in range(0, len(ops), store.CHUNK):
            chunk = ops[start : start + store.CHUNK]
            params = {"ids": [op.id for op in chunk], "receipts": [op.receipt for op in chunk]}
            for row in self.conn.execute(store.ACK, params):
                gone.add(row.id)
                self.depths[row.queue] -= 1
                self.report.acked[row.queue] += 1
        for op in ops:
            self.done(op, op.id in gone)

    def _release(self, ops: list[SettleOp]) -> None:
        params = {"ids": [op.id for op in ops], "receipts": [op.receipt for op in ops]}
        back: set[int] = set()
        for row in self.conn.execute(store.RELEASE, params | {"now": self.now}):
            back.add(row.id)
            self.report.ready.add(row.queue)
        for op in ops:
            self.done(op, op.id in back)

    def _nack(self, ops: list[SettleOp], rows: dict[int, Any]) -> None:
        requeue: list[dict[str, Any]] = []
        dead: list[Any] = []
        unknown = {rows[op.id].queue for op in ops} - set(self.queues)
        queues = {**self.queues, **store.read_queues(self.conn, unknown)}
        for op in ops:
            row = rows[op.id]
            queue = queues.get(row.queue)
            limit = queue.delivery_limit if queue else 1
            outcome = "nacked" if op.requeue else "rejected"
            history = [*(row.history or ()), _entry(row.deliveries, self.now, outcome, op.error)]
            if not op.requeue:
                dead.append((row, "rejected", op.error, row.deliveries, history))
            elif row.deliveries >= limit:
                dead.append((row, "delivery_limit", op.error, row.deliveries, history))
            else:
                until = self.now + op.seconds
                requeue.append({"k_id": row.id, "v_until": until, "v_history": history})
                if op.seconds > 0:
                    self._due(row.queue, until)
                else:
                    self.report.ready.add(row.queue)
            self.done(op, True)
        if requeue:
            self.conn.execute(store.REQUEUE, requeue)
        self.bury(dead)

    def _due(self, queue: str, at: float) -> None:
        self.report.due[queue] = min(at, self.report.due.get(queue, at))

    # -- publish ------------------------------------------------------------------------
    def publish(self, ops: list[PublishOp], wanted: Counter[str]) -> None:
        rows: list[dict[str, Any]] = []
        owners: list[PublishOp] = []
        # the depth taken includes every message wanted; room is counted before them
        room = {n: q.max_length - (q.depth - wanted[n]) for n, q in self.queues.items()}
        for op in ops:
            targets = [self.queues[q] for q in op.queues if q in self.queues]
            full = [q for q in targets if q.overflow == "reject" and room[q.name] < 1]
            if full:
                self.done(op, _queue_full(full[0]))
                for queue in targets:
                    self.depths[queue.name] -= 1  # taken for it, not used
                continue
            published, unrouted = self.topics.get(op.topic, (0, 0))
            self.topics[op.topic] = (published + 1, unrouted + (not targets))
            if not targets:
                self.done(op, [])
                continue
            available = self.now + op.delay
            for queue in targets:
                room[queue.name] -= 1
                rows.append(self._row(op, queue, available))
                owners.append(op)
                if op.delay > 0:
                    self._due(queue.name, available)
                else:
                    self.report.ready.add(queue.name)
        ids = store.insert_messages(self.conn, rows)
        by_op: dict[int, list[str]] = defaultdict(list)
        for op, row, new_id in zip(owners, rows, ids, strict=True):
            by_op[id(op)].append(str(new_id))
            self.report.published[row["queue"]] += 1
        for op in dict.fromkeys(owners):
            self.done(op, by_op[id(op)])
        for name, left in room.items():
            if left < 0:  # only drop_oldest queues go below zero
                self._drop_oldest(name, -left)

    def _row(self, op: PublishOp, queue: QueueConfig, available: float) -> dict[str, Any]:
        lifetimes = [t for t in (op.ttl, queue.ttl) if t is not None]
        return {
            "queue": queue.name,
            "topic": op.topic,
            "payload": op.body,
            "headers": op.headers,
            "priority": op.priority,
            "published_at": self.now,
            "available_at": available,
            "expires_at": self.now + min(lifetimes) if lifetimes else None,
            "deliveries": 0,
        }

    def _drop_oldest(self, queue: str, count: int) -> None:
        params = {"k_queue": queue, "now": self.now, "n": count}
        rows = self.conn.execute(store.DROPPABLE, params).all()
        error = f"the queue held more than {self.queues[queue].max_length:,} messages"
        self.bury([(r, "maxlen", error, r.deliveries, r.history) for r in rows])

    # -- claim --------------------------------------------------------------------------
    def claim(self, name: str, visibility: float | None, ops: list[ClaimOp]) -> None:
        queue = self.queues.get(name)
        if queue is None:
            for op in ops:
                self.done(op, _unknown_queue(name))
            return
        timeout = queue.visibility_timeout if visibility is None else visibility
        wanted = sum(op.count for op in ops)
        delivered: list[Message] = []
        for _ in range(MAX_CLAIM_ROUNDS):
            got, skipped = self._claim_round(queue, timeout, wanted - len(delivered))
            delivered.extend(got)
            if not skipped or len(delivered) >= wanted:
                break
        start = 0
        for op in ops:
            self.done(op, delivered[start : start + op.count])
            start += op.count

    def _claim_round(
        self, queue: QueueConfig, visibility: float, count: int
    ) -> tuple[list[Message], int]:
        params = {
            "k_queue": queue.name,
            "now": self.now,
            "n": count,
            "token": secrets.token_hex(6),
            "until": self.now + visibility,
        }
        rows = sorted(
            self.conn.execute(store.CLAIM, params).all(),
            key=lambda r: (-r.priority, r.id),
        )
        messages: list[Message] = []
        dead: list[Any] = []
        histories: list[dict[str, Any]] = []
        for row in rows:
            history = row.history
            if row.lost_at is not None:  # the previous delivery was never settled
                lost = "not acknowledged within its visibility timeout"
                history = [
                    *(history or ()),
                    _entry(row.deliveries - 1, row.lost_at, "timeout", lost),
                ]
                self.report.redelivered[queue.name] += 1
            if row.expires_at is not None and row.expires_at <= self.now:
                dead.append(
                    (row, "expired", "its time to live ran out", row.deliveries - 1, history)
                )
            elif row.deliveries > queue.delivery_limit:
                last = (history or [{}])[-1].get("error")
                dead.append((row, "delivery_limit", last, row.deliveries - 1, history))
            else:
                try:
                    messages.append(store.to_message(row, history))
                except ValueError as exc:  # not JSON: written by something else
                    error = clip_error(f"the payload is not valid JSON: {exc}")
                    dead.append((row, "rejected", error, row.deliveries - 1, history))
                    continue
                if history is not row.history:
                    histories.append({"k_id": row.id, "v_history": history})
        if histories:
            self.conn.execute(store.SET_HISTORY, histories)
        self.bury(dead)
        return messages, len(dead)


def _queue_full(queue: QueueConfig) -> ServiceError:
    return ServiceError(
        ErrorCode.RATE_LIMITED,
        f"The queue {queue.name!r} is full ({queue.max_length:,} messages); the message was "
        f"refused. Consume or purge messages, or raise its limit.",
        {"queue": queue.name, "max_length": queue.max_length, "overflow": queue.overflow},
    )
