"""``MessageQueue``: persistent topics with wildcards, at-least-once delivery and a
dead-letter queue.

Publishers send to a *topic* (``service.appointment.booked``); *queues* are bound to a topic
pattern with AMQP wildcards (``service.#``) and every queue whose pattern matches gets its
own copy. A message published to a topic no queue matches is counted for that topic and
dropped, as an AMQP exchange drops unroutable messages (``mandatory=True`` refuses it
instead). Consumers claim messages with a receipt and a visibility timeout, then ``ack``
(done, deleted) or ``nack`` (again later, or dead); a claim nobody settles becomes claimable
again when its timeout ends. A message dies — moves to the dead-letter queue with its
delivery history — when a consumer rejects it (``rejected``), its time to live runs out
(``expired``), a full ``drop_oldest`` queue pushes it out (``maxlen``) or it was delivered
``delivery_limit`` times without an ack (``delivery_limit``). Dead letters can be replayed
into their queue or purged.

Everything is in the database, so messages survive a restart and several processes (the
console, the CLI, a second console in team mode) can share queues. Writes are group
committed (see ``writer``). Methods taking ``actor`` first are the guarded API for the GUI
and the REST API; the others are for the engine and workflow nodes, which are trusted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.messaging import dead_letters, store
from auterity_desktop.services.messaging.consumer import Handler, Subscription
from auterity_desktop.services.messaging.message import (
    MAX_PAYLOAD_BYTES,
    MAX_PRIORITY,
    REASONS,
    DeadLetter,
    DeadLetterPage,
    Message,
    QueueConfig,
    ReplayResult,
    check_headers,
    check_int,
    check_overflow,
    check_seconds,
    clip_error,
    encode_json,
    invalid,
    parse_ids,
    parse_receipt,
)
from auterity_desktop.services.messaging.models import MessageRow, QueueRow
from auterity_desktop.services.messaging.rates import RateWindow
from auterity_desktop.services.messaging.runner import Runner
from auterity_desktop.services.messaging.stats import MessagingStats, read_stats
from auterity_desktop.services.messaging.topics import (
    dead_letter_topic,
    matches,
    validate_pattern,
    validate_queue_name,
    validate_topic,
)
from auterity_desktop.services.messaging.writer import (
    ClaimOp,
    FlushReport,
    PublishOp,
    QueueWriter,
    SettleOp,
)
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

logger = logging.getLogger(__name__)

MAX_LENGTH_LIMIT = 10_000_000
MAX_DELIVERY_LIMIT = 1000
MAX_VISIBILITY = 12 * 3600.0
MAX_CLAIM = 1000
MIN_SECONDS = 0.01
EXPIRE_BATCH = 1000
ROUTE_CACHE_SIZE = 10_000


class MessageQueue(BaseService):
    name = "messages"
    dependencies = ("database", "audit", "security")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        events: EventBus | None = None,
        metrics: MetricsCollector | None = None,
        *,
        max_length: int = 1000,
        overflow: str = "reject",
        delivery_limit: int = 5,
        visibility_timeout: float = 30.0,
        sweep_interval: float = 5.0,
        route_ttl: float = 1.0,
        clock: Callable[[], float] = time.time,
        team_connected: Callable[[], bool] | None = None,
    ) -> None:
        """``max_length`` etc. are the defaults of queues declared without them (the
        platform passes ``MESSAGE_QUEUE_SIZE``). ``sweep_interval`` is how often expired
        messages nobody claims are moved to the dead-letter queue (0: never); ``route_ttl``
        how long this process trusts its list of queues before re-reading it (queues
        declared by other processes)."""
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.events = events
        self.metrics = metrics
        self.defaults = QueueConfig(
            "",
            "#",
            check_int("max_length", max_length, 1, MAX_LENGTH_LIMIT),
            check_overflow(overflow),
            check_int("delivery_limit", delivery_limit, 1, MAX_DELIVERY_LIMIT),
            _seconds("visibility_timeout", visibility_timeout, MAX_VISIBILITY),
            None,
        )
        self.sweep_interval = sweep_interval
        self.route_ttl = route_ttl
        self.clock = clock
        self.runner = Runner(database)
        self.writer = QueueWriter(self.runner, clock, self._committed)
        self._bindings: dict[str, str] = {}  # queue → pattern
        self._bindings_read = -math.inf
        self._bindings_lock = asyncio.Lock()
        self._routes: dict[str, tuple[str, ...]] = {}  # topic → queues
        self._signals: dict[str, asyncio.Event] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._subscriptions: set[Subscription] = set()
        self._published: dict[str, RateWindow] = {}
        self._acked: dict[str, RateWindow] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._team = False  # on PostgreSQL: tell other processes of new messages
        self._announcing: set[asyncio.Task[None]] = set()
        self._listeners: list[Any] = []
        # Whether the team relay is connected, i.e. other processes' publishes arrive as
        # notifications (then idle consumers need not poll often).
        self._team_connected = team_connected or (lambda: False)

    # -- lifecycle ----------------------------------------------------------------------
    async def initialize(self) -> None:
        if self.metrics is not None:
            for metric, text in (
                ("auterity_messages_published_total", "Messages published, per queue"),
                ("auterity_messages_acked_total", "Messages acknowledged, per queue"),
                ("auterity_messages_redelivered_total", "Deliveries after a lost claim"),
                ("auterity_messages_dead_lettered_total", "Messages dead-lettered, by reason"),
            ):
                self.metrics.describe(metric, MetricKind.COUNTER, text)
        self.runner.open()
        self._team = self.database.url.get_backend_name() == "postgresql"
        if self._team and self.events is not None:
            self._listeners = [self.events.subscribe("messages_ready", self._ready_elsewhere)]
        # Heal the depth counters (a copied or hand-edited database; cheap at start).
        await self.runner.write(lambda conn: conn.execute(store.RECOUNT))
        if self.sweep_interval > 0:
            self._sweeper = asyncio.create_task(self._sweep())

    async def cleanup(self) -> None:
        for listener in self._listeners:
            listener.cancel()
        self._listeners = []
        subscriptions = list(self._subscriptions)
        if subscriptions:
            await asyncio.gather(*(s.stop() for s in subscriptions), return_exceptions=True)
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._announcing:
            await asyncio.gather(*self._announcing, return_exceptions=True)
        await self.writer.close()
        await self.runner.close()

    # -- queues -------------------------------------------------------------------------
    async def declare_queue(
        self,
        name: str,
        pattern: str,
        *,
        max_length: int | None = None,
        overflow: str | None = None,
        delivery_limit: int | None = None,
        visibility_timeout: float | None = None,
        ttl: float | None = None,
        created_by: str = "system",
    ) -> QueueConfig:
        """Create the queue, or give an existing one these settings (omitted ones take the
        defaults). Messages it holds stay."""
        d = self.defaults
        config = QueueConfig(
            validate_queue_name(name),
            validate_pattern(pattern),
            check_int("max_length", _or(max_length, d.max_length), 1, MAX_LENGTH_LIMIT),
            check_overflow(_or(overflow, d.overflow)),
            check_int(
                "delivery_limit", _or(delivery_limit, d.delivery_limit), 1, MAX_DELIVERY_LIMIT
            ),
            _seconds(
                "visibility_timeout", _or(visibility_timeout, d.visibility_timeout), MAX_VISIBILITY
            ),
            None if ttl is None else _seconds("ttl", ttl, 10 * 365 * 24 * 3600.0),
        )
        now = self.clock()
        values = {
            "pattern": config.pattern,
            "max_length": config.max_length,
            "overflow": config.overflow,
            "delivery_limit": config.delivery_limit,
            "visibility_timeout": config.visibility_timeout,
            "ttl": config.ttl,
            "updated_at": now,
        }

        def upsert(conn: Connection) -> int | None:
            found = select(QueueRow.depth).where(QueueRow.name == name).with_for_update()
            depth: int | None = conn.execute(found).scalar()
            if depth is None:
                row = {"name": name, "depth": 0, "created_by": created_by, "created_at": now}
                conn.execute(insert(QueueRow).values(**row, **values))
            else:
                conn.execute(update(QueueRow).where(QueueRow.name == name).values(values))
            return depth

        depth = await self.runner.write(upsert)
        self._bindings[name] = config.pattern
        self._routes.clear()
        self._publish_event(
            "queue_declared", {"queue": name, "pattern": pattern, "created": depth is None}
        )
        return QueueConfig(**{**config.__dict__, "depth": int(depth or 0)})

    async def delete_queue(self, name: str) -> bool:
        """Delete the queue and the messages it holds (its dead letters stay)."""

        def remove(conn: Connection) -> bool:
            result = conn.execute(delete(QueueRow).where(QueueRow.name == name))
            # SQLite cascades only with foreign keys on; say it explicitly for both
            conn.execute(delete(MessageRow).where(MessageRow.queue == name))
            return bool(result.rowcount)

        deleted = await self.runner.write(remove)
        self._bindings.pop(name, None)
        self._routes.clear()
        if deleted:
            self._publish_event("queue_deleted", {"queue": name})
        return deleted

    async def queue(self, name: str) -> QueueConfig | None:
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(select(QueueRow).where(QueueRow.name == name))).first()
        return store.queue_config(row) if row else None

    async def queues(self) -> list[QueueConfig]:
        async with self.database.engine.connect() as conn:
            rows = await conn.execute(select(QueueRow).order_by(QueueRow.name))
            return [store.queue_config(row) for row in rows]

    # -- publishing ---------------------------------------------------------------------
    async def publish(
        self,
        topic: str,
        payload: Any,
        *,
        priority: int = 0,
        delay: float = 0.0,
        headers: dict[str, Any] | None = None,
        ttl: float | None = None,
        mandatory: bool = False,
    ) -> list[str]:
        """Send ``payload`` (JSON, at most 1 MB) to every queue bound to a pattern matching
        ``topic``; the new message ids, one per queue. No matching queue: ``[]`` (or
        ``NOT_FOUND`` with ``mandatory``). A full queue with ``overflow="reject"`` refuses
        the message everywhere with ``RATE_LIMITED``."""
        topic = validate_topic(topic)
        op = PublishOp(
            topic,
            encode_json("payload", payload, MAX_PAYLOAD_BYTES),
            check_headers(headers),
            check_int("priority", priority, 0, MAX_PRIORITY),
            float(check_seconds("delay", delay) or 0.0),
            None if ttl is None else _seconds("ttl", ttl, 10 * 365 * 24 * 3600.0),
            await self._route(topic),
        )
        if mandatory and not op.queues:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"No queue is bound to a pattern matching {topic!r}",
                {"topic": topic},
            )
        ids: list[str] = await self.writer.submit(op)
        return ids

    async def _route(self, topic: str) -> tuple[str, ...]:
        if time.monotonic() - self._bindings_read > self.route_ttl:
            await self._read_bindings()
        queues = self._routes.get(topic)
        if queues is None:
            if len(self._routes) >= ROUTE_CACHE_SIZE:
                self._routes.clear()
            queues = tuple(sorted(q for q, p in self._bindings.items() if matches(p, topic)))
            self._routes[topic] = queues
        return queues

    async def _read_bindings(self) -> None:
        async with self._bindings_lock:  # one read for a crowd of publishers
            if time.monotonic() - self._bindings_read <= self.route_ttl:
                return
            async with self.database.engine.connect() as conn:
                rows = await conn.execute(select(QueueRow.name, QueueRow.pattern))
                bindings = {name: pattern for name, pattern in rows}
            if bindings != self._bindings:
                self._bindings = bindings
                self._routes.clear()
            self._bindings_read = time.monotonic()

    # -- consuming ----------------------------------------------------------------------
    async def get(self, queue: str, visibility_timeout: float | None = None) -> Message | None:
        """Claim the next message (highest priority, then oldest) or ``None``."""
        messages = await self.get_many(queue, 1, visibility_timeout)
        return messages[0] if messages else None

    async def get_many(
        self, queue: str, max_messages: int = 10, visibility_timeout: float | None = None
    ) -> list[Message]:
        """Claim up to ``max_messages`` at once; each must be settled within
        ``visibility_timeout`` seconds (default: the queue's) or it is delivered again."""
        op = ClaimOp(
            validate_queue_name(queue),
            check_int("max_messages", max_messages, 1, MAX_CLAIM),
            None
            if visibility_timeout is None
            else _seconds("visibility_timeout", visibility_timeout, MAX_VISIBILITY),
        )
        messages: list[Message] = await self.writer.submit(op)
        return messages

    async def ack(self, receipt: str) -> bool:
        """Done with the message: delete it. False if the receipt is no longer valid (the
        message was delivered again after its timeout, or already settled)."""
        return await self._settle(SettleOp("ack", parse_receipt(receipt), receipt))

    async def nack(
        self,
        receipt: str,
        requeue: bool = True,
        reason: str | None = None,
        delay: float = 0.0,
    ) -> bool:
        """Not done: deliver it again after ``delay`` seconds, or with ``requeue=False``
        (or past the delivery limit) move it to the dead-letter queue. ``reason`` goes into
        its history."""
        op = SettleOp(
            "nack",
            parse_receipt(receipt),
            receipt,
            requeue=bool(requeue),
            error=clip_error(reason),
            seconds=float(check_seconds("delay", delay) or 0.0),
        )
        return await self._settle(op)

    async def extend(self, receipt: str, seconds: float) -> bool:
        """Keep the claim ``seconds`` longer from now (a handler that needs more time)."""
        timeout = _seconds("visibility_timeout", seconds, MAX_VISIBILITY)
        return await self._settle(
            SettleOp("extend", parse_receipt(receipt), receipt, seconds=timeout)
        )

    async def release(self, receipt: str) -> bool:
        """Hand a claimed message back unused: claimable at once, delivery not counted."""
        return await self._settle(SettleOp("release", parse_receipt(receipt), receipt))

    async def _settle(self, op: SettleOp) -> bool:
        settled: bool = await self.writer.submit(op)
        return settled

    async def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        queue: str | None = None,
        concurrency: int = 1,
        poll: float = 1.0,
        visibility_timeout: float | None = None,
        retry_delay: float = 0.0,
        threaded: bool = True,
    ) -> Subscription:
        """Run ``handler(message)`` for every message of ``queue`` (default: a queue named
        after the pattern, declared if missing, so a restart resumes it). Success acks,
        an exception nacks with its text; ``RejectMessage`` dead-letters at once."""
        if not callable(handler):
            raise invalid("The handler must be callable", field="handler")
        pattern = validate_pattern(pattern)
        name = validate_queue_name(queue or pattern)
        config = await self.queue(name)
        if config is None:
            config = await self.declare_queue(name, pattern)
        elif config.pattern != pattern:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"The queue {name!r} is bound to {config.pattern!r}, not {pattern!r}",
                {"queue": name, "pattern": config.pattern},
            )
        subscription = Subscription(
            self,
            name,
            pattern,
            handler,
            concurrency=check_int("concurrency", concurrency, 1, MAX_CLAIM),
            poll=_seconds("poll", poll, 3600.0),
            visibility_timeout=config.visibility_timeout
            if visibility_timeout is None
            else _seconds("visibility_timeout", visibility_timeout, MAX_VISIBILITY),
            retry_delay=float(check_seconds("retry_delay", retry_delay) or 0.0),
            threaded=threaded,
        )
        self._subscriptions.add(subscription)
        subscription.start()
        return subscription

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions)

    def _signal(self, queue: str) -> asyncio.Event:
        event = self._signals.get(queue)
        if event is None:
            event = self._signals[queue] = asyncio.Event()
        return event

    def _wake(self, queue: str) -> None:
        event = self._signals.get(queue)
        if event is not None:
            event.set()

    def _forget(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    # -- after each commit --------------------------------------------------------------
    def _committed(self, report: FlushReport) -> None:
        now = report.now
        for queue, count in report.published.items():
            self._window(self._published, queue).add(count, now)
            self._count("auterity_messages_published_total", count, queue=queue)
        for queue, count in report.acked.items():
            self._window(self._acked, queue).add(count, now)
            self._count("auterity_messages_acked_total", count, queue=queue)
        for queue, count in report.redelivered.items():
            self._count("auterity_messages_redelivered_total", count, queue=queue)
        if report.dead:
            per_queue: Counter[str] = Counter()
            for (queue, reason), count in report.dead.items():
                per_queue[queue] += count
                self._count(
                    "auterity_messages_dead_lettered_total", count, queue=queue, reason=reason
                )
            reasons = sorted({reason for _, reason in report.dead})
            self._publish_event(
                "messages_dead_lettered", {"queues": dict(per_queue), "reasons": reasons}
            )
            self._announce_dead(report.dead)
        for queue in report.ready:
            self._wake(queue)
        if self._team and (report.ready or report.due):  # other processes: via the relay
            self._publish_event(
                "messages_ready", {"queues": sorted(report.ready), "due": dict(report.due)}
            )
        self._set_timers(report.due)

    def _announce_dead(self, dead: Mapping[tuple[str, str], int]) -> None:
        """Publish a notice per queue on ``system.dead_letters.<queue>`` so a workflow (the
        dead-letter alerting sample) can react to dead letters like to any other message.

        A queue that receives these notices is never announced itself, so a failing alert
        consumer cannot feed on its own dead letters."""
        by_queue: dict[str, tuple[int, set[str]]] = {}
        for (queue, reason), count in dead.items():
            total, reasons = by_queue.get(queue, (0, set()))
            by_queue[queue] = (total + count, reasons | {reason})
        task = asyncio.ensure_future(self._publish_notices(by_queue))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def _publish_notices(self, by_queue: Mapping[str, tuple[int, set[str]]]) -> None:
        for queue, (count, reasons) in by_queue.items():
            topic = dead_letter_topic(queue)
            try:
                listeners = await self._route(topic)
                if not listeners or queue in listeners:
                    continue
                payload = {"queue": queue, "count": count, "reasons": sorted(reasons)}
                await self.publish(topic, payload)
            except Exception:  # a notice must never break the commit that caused it
                logger.exception("Could not announce dead letters of queue %s", queue)

    def _set_timers(self, due: Mapping[str, float]) -> None:
        if due:
            loop = asyncio.get_running_loop()
            self._timers = {t for t in self._timers if t.when() > loop.time()}  # fired
            for queue, at in due.items():
                if queue in self._signals:  # someone here consumes it: wake them on time
                    delay = max(at - self.clock(), 0.0)
                    self._timers.add(loop.call_later(delay, self._wake, queue))

    # -- wake-ups from other processes (team mode) ---------------------------------------
    def _ready_elsewhere(self, event: Any) -> None:
        """Another process committed messages (forwarded by the team relay from
        PostgreSQL's NOTIFY): wake this process's consumers of those queues now."""
        if event.source != "team":
            return
        for queue in event.payload.get("queues") or ():
            self._wake(str(queue))
        due = event.payload.get("due") or {}
        if isinstance(due, dict):
            self._set_timers({str(q): float(at) for q, at in due.items()})

    @property
    def remote_wakeups(self) -> bool:
        """While notifications arrive, consumers look at an idle queue only now and then
        (``TEAM_POLL``); when the relay is cut off they poll as often as they were told."""
        return self._team and self._team_connected()

    @staticmethod
    def _window(windows: dict[str, RateWindow], queue: str) -> RateWindow:
        window = windows.get(queue)
        if window is None:
            window = windows[queue] = RateWindow()
        return window

    def _count(self, metric: str, count: int, **labels: str) -> None:
        if self.metrics is not None:
            self.metrics.increment(metric, count, labels)

    def _publish_event(self, name: str, payload: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(name, payload, source="messages")

    # -- expiry -------------------------------------------------------------------------
    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.expire()
            except Exception:  # the database may be briefly away; the next round retries
                logger.exception("expiring messages failed")

    async def expire(self) -> int:
        """Move messages whose time to live ran out (and nobody holds) to the dead-letter
        queue; how many. Claims find expired messages too; this catches the unclaimed."""
        now = self.clock()
        async with self.database.engine.connect() as conn:  # read first: usually nothing
            found = (
                await conn.execute(
                    select(MessageRow.id).where(MessageRow.expires_at <= now).limit(1)
                )
            ).first()
        if found is None:
            return 0

        def bury_expired(conn: Connection) -> Counter[tuple[str, str]]:
            rows = conn.execute(store.EXPIRED, {"now": now, "n": EXPIRE_BATCH}).all()
            error = "its time to live ran out"
            depths: Counter[str] = Counter()
            dead = store.bury(
                conn, [(r, "expired", error, r.deliveries, r.history) for r in rows], now, depths
            )
            store.apply_depths(conn, depths)
            return dead

        dead = await self.runner.write(bury_expired)
        self._committed(FlushReport(now, dead=dead))
        return sum(dead.values())

    # -- statistics ---------------------------------------------------------------------
    async def queue_stats(self) -> MessagingStats:
        """Every queue with its depth by state, dead letters and rates; known topics."""
        await self.writer.write_topics()  # counters gathered in memory, up to date
        now = self.clock()
        consumers = Counter(s.queue for s in self._subscriptions)

        def rates(queue: str) -> tuple[float, float]:
            return (
                self._window(self._published, queue).per_minute(now),
                self._window(self._acked, queue).per_minute(now),
            )

        return await self.runner.read(lambda conn: read_stats(conn, now, rates, consumers))

    # -- guarded API (GUI, REST) --------------------------------------------------------
    @guarded("messages", "read")
    async def stats(self, actor: Principal) -> MessagingStats:
        return await self.queue_stats()

    @guarded("messages", "read")
    async def list_queues(self, actor: Principal) -> list[QueueConfig]:
        return await self.queues()

    @guarded("messages", "read")
    async def dead_letters(
        self,
        actor: Principal,
        queue: str | None = None,
        reason: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> DeadLetterPage:
        """Dead letters, newest first, without payloads (see ``dead_letter``)."""
        if reason is not None and reason not in REASONS:
            raise invalid(f"reason must be one of {', '.join(REASONS)}", field="reason")
        offset = check_int("offset", offset, 0, 2**31)
        limit = check_int("limit", limit, 1, 1000)
        items, total = await self.runner.read(
            lambda conn: dead_letters.page(conn, queue, reason, offset, limit)
        )
        return DeadLetterPage(items, total, offset, limit)

    @guarded("messages", "read")
    async def dead_letter(self, actor: Principal, message_id: str | int) -> DeadLetter:
        """One dead letter with its payload and delivery history."""
        (dead_id,) = parse_ids([message_id])
        found = await self.runner.read(lambda conn: dead_letters.detail(conn, dead_id))
        if found is None:
            raise ServiceError(
                ErrorCode.NOT_FOUND,
                f"There is no dead letter {message_id}",
                {"id": str(message_id)},
            )
        return found

    @guarded("messages", "write")
    async def replay(
        self,
        actor: Principal,
        ids: Sequence[str | int] | None = None,
        *,
        queue: str | None = None,
    ) -> ReplayResult:
        """Put dead letters back into their queue: the given ids, or all of ``queue``."""
        if (ids is None) == (queue is None):
            raise invalid("Replay either some ids or one queue's dead letters", field="ids")
        chosen = parse_ids(ids) if ids is not None else None
        result, per_queue = await self._replay(chosen, queue, actor.username)
        for name in per_queue:
            self._wake(name)
        await self.audit.record(
            actor.username,
            "dead_letters.replayed",
            f"messages/{queue}" if queue else "messages",
            "success",
            {"replayed": result.replayed, "skipped": result.skipped, "queues": dict(per_queue)}
            | ({"ids": [str(i) for i in chosen[:100]]} if chosen else {}),
        )
        self._publish_event(
            "dead_letters_replayed", {"queues": dict(per_queue), "skipped": result.skipped}
        )
        return result

    async def _replay(
        self, ids: list[int] | None, queue: str | None, actor: str
    ) -> tuple[ReplayResult, Counter[str]]:
        """Replay in transactions of ``REPLAY_BATCH`` dead letters, so a big replay never
        holds the write lock for long."""
        why: dict[str, str] = {}
        per_queue: Counter[str] = Counter()
        skipped, after = 0, 0
        size = dead_letters.REPLAY_BATCH
        batches = [ids[i : i + size] for i in range(0, len(ids), size)] if ids else []
        while ids is None or batches:
            work = functools.partial(
                dead_letters.replay_batch,
                ids=batches.pop(0) if ids is not None else None,
                queue=queue,
                after=after,
                now=self.clock(),
                actor=actor,
                why=why,
            )
            back, missed, after = await self.runner.write(work)
            per_queue.update(back)
            skipped += missed
            if ids is None and not after:
                break
        return ReplayResult(sum(per_queue.values()), skipped, why), per_queue

    @guarded("messages", "delete")
    async def purge(
        self,
        actor: Principal,
        ids: Sequence[str | int] | None = None,
        *,
        queue: str | None = None,
        reason: str | None = None,
        everything: bool = False,
    ) -> int:
        """Delete dead letters for good: the given ids, or those of ``queue`` (and
        ``reason``), or with ``everything=True`` all of them. How many were deleted."""
        if ids is None and queue is None and reason is None and not everything:
            raise invalid(
                "Say what to purge: ids, a queue, a reason, or everything=True", field="ids"
            )
        if reason is not None and reason not in REASONS:
            raise invalid(f"reason must be one of {', '.join(REASONS)}", field="reason")
        chosen = parse_ids(ids) if ids is not None else None
        removed = await self.runner.write(
            lambda conn: dead_letters.purge(conn, chosen, queue, reason)
        )
        await self.audit.record(
            actor.username,
            "dead_letters.purged",
            f"messages/{queue}" if queue else "messages",
            "success",
            {"purged": removed, "reason": reason, "everything": everything}
            | ({"ids": [str(i) for i in chosen[:100]]} if chosen else {}),
        )
        self._publish_event("dead_letters_purged", {"queue": queue, "purged": removed})
        return removed

    @guarded("messages", "write")
    async def publish_as(
        self,
        actor: Principal,
        topic: str,
        payload: Any,
        *,
        priority: int = 0,
        delay: float = 0.0,
        headers: dict[str, Any] | None = None,
    ) -> list[str]:
        """Publish on someone's behalf (the GUI's test message, the REST API); audited."""
        ids = await self.publish(topic, payload, priority=priority, delay=delay, headers=headers)
        await self.audit.record(
            actor.username,
            "message.published",
            f"messages/{topic}",
            "success",
            {"ids": ids[:100], "priority": priority, "delay": delay},
        )
        return ids

    @guarded("messages", "write")
    async def declare_queue_as(
        self, actor: Principal, name: str, pattern: str, **options: Any
    ) -> QueueConfig:
        config = await self.declare_queue(name, pattern, created_by=actor.username, **options)
        await self.audit.record(
            actor.username,
            "queue.declared",
            f"messages/{name}",
            "success",
            {"pattern": pattern, **{k: v for k, v in options.items() if v is not None}},
        )
        return config

    @guarded("messages", "delete")
    async def delete_queue_as(self, actor: Principal, name: str) -> bool:
        deleted = await self.delete_queue(name)
        if not deleted:
            raise ServiceError(ErrorCode.NOT_FOUND, f"There is no queue {name!r}", {"queue": name})
        await self.audit.record(actor.username, "queue.deleted", f"messages/{name}", "success")
        return deleted


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _seconds(what: str, value: Any, high: float) -> float:
    return float(check_seconds(what, value, low=MIN_SECONDS, high=high) or 0.0)
