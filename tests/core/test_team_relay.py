"""Team mode on real PostgreSQL: events cross processes through LISTEN/NOTIFY.

Two relay stacks (database, bus, relay) in one test process stand for two consoles: they
have separate connections and origins, which is all the relay can tell processes apart by.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import ALL, Event, EventBus
from auterity_desktop.core.service import HealthState
from auterity_desktop.core.team_relay import MAX_NOTIFY_BYTES, TEAM_SOURCE, TeamRelay
from auterity_desktop.platform import Platform

PASSWORD = "Correct-Horse-42!"


@dataclass
class Stack:
    database: Database
    events: EventBus
    relay: TeamRelay
    seen: list[Event] = field(default_factory=list)

    def names(self) -> list[str]:
        return [e.name for e in self.seen]


@asynccontextmanager
async def stack(url: str) -> AsyncIterator[Stack]:
    database = Database(url)
    events = EventBus()
    relay = TeamRelay(database, events, first_retry=0.05)
    s = Stack(database, events, relay)
    events.subscribe(ALL, s.seen.append)
    await database.initialize()
    try:
        await relay.initialize()
        relay._mark_started(True)
        try:
            yield s
        finally:
            await relay.cleanup()
            await events.close()
    finally:
        await database.cleanup()


async def until(predicate: Callable[[], Any], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def received(s: Stack, name: str) -> list[Event]:
    return [e for e in s.seen if e.name == name and e.source == TEAM_SOURCE]


async def admin_execute(url: str, sql: str, *args: Any) -> Any:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_events_cross_processes_once_and_only_whitelisted(postgres_url: str) -> None:
    async with stack(postgres_url) as a, stack(postgres_url) as b:
        assert a.relay.origin != b.relay.origin
        assert (await b.relay.health()).state is HealthState.OK
        a.events.publish("queue_declared", {"queue": "q1"})  # not whitelisted
        a.events.publish("run_finished", {"run_id": "r1", "status": "succeeded"}, source="x")
        await until(lambda: received(b, "run_finished"))
        (event,) = received(b, "run_finished")
        assert event.payload == {"run_id": "r1", "status": "succeeded"}
        # B republished it locally; it must not go back to A (nor forward "team" events).
        b.events.publish("alert_firing", {"alert_id": "x1"})
        await until(lambda: received(a, "alert_firing"))
        await asyncio.sleep(0.3)
        assert received(a, "run_finished") == []
        assert len(received(b, "run_finished")) == 1
        assert "queue_declared" not in b.names()
        assert received(b, "alert_firing") == []


async def test_an_oversized_payload_arrives_without_it(postgres_url: str) -> None:
    async with stack(postgres_url) as a, stack(postgres_url) as b:
        a.events.publish("audit_recorded", {"action": "x" * (MAX_NOTIFY_BYTES + 10)})
        a.events.publish("run_started", {"run_id": "r2", "when": time})  # not JSON: str()
        await until(lambda: received(b, "audit_recorded") and received(b, "run_started"))
        assert received(b, "audit_recorded")[0].payload == {"payload_dropped": True}
        assert received(b, "run_started")[0].payload["run_id"] == "r2"


async def test_a_lost_connection_is_reported_and_re_established(postgres_url: str) -> None:
    """Stands in for a PostgreSQL restart: the relay's own server process is terminated from
    an admin connection. Restarting the real server would break the other tests sharing it;
    to the relay both look the same, its socket closed by the server."""
    async with stack(postgres_url) as a, stack(postgres_url) as b:
        killed = await admin_execute(
            postgres_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            b.relay.application_name,
        )
        assert [row[0] for row in killed] == [True]
        await until(lambda: "team_resync" in b.names())
        changes = [e.payload["connected"] for e in b.seen if e.name == "team_connection_changed"]
        assert changes == [False, True]
        assert b.names().index("team_connection_changed") < b.names().index("team_resync")
        assert (await b.relay.health()).data["connected"] is True
        a.events.publish("run_finished", {"run_id": "after", "status": "failed"})
        await until(lambda: received(b, "run_finished"))
        b.events.publish("run_started", {"run_id": "back"})
        await until(lambda: received(a, "run_started"))
        assert "team_connection_changed" not in a.names()


async def test_events_announced_while_stopping_are_still_sent(postgres_url: str) -> None:
    async with stack(postgres_url) as b:
        async with stack(postgres_url) as a:
            a.events.publish("run_finished", {"run_id": "last", "status": "cancelled"})
        await until(lambda: received(b, "run_finished"))


async def test_sqlite_is_not_team_mode(tmp_path: Path) -> None:
    async with stack(f"sqlite:///{tmp_path / 'solo.db'}") as s:
        health = await s.relay.health()
        assert health.state is HealthState.OK
        assert health.detail == "not in team mode"
        s.events.publish("run_finished", {"run_id": "r"})
        assert s.relay._conn is None and s.relay._tasks == []


async def test_a_run_on_one_platform_reaches_the_other(postgres_url: str, tmp_path: Path) -> None:
    def env(name: str) -> dict[str, str]:
        return {"AUTERITY_DATABASE_URL": postgres_url, "AUTERITY_DATA_DIR": str(tmp_path / name)}

    first = Platform.from_environment(env("a"), background=True, configure_logs=False)
    second = Platform.from_environment(env("b"), background=True, configure_logs=False)
    async with first, second:
        seen: list[Event] = []
        second.events.subscribe("run_finished", seen.append)
        assert (await second.health())["team_relay"].detail == "connected to team database"
        await first.security.users.create_first_admin("alice", PASSWORD)
        admin = (
            await first.security.authenticate_user({"username": "alice", "password": PASSWORD})
        ).principal
        saved = await first.workflows.create(
            admin,
            {"name": "Team", "nodes": [{"id": "start", "type": "manual_trigger", "name": "Go"}]},
        )
        run_id = await first.engine.execute_workflow(admin, saved.id)
        assert (await first.engine.wait(run_id))["status"] == "succeeded"
        await until(lambda: seen)
        assert seen[0].source == TEAM_SOURCE
        assert seen[0].payload == {"run_id": run_id, "status": "succeeded"}


async def test_one_shot_commands_do_not_relay(postgres_url: str, tmp_path: Path) -> None:
    env = {"AUTERITY_DATABASE_URL": postgres_url, "AUTERITY_DATA_DIR": str(tmp_path / "cli")}
    async with Platform.from_environment(env, background=False) as platform:
        health = (await platform.health())["team_relay"]
        assert health.state is HealthState.OK and health.data == {"team": False}
        assert platform.team_relay._conn is None
