"""Team mode throughput: runs per second with 1, 2 and 4 ``auterity worker`` processes on
the local PostgreSQL, and what claiming a run costs next to a bare SKIP LOCKED dequeue.

The workflow is a trigger and four nodes that each wait 50 ms (``delay``): I/O-bound, so
more workers (and more runs at once per worker) should scale until the database or the
CPU says no. Each round queues ``--runs`` runs, starts the workers, and times until every
run has succeeded. The claim overhead is measured in this process on a fresh database:
``WorkflowEngine.claim_ids(1)`` (the statement a worker runs, with its lease and owner
columns) per claimed run, next to a bare ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING`` loop on a one-column table through asyncpg, in the same run.

    python benchmarks/team.py [--admin-url postgresql://…/postgres] [--runs 300]
                              [--concurrency 16] [--workers 1 2 4] [--claims 2000]

It needs the OS keyring (run it inside tests/keyring_session.sh on a headless machine).
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import asyncio
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Correct-Horse-42!"
DEFAULT_ADMIN = os.environ.get(
    "AUTERITY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database(admin_url: str) -> str:
    name = f"auterity_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_plain(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_plain(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def workflow() -> dict[str, Any]:
    ids = ["start", "a", "b", "c", "d"]
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "manual_trigger", "name": "Start"}]
    nodes += [
        {"id": n, "type": "delay", "name": n.upper(), "params": {"seconds": 0.05}} for n in ids[1:]
    ]
    edges = [{"id": f"{a}-{b}", "source": a, "target": b} for a, b in itertools.pairwise(ids)]
    return {"name": "Bench", "nodes": nodes, "edges": edges,
            "settings": {"execution": "workers"}}  # fmt: skip


def start_workers(url: str, count: int, concurrency: int, folder: Path) -> list[Any]:
    processes = []
    for i in range(count):
        env = {**os.environ, "AUTERITY_DATABASE_URL": url,
               "AUTERITY_DATA_DIR": str(folder / f"w{count}-{i}")}  # fmt: skip
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "auterity_desktop",
                    "worker",
                    "--concurrency",
                    str(concurrency),
                    "--poll",
                    "0.1",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=ROOT,
                env=env,
            )
        )
    for process in processes:
        line = process.stdout.readline()
        if not line.startswith("Worker "):
            raise SystemExit(f"a worker did not start: {line!r}")
    return processes


def stop_workers(processes: list[Any]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(60)
        process.stdout.close()


async def first_admin(platform: Any) -> Any:
    """Create the first administrator and sign in: the principal."""
    await platform.security.users.create_first_admin("alice", PASSWORD)
    credentials = {"username": "alice", "password": PASSWORD}
    return (await platform.security.authenticate_user(credentials)).principal


async def throughput(args: argparse.Namespace, url: str, folder: Path) -> list[tuple[int, float]]:
    from auterity_desktop.platform import Platform
    from auterity_desktop.services.workflows.models import RunRow

    results = []
    os.environ["AUTERITY_DATABASE_URL"] = url
    async with Platform.from_environment(background=False) as platform:
        admin = await first_admin(platform)
        saved = await platform.workflows.create(admin, workflow())
        for count in args.workers:
            for n in range(args.runs):
                await platform.engine.execute_workflow(admin, saved.id, {"n": n})
            began = time.perf_counter()
            processes = start_workers(url, count, args.concurrency, folder)
            started = time.perf_counter()
            try:
                while True:
                    async with platform.database.engine.connect() as conn:
                        left = (
                            await conn.execute(
                                select(func.count()).where(RunRow.status != "succeeded")
                            )
                        ).scalar_one()
                    if left == 0:
                        break
                    await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - started
            finally:
                stop_workers(processes)
            rate = args.runs / elapsed
            results.append((count, rate))
            print(f"  {count} worker(s): {args.runs} runs in {elapsed:.2f} s = {rate:,.1f} runs/s "
                  f"(workers took {started - began:.1f} s to start, not counted)")  # fmt: skip
    return results


async def claim_overhead(args: argparse.Namespace, url: str) -> tuple[float, float]:
    from auterity_desktop.platform import Platform

    os.environ["AUTERITY_DATABASE_URL"] = url
    async with Platform.from_environment(background=False) as platform:
        admin = await first_admin(platform)
        saved = await platform.workflows.create(admin, workflow())
        for n in range(args.claims):
            await platform.engine.execute_workflow(admin, saved.id, {"n": n})
        began = time.perf_counter()
        claimed = 0
        while await platform.engine.claim_ids(1):
            claimed += 1
        ours = (time.perf_counter() - began) / claimed
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute("CREATE TABLE bare_jobs (id bigserial PRIMARY KEY, taken boolean)")
        await conn.execute(
            "INSERT INTO bare_jobs (taken) SELECT false FROM generate_series(1, $1)", args.claims
        )
        sql = (
            "UPDATE bare_jobs SET taken = true WHERE id = (SELECT id FROM bare_jobs WHERE NOT "
            "taken ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
        )
        began = time.perf_counter()
        taken = 0
        while await conn.fetchval(sql) is not None:
            taken += 1
        bare = (time.perf_counter() - began) / taken
    finally:
        await conn.close()
    return ours, bare


async def main(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="auterity-team-"))
    os.environ["AUTERITY_DATA_DIR"] = str(folder / "console")
    url = await _create_database(args.admin_url)
    claim_url = await _create_database(args.admin_url)
    try:
        print(f"runs of a 5-node workflow (4 × 50 ms waits), {args.concurrency} at once per "
              f"worker, on {make_url(url).render_as_string()}")  # fmt: skip
        results = await throughput(args, url, folder)
        ours, bare = await claim_overhead(args, claim_url)
    finally:
        await _drop_database(args.admin_url, url)
        await _drop_database(args.admin_url, claim_url)
    base = results[0][1]
    print()
    print("workers  runs/s   × one worker")
    for count, rate in results:
        print(f"{count:>7}  {rate:7.1f}   {rate / base:5.2f}")
    print()
    print(f"claim per run: ours {ours * 1e6:,.0f} µs, bare SKIP LOCKED dequeue "
          f"{bare * 1e6:,.0f} µs ({ours / bare:.1f}×; over {args.claims:,} runs)")  # fmt: skip
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--claims", type=int, default=2000)
    sys.exit(asyncio.run(main(parser.parse_args())))
