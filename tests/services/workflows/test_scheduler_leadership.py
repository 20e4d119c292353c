"""Scheduler leadership on real PostgreSQL: one leader among many, takeover when the leader's
session ends, fires settled in the database so neither a dying leader nor a leader that has
not yet noticed it was deposed can fire a moment twice or lose one — and the issue's test:
two console processes, one schedule firing every second, the leader killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from auterity_desktop.core.db import Database
from auterity_desktop.core.leadership import Leadership, lock_key
from auterity_desktop.platform import Platform
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import RunRow, ScheduleStateRow
from auterity_desktop.services.workflows.scheduler import Scheduler
from tests.services.conftest import Stack, build_stack, close_stack
from tests.services.workflows.conftest import new_engine
from tests.services.workflows.test_scheduler import START, scheduled

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "Correct-Horse-42!"


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    await database.initialize()
    try:
        yield database
    finally:
        await database.cleanup()


async def lock_holder(database: Database, name: str) -> int | None:
    """The server process id of the session holding ``name``'s advisory lock."""
    key = lock_key(name)
    async with database.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = :high AND objid = :low"
                ),
                {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
            )
        ).scalar()


async def test_one_leader_and_the_next_takes_over_when_it_closes(postgres_url: str) -> None:
    async with opened(postgres_url) as first_db, opened(postgres_url) as second_db:
        first, second = Leadership(first_db, "scheduler"), Leadership(second_db, "scheduler")
        try:
            assert sorted(await asyncio.gather(first.refresh(), second.refresh())) == [
                False,
                True,
            ]
            leader, other = (first, second) if first.is_leader else (second, first)
            for _ in range(3):  # it stays put while the leader lives
                assert await leader.refresh()
                assert not await other.refresh()
            await leader.close()
            assert not leader.is_leader
            assert await other.refresh()
            assert not await leader.refresh()  # the former leader is now the one waiting
            assert Leadership(first_db, "something else").key != other.key
        finally:
            await first.close()
            await second.close()
        assert await lock_holder(first_db, "scheduler") is None  # closing released it


async def test_leadership_is_lost_with_its_session(postgres_url: str) -> None:
    """The server ends the leader's session (as when its process is killed): the lock goes
    to the next to try, and the old leader learns on its next refresh that it lost."""
    async with opened(postgres_url) as first_db, opened(postgres_url) as second_db:
        leader, other = Leadership(first_db, "scheduler"), Leadership(second_db, "scheduler")
        try:
            assert await leader.refresh()
            assert not await other.refresh()
            pid = await lock_holder(second_db, "scheduler")
            assert pid is not None
            async with second_db.engine.connect() as conn:
                assert (
                    await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                ).scalar()
            deadline = time.monotonic() + 10
            while not await other.refresh():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert not await leader.refresh()
            assert leader.is_leader is False
        finally:
            await leader.close()
            await other.close()


async def test_sqlite_is_always_leader(tmp_path: Path) -> None:
    async with opened(f"sqlite:///{tmp_path / 'one.db'}") as database:
        first, second = Leadership(database, "scheduler"), Leadership(database, "scheduler")
        assert await first.refresh()
        assert await second.refresh()
        await first.close()
        await second.close()


class Deposed(Leadership):
    """A leader cut off from the server that has not noticed yet: it still fires."""

    async def refresh(self) -> bool:
        return True


async def fires_of(database: Database, workflow_id: str) -> list[tuple[str, str]]:
    async with database.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(RunRow.params["scheduled_at"].as_string(), RunRow.owner).where(
                    RunRow.workflow_id == workflow_id
                )
            )
        ).all()
    return [(str(moment), str(owner)) for moment, owner in rows]


@asynccontextmanager
async def scheduler_on(
    url: str, leadership: type[Leadership] = Leadership
) -> AsyncIterator[tuple[Stack, WorkflowEngine, Scheduler]]:
    """A stack, engine and scheduler as one more process would have them."""
    stack = await build_stack(url)
    engine = new_engine(stack)
    await engine.initialize()
    scheduler = Scheduler(
        stack.database,
        engine.store,
        engine,
        interval=60,
        autostart=False,
        leadership=leadership(stack.database, "scheduler"),
    )
    await scheduler.initialize()
    try:
        yield stack, engine, scheduler
    finally:
        await scheduler.cleanup()
        await engine.drain()
        await engine.cleanup()
        await close_stack(stack)


async def test_two_deposed_leaders_still_fire_each_moment_once(postgres_url: str) -> None:
    async with (
        scheduler_on(postgres_url, Deposed) as (stack, engine, first),
        scheduler_on(postgres_url, Deposed) as (_, _, second),
    ):
        admin = await stack.admin()
        saved = await engine.store.create(
            admin, scheduled("*/5 * * * *", missed="run_all", overlap="allow")
        )
        await asyncio.gather(first.tick(START), second.tick(START))
        # closed for three fire times (one catch-up of three), then two fires on time
        for now in (START + 901, START + 1201, START + 1501):
            await asyncio.gather(first.tick(now), second.tick(now))
        fires = Counter(moment for moment, _ in await fires_of(stack.database, saved.id))
        assert len(fires) == 5
        assert set(fires.values()) == {1}
        assert len(first.fired) + len(second.fired) == 5


async def test_a_run_started_but_not_recorded_is_not_started_again(postgres_url: str) -> None:
    """A leader died after the engine committed the run and before ``last_fire`` was
    written: the next leader finds the run and only records it."""
    async with scheduler_on(postgres_url) as (stack, engine, scheduler):
        admin = await stack.admin()
        saved = await engine.store.create(admin, scheduled("*/5 * * * *"))
        await scheduler.tick(START)
        moment = START + 300
        orphan = await engine.execute_workflow(
            admin,
            saved.id,
            {"scheduled_at": datetime.fromtimestamp(moment, UTC).isoformat(), "trigger": "s"},
            trigger="s",
        )
        await engine.wait(orphan)
        assert await scheduler.tick(moment + 1) == []
        async with stack.database.session() as db:
            state = await db.get(ScheduleStateRow, (saved.id, "s"))
            assert state is not None
            assert state.last_fire == moment
        (later,) = await scheduler.tick(moment + 301)  # the next moment fires as usual
        await engine.wait(later)
        fires = Counter(m for m, _ in await fires_of(stack.database, saved.id))
        assert sorted(fires.values()) == [1, 1]


# -- the test: two processes ----------------------------------------------------


def every_second() -> dict[str, Any]:
    return {
        "name": "Every second",
        "settings": {"overlap": "allow"},
        "nodes": [
            {
                "id": "s",
                "type": "schedule_trigger",
                "name": "Each second",
                "params": {"cron": "* * * * * *", "timezone": "UTC", "missed_runs": "run_all"},
            },
            {"id": "log", "type": "log", "name": "Log", "params": {}},
        ],
        "edges": [{"id": "e1", "source": "s", "target": "log"}],
    }


@contextmanager
def consoles(postgres_url: str, tmp_path: Path, count: int) -> Iterator[dict[int, Any]]:
    """``count`` console-like processes (``scheduler_proc``); yields them by pid once each
    has started. Their logs go to ``console<i>.err`` for when something fails."""
    started = []
    with ExitStack() as files:
        try:
            for i in range(count):
                env = {
                    **os.environ,
                    "AUTERITY_DATABASE_URL": postgres_url,
                    "AUTERITY_DATA_DIR": str(tmp_path / f"console{i}"),
                }
                errors = files.enter_context((tmp_path / f"console{i}.err").open("w"))
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "tests.services.workflows.scheduler_proc"],
                        stdout=subprocess.PIPE,
                        stderr=errors,
                        text=True,
                        cwd=ROOT,
                        env=env,
                    )
                )
            for i, process in enumerate(started):
                assert process.stdout is not None
                line = process.stdout.readline()
                assert line.startswith("ready "), (line, (tmp_path / f"console{i}.err").read_text())
            yield {process.pid: process for process in started}
        finally:
            for process in started:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in started:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if process.stdout is not None:
                    process.stdout.close()


def pid_of(owner: str) -> int:
    return int(owner.rsplit(":", 2)[1])  # "host:pid:token"


async def until(
    database: Database, workflow_id: str, done: Any, within: float
) -> list[tuple[str, str]]:
    deadline = time.monotonic() + within
    while not done(fires := await fires_of(database, workflow_id)):
        assert time.monotonic() < deadline, fires
        await asyncio.sleep(0.1)
    return fires


async def test_two_processes_fire_each_moment_once_and_survive_the_leaders_death(
    postgres_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    async with Platform.from_environment(background=False) as platform:
        await platform.security.users.create_first_admin("alice", PASSWORD)
        admin = (
            await platform.security.authenticate_user({"username": "alice", "password": PASSWORD})
        ).principal
        saved = await platform.workflows.create(admin, every_second())
        database = platform.database
        with consoles(postgres_url, tmp_path, 2) as procs:
            before = await until(database, saved.id, lambda f: len(f) >= 4, within=30)
            leaders = {pid_of(owner) for _, owner in before}
            assert len(leaders) == 1, before  # while both run, one process fires
            (leader,) = leaders
            (survivor,) = set(procs) - {leader}
            procs[leader].send_signal(signal.SIGKILL)
            procs[leader].wait(10)
            killed_at = time.time()

            def survivor_fired_after_the_kill(fires: list[tuple[str, str]]) -> bool:
                return (
                    sum(
                        1
                        for moment, owner in fires
                        if pid_of(owner) == survivor
                        and datetime.fromisoformat(moment).timestamp() > killed_at
                    )
                    >= 3
                )

            await until(database, saved.id, survivor_fired_after_the_kill, within=20)
            procs[survivor].send_signal(signal.SIGTERM)
            procs[survivor].wait(30)
        fires = await fires_of(database, saved.id)

    per_moment = Counter(moment for moment, _ in fires)
    assert set(per_moment.values()) == {1}, per_moment  # no moment fired twice
    moments = sorted(datetime.fromisoformat(m).timestamp() for m in per_moment)
    assert [b - a for a, b in pairwise(moments)] == [1.0] * (len(moments) - 1)  # none lost
    by_owner = {pid_of(owner) for _, owner in fires}
    assert by_owner == {leader, survivor}
    last_of_leader = max(
        datetime.fromisoformat(m).timestamp() for m, o in fires if pid_of(o) == leader
    )
    first_of_survivor = min(
        datetime.fromisoformat(m).timestamp() for m, o in fires if pid_of(o) == survivor
    )
    assert last_of_leader < first_of_survivor  # the survivor only took over
