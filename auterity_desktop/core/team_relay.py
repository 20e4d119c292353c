"""Team mode: what one process publishes, every console on the same PostgreSQL database sees.

In team mode several consoles, workers and API servers share one PostgreSQL database, but each
has its own in-process ``EventBus``; without this relay a console only hears about runs and
alerts its own process produced and stays stale until the user reloads. The relay bridges
the buses over PostgreSQL ``LISTEN``/``NOTIFY`` on the ``auterity_events`` channel:

* local events named in ``FORWARDED_EVENTS`` are sent as ``{origin, name, payload}`` JSON;
  the database, not a broker, carries them, so team mode needs no other server;
* notifications from another origin are republished locally with ``source="team"``; events
  with that source are never sent again, so two processes cannot echo an event forever;
* only the whitelist travels, in both directions: a peer cannot make this process's services
  react to an event they would otherwise only take from themselves (``model_drift_detected``
  raises alerts, for example), and chatty editor events stay local;
* NOTIFY payloads must stay under 8000 bytes: a larger event travels without its payload and
  arrives as ``{"payload_dropped": True}``, which tells views to reload rather than patch.

Delivery is best effort, by design. NOTIFY is not a queue: while the relay is disconnected
(the server restarts, the network drops) events are neither sent nor received, and nothing
is replayed. Instead, once it is back it publishes ``team_connection_changed`` and
``team_resync``, and views reload from the database, which stays the source of truth.

The relay uses its own asyncpg connection, outside SQLAlchemy's pool: a LISTEN belongs to a
session, and a pooled connection would be recycled or pre-pinged away from under it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import ALL, EVENT_NAME, Event, EventBus, Subscription
from auterity_desktop.core.service import BaseService, Health, HealthState

logger = logging.getLogger(__name__)

CHANNEL = "auterity_events"
TEAM_SOURCE = "team"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; keep room for the envelope.
MAX_NOTIFY_BYTES = 7500
OUTBOX_SIZE = 1000

# What other processes' consoles show live: runs (and their nodes, for a run being watched),
# alerts, security alerts and the audit trail. Names published elsewhere in the product stay
# local until a view needs them.
FORWARDED_EVENTS = frozenset(
    {
        "run_started",
        "run_waiting",
        "run_finished",
        "runs_interrupted",
        "node_started",
        "node_waiting",
        "node_finished",
        "alert_firing",
        "alert_resolved",
        "alert_acknowledged",
        "alerts_changed",
        "alert_rules_changed",
        "security_alert_raised",
        "audit_recorded",
        # other processes' services react to these: consumers wake for new messages (the
        # queue's LISTEN/NOTIFY), message triggers re-read changed workflows, and the REST
        # API forgets cached run statuses
        "messages_ready",
        "run_queued",
        "workflow_saved",
        "workflow_deleted",
    }
)


class TeamRelay(BaseService):
    """Forwards whitelisted events between processes sharing a PostgreSQL database.

    ``enabled=False`` (one-shot CLI commands) keeps the relay idle: a process that exits in
    a second has no views to keep fresh, and need not hold a connection for it.
    """

    name = "team_relay"
    dependencies = ("database",)

    def __init__(
        self,
        database: Database,
        events: EventBus,
        *,
        enabled: bool = True,
        channel: str = CHANNEL,
        ping_interval: float = 15.0,
        first_retry: float = 0.5,
        max_retry: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.database = database
        self.events = events
        self.enabled = enabled
        self.channel = channel
        # Half-open TCP connections (a cable pulled, a VM paused) never report closing; an
        # occasional query is what notices them.
        self.ping_interval = ping_interval
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.connect_timeout = connect_timeout
        self.origin = uuid.uuid4().hex
        self._conn: Any = None  # asyncpg.Connection, untyped
        self._connected = False
        self._lost = asyncio.Event()
        self._io = asyncio.Lock()  # one asyncpg connection runs one query at a time
        self._outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_SIZE)
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- state ------------------------------------------------------------------------
    @property
    def team_mode(self) -> bool:
        return self.database.dialect == "postgresql"

    @property
    def active(self) -> bool:
        return self.enabled and self.team_mode

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def application_name(self) -> str:
        """How the connection shows in ``pg_stat_activity``, so an operator can tell it
        from pooled connections (and a test can find it)."""
        return f"auterity-relay-{self.origin}"

    def _dsn(self) -> str:
        # asyncpg takes a plain libpq URL; SQLAlchemy's "+driver" suffix means nothing to it.
        return self.database.url.set(drivername="postgresql").render_as_string(hide_password=False)

    # -- lifecycle --------------------------------------------------------------------
    async def initialize(self) -> None:
        if not self.active:
            return
        self._lost = asyncio.Event()
        self._io = asyncio.Lock()
        self._outbox = asyncio.Queue(OUTBOX_SIZE)
        try:
            await self._connect()
        except Exception as exc:  # the database answered a moment ago: retry, don't fail
            logger.warning("team relay could not connect; retrying", extra={"error": str(exc)})
            self._lost.set()
            self.events.publish("team_connection_changed", {"connected": False})
        self._subscription = self.events.subscribe(ALL, self._on_local_event)
        self._tasks = [
            asyncio.create_task(self._supervise(), name="team-relay-supervisor"),
            asyncio.create_task(self._send_forever(), name="team-relay-sender"),
        ]

    async def cleanup(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        tasks, self._tasks = self._tasks, []
        if tasks and self._connected:
            # Services stopped before us may just have announced their last runs: send them.
            try:
                await asyncio.wait_for(self._outbox.join(), timeout=1.0)
            except TimeoutError:
                logger.warning("team relay stopped before sending every event")
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_connection()
        self._connected = False

    async def health(self) -> Health:
        if not self.team_mode:
            return Health(HealthState.OK, "not in team mode", {"team": False})
        if not self.enabled:
            return Health(HealthState.OK, "not relaying in this process", {"team": False})
        if not self.started:
            return await super().health()
        if self._connected:
            return Health(
                HealthState.OK, "connected to team database", {"team": True, "connected": True}
            )
        return Health(
            HealthState.DEGRADED,
            "reconnecting to team database",
            {"team": True, "connected": False},
        )

    # -- connection -------------------------------------------------------------------
    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._dsn(),
            timeout=self.connect_timeout,
            server_settings={"application_name": self.application_name},
        )
        try:
            conn.add_termination_listener(self._on_terminated)
            await conn.add_listener(self.channel, self._on_notification)
        except BaseException:
            conn.terminate()
            raise
        self._lost.clear()
        self._conn = conn
        self._connected = True

    async def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), timeout=5)
        except Exception:  # a dead peer cannot say goodbye; drop the socket instead
            conn.terminate()

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._lost.set()

    async def _supervise(self) -> None:
        """Watch the connection; when it is gone, reconnect with backoff and tell views."""
        while True:
            if self._conn is None or self._lost.is_set():
                await self._reconnect()
                continue
            try:
                await asyncio.wait_for(self._lost.wait(), timeout=self.ping_interval)
            except TimeoutError:
                if await self._ping():
                    continue
                self._lost.set()

    async def _ping(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            async with self._io:
                await conn.fetchval("SELECT 1", timeout=self.connect_timeout)
        except Exception as exc:
            logger.warning("team relay lost its connection", extra={"error": str(exc)})
            return False
        return True

    async def _reconnect(self) -> None:
        if self._connected:
            self._connected = False
            logger.warning("team relay disconnected; reconnecting")
            self.events.publish("team_connection_changed", {"connected": False})
        async with self._io:
            await self._close_connection()
        delay = self.first_retry
        while True:
            try:
                await self._connect()
                break
            except Exception as exc:
                logger.debug("team relay reconnect failed", extra={"error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_retry)
        logger.info("team relay reconnected")
        self.events.publish("team_connection_changed", {"connected": True})
        # What happened while we were away was not relayed: views reload from the database.
        self.events.publish("team_resync", {})

    # -- sending ----------------------------------------------------------------------
    def _on_local_event(self, event: Event) -> None:
        if event.source == TEAM_SOURCE or event.name not in FORWARDED_EVENTS:
            return
        if not self._connected:
            return  # not queued: peers resync when we are back (see the module docstring)
        try:
            self._outbox.put_nowait(self.encode(event))
        except asyncio.QueueFull:
            logger.warning("team relay outbox full; event not shared", extra={"event": event.name})

    def encode(self, event: Event) -> str:
        """The NOTIFY payload for ``event``; never raises and never exceeds the limit."""
        envelope: dict[str, Any] = {
            "origin": self.origin,
            "name": event.name,
            "payload": event.payload,
        }
        try:
            text = json.dumps(envelope, default=str)
        except (TypeError, ValueError):  # circular, or keys JSON cannot carry
            text = None
        if text is None or len(text.encode()) > MAX_NOTIFY_BYTES:
            text = json.dumps({"origin": self.origin, "name": event.name, "dropped": True})
        return text

    async def _send_forever(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await self._send(message)
            finally:
                self._outbox.task_done()

    async def _send(self, message: str) -> None:
        conn = self._conn
        if conn is None or not self._connected:
            return
        try:
            async with self._io:
                await conn.execute("SELECT pg_notify($1, $2)", self.channel, message, timeout=10)
        except Exception as exc:  # the supervisor notices a dead connection by itself
            logger.warning("team relay could not send", extra={"error": str(exc)})
            if conn.is_closed() and conn is self._conn:
                self._lost.set()

    # -- receiving --------------------------------------------------------------------
    def _on_notification(self, _conn: Any, _pid: int, _channel: str, message: str) -> None:
        try:
            envelope = json.loads(message)
        except ValueError:
            logger.warning("team relay ignored a malformed notification")
            return
        if not isinstance(envelope, dict) or envelope.get("origin") == self.origin:
            return
        name = envelope.get("name")
        if not isinstance(name, str) or name not in FORWARDED_EVENTS or not EVENT_NAME.match(name):
            return
        payload = envelope.get("payload")
        if envelope.get("dropped") or not isinstance(payload, dict):
            payload = {"payload_dropped": True}
        self.events.publish(name, payload, source=TEAM_SOURCE)
