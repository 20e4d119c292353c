"""Team mode workers on real PostgreSQL: three ``auterity worker`` processes share 500 queued
runs of a 5-node workflow, a worker killed with SIGKILL leaves its runs to the others, and
the PostgreSQL server restarted mid-load loses no run.

Every node of interest calls a real local HTTP server, so "no node executes twice" is
counted from the outside, where a duplicate would really have happened twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from auterity_desktop.platform import Platform
from auterity_desktop.services.workflows.models import RunRow
from tests.private_postgres import private_postgres_server
from tests.services.workflows.local_http import BusyServer

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "Correct-Horse-42!"


async def first_admin(platform: Platform) -> Any:
    """Create the first administrator and sign in: the principal."""
    await platform.security.users.create_first_admin("alice", PASSWORD)
    credentials = {"username": "alice", "password": PASSWORD}
    return (await platform.security.authenticate_user(credentials)).principal


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self.lock = threading.Lock()


@contextmanager
def counting_server() -> Iterator[tuple[str, Calls]]:
    calls = Calls()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with calls.lock:
                calls.seen.append((int(body["n"]), str(body["node"])))
            if body.get("pause"):
                time.sleep(float(body["pause"]))
            data = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = BusyServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/calls", calls
    finally:
        server.shutdown()
        server.server_close()


def workflow(url: str, pause: float = 0.0) -> dict[str, Any]:
    """A trigger and four calls in a chain; its runs go to workers."""
    names = ["a", "b", "c", "d"]
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "manual_trigger", "name": "Start"}]
    for name in names:
        nodes.append(
            {
                "id": name,
                "type": "http_request",
                "name": name.upper(),
                "params": {
                    "method": "POST",
                    "url": url,
                    "body": {"n": "{{ $params.n }}", "node": name, "pause": pause},
                },
            }
        )
    ids = ["start", *names]
    edges = [{"id": f"{a}-{b}", "source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {"name": "Lead follow-up", "nodes": nodes, "edges": edges,
            "settings": {"execution": "workers"}}  # fmt: skip


@contextmanager
def workers(
    postgres_url: str, tmp_path: Path, count: int, lease: float | None = 3
) -> Iterator[list[tuple[Any, str]]]:
    """``count`` worker processes; yields (process, owner) once each has started.

    A short run lease lets the others take over a killed worker's runs quickly. On a machine
    so busy that a live worker's heartbeat comes later than the lease, its runs are taken
    over too (runs are at-least-once), so tests that kill nobody keep the normal lease."""
    started = []
    try:
        for i in range(count):
            env = {
                **os.environ,
                "AUTERITY_DATABASE_URL": postgres_url,
                "AUTERITY_DATA_DIR": str(tmp_path / f"worker{i}"),
            }
            if lease is not None:
                env["AUTERITY_RUN_LEASE"] = str(lease)
            process = subprocess.Popen(
                [sys.executable, "-m", "auterity_desktop", "worker", "--concurrency", "8",
                 "--poll", "0.2"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
            )  # fmt: skip
            started.append(process)
        owners = []
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("Worker "), line
            owners.append(line.split()[1])
        yield list(zip(started, owners, strict=True))
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


async def until_done(platform: Platform, total: int, within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    while True:
        async with platform.database.engine.connect() as conn:
            rows = (
                await conn.execute(select(RunRow.status, func.count()).group_by(RunRow.status))
            ).all()
        counts = {status: int(n) for status, n in rows}
        if counts.get("succeeded", 0) + counts.get("failed", 0) >= total:
            return counts
        assert time.monotonic() < deadline, counts
        await asyncio.sleep(0.25)


async def failed_runs(platform: Platform) -> list[tuple[str, str | None, str | None]]:
    """Why runs failed, for an assertion's message."""
    async with platform.database.engine.connect() as conn:
        rows = await conn.execute(
            select(RunRow.id, RunRow.owner, RunRow.error).where(RunRow.status == "failed")
        )
        return [(str(i), owner, error) for i, owner, error in rows]


async def test_three_workers_run_500_runs_and_no_node_twice(
    postgres_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    with counting_server() as (url, calls):
        async with Platform.from_environment(background=False) as platform:
            admin = await first_admin(platform)
            saved = await platform.workflows.create(admin, workflow(url))
            with workers(postgres_url, tmp_path, 3, lease=None) as procs:
                for n in range(500):
                    await platform.engine.execute_workflow(admin, saved.id, {"n": n})
                counts = await until_done(platform, 500, within=240)
                async with platform.database.engine.connect() as conn:
                    owners = Counter((await conn.execute(select(RunRow.owner))).scalars())
                failed = await failed_runs(platform)
            assert counts == {"succeeded": 500}, failed
            seen = Counter(calls.seen)
            assert len(seen) == 500 * 4
            assert set(seen.values()) == {1}  # every node of every run exactly once
            assert set(owners) <= {owner for _, owner in procs}
            assert len(owners) >= 2  # the load was shared


async def test_a_killed_workers_runs_finish_on_the_others(
    postgres_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
    with counting_server() as (url, calls):
        async with Platform.from_environment(background=False) as platform:
            admin = await first_admin(platform)
            saved = await platform.workflows.create(admin, workflow(url, pause=0.3))
            with workers(postgres_url, tmp_path, 3) as procs:
                for n in range(48):
                    await platform.engine.execute_workflow(admin, saved.id, {"n": n})
                victim, victim_owner = procs[0]
                deadline = time.monotonic() + 60
                while True:  # until the victim drives some runs
                    async with platform.database.engine.connect() as conn:
                        mine = list(
                            (
                                await conn.execute(
                                    select(RunRow.id).where(
                                        RunRow.owner == victim_owner, RunRow.status == "running"
                                    )
                                )
                            ).scalars()
                        )
                    if mine:
                        break
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                counts = await until_done(platform, 48, within=120)
                async with platform.database.engine.connect() as conn:
                    rows = (
                        await conn.execute(
                            select(RunRow.id, RunRow.owner).where(RunRow.id.in_(mine))
                        )
                    ).all()
            assert counts == {"succeeded": 48}
            assert all(owner != victim_owner for _, owner in rows)  # taken over
            seen = Counter(calls.seen)
            assert len(seen) == 48 * 4  # every call happened
            repeated = sum(n - 1 for n in seen.values())
            # only a call in flight on the killed worker can happen again (at-least-once
            # for the node that was running when its process died): at most one per run
            assert repeated <= len(mine)


async def until_done_across_outages(platform: Platform, total: int, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            counts = await until_done(platform, total, within=0.5)
            assert counts == {"succeeded": total}
            return
        except (AssertionError, OSError, DBAPIError):  # not yet, or the server is away
            assert time.monotonic() < deadline, "runs did not finish after the restart"
            await asyncio.sleep(0.25)


async def test_workers_ride_out_a_database_restart(tmp_path: Path, monkeypatch: Any) -> None:
    with private_postgres_server() as server, counting_server() as (url, calls):
        postgres_url = server.url  # a server of its own: the restart cuts no other test
        monkeypatch.setenv("AUTERITY_DATABASE_URL", postgres_url)
        async with Platform.from_environment(background=False) as platform:
            admin = await first_admin(platform)
            saved = await platform.workflows.create(admin, workflow(url, pause=0.1))
            console = Platform.from_environment(
                {"AUTERITY_DATABASE_URL": postgres_url,
                 "AUTERITY_DATA_DIR": str(tmp_path / "console")},
                background=True, configure_logs=False,
            )  # fmt: skip
            await console.start()
            finished: list[Any] = []
            connection: list[bool] = []
            console.events.subscribe("run_finished", finished.append)
            console.events.subscribe(
                "team_connection_changed", lambda e: connection.append(e.payload["connected"])
            )
            with workers(postgres_url, tmp_path, 3):
                for n in range(60):
                    await platform.engine.execute_workflow(admin, saved.id, {"n": n})
                while len(calls.seen) < 40:  # noqa: ASYNC110 - well under way (another thread counts)
                    await asyncio.sleep(0.05)
                server.restart()
                before_done = len(calls.seen)
                await until_done_across_outages(platform, 60, within=180)
                # the console's relay noticed, reconnected, and hears the workers again
                deadline = time.monotonic() + 60
                while not (False in connection and connection[-1]):
                    assert time.monotonic() < deadline, connection
                    await asyncio.sleep(0.1)
                after = await platform.engine.execute_workflow(admin, saved.id, {"n": 60})
                while not any(e.payload.get("run_id") == after for e in finished):
                    assert time.monotonic() < deadline, "no event after the reconnection"
                    await asyncio.sleep(0.1)
            await console.stop()
            assert {e.source for e in finished} == {"team"}
            assert before_done < 60 * 4  # the restart really came mid-load
            seen = Counter(calls.seen)
            assert len(seen) == 61 * 4  # nothing lost: every call of every run happened
