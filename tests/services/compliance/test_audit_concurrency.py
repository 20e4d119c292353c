"""The audit chain stays one chain (no forks, no gaps) under concurrent writers.

Four writer processes start at the same moment and append as fast as they can on the same
database; afterwards the chain verifies, its sequence runs 1..N without holes, and every
entry each process wrote is present exactly once. Run on real PostgreSQL and on a SQLite
file. A focused in-process test races two ``AuditTrail`` objects on two engines (so the
in-process ``asyncio.Lock`` does not serialise them) with many ``record`` calls each.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.services.compliance.audit_trail import AuditItem, AuditTrail
from auterity_desktop.services.compliance.models import AuditEntryRow

REPO_ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 4
PER_PROCESS = 300


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'concurrent.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def open_trail(url: str) -> tuple[Database, AuditTrail]:
    database = Database(url)
    audit = AuditTrail(database, EventBus(), retention_days=30)
    await database.initialize()
    await audit.initialize()
    return database, audit


async def chain_details(database: Database) -> tuple[list[int], list[dict[str, Any]]]:
    async with database.engine.connect() as conn:
        rows = (
            await conn.execute(select(AuditEntryRow.seq, AuditEntryRow.body).order_by("seq"))
        ).all()
    return [r.seq for r in rows], [json.loads(r.body)["details"] for r in rows]


async def assert_one_chain(database: Database, audit: AuditTrail, expected: set[Any]) -> None:
    result = await audit.verify()
    assert result.ok, result.message
    seqs, details = await chain_details(database)
    assert result.checked == len(expected) == len(seqs)
    assert seqs == list(range(1, len(expected) + 1))  # no holes, no duplicates
    written = Counter((d["proc"], d["n"]) for d in details)
    assert set(written) == expected
    assert max(written.values()) == 1
    assert result.head_seq == len(expected)


def _run_writers(url: str, tmp_path: Path) -> tuple[list[dict[str, Any]], float]:
    """Start the writer processes, release them together, collect their reports."""
    go = tmp_path / "go"
    readies = [tmp_path / f"ready{i}" for i in range(PROCESSES)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.services.compliance.audit_writer_proc",
                url,
                str(i),
                str(PER_PROCESS),
                str(readies[i]),
                str(go),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in readies):
            failed = [p for p in procs if p.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "the writers did not get ready in time"
            time.sleep(0.01)
        go.touch()
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    elapsed = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return reports, elapsed


async def test_writer_processes_keep_one_chain(database_url: str, tmp_path: Path) -> None:
    # Migrate once here, so the writers only open an up-to-date database.
    database, audit = await open_trail(database_url)
    try:
        reports, elapsed = await asyncio.to_thread(_run_writers, database_url, tmp_path)
        assert [r["errors"] for r in reports] == [[]] * PROCESSES
        assert [r["written"] for r in reports] == [PER_PROCESS] * PROCESSES
        # The cross-process lock serialised the appends: none lost a race and needed the
        # retry backstop (without the lock this load makes dozens, and some writers run out
        # of retries).
        assert [r["conflicts"] for r in reports] == [0] * PROCESSES
        total = PROCESSES * PER_PROCESS
        print(
            f"\n{database.dialect}: {total} entries from {PROCESSES} processes in "
            f"{elapsed:.2f} s = {total / elapsed:.0f} entries/s"
        )
        expected = {(p, n) for p in range(PROCESSES) for n in range(PER_PROCESS)}
        await assert_one_chain(database, audit, expected)
    finally:
        await database.cleanup()


async def test_two_trails_on_two_engines_race_into_one_chain(database_url: str) -> None:
    (db_a, trail_a), (db_b, trail_b) = (
        await open_trail(database_url),
        await open_trail(database_url),
    )
    per_trail = 150
    try:

        async def load(trail: AuditTrail, proc: int) -> None:
            # single records (each its own group-commit flush when awaited in turn) racing
            # the other trail, then batches, then one burst of concurrent records
            for n in range(0, 50):
                await trail.record("racer", "race.one", "", "success", {"proc": proc, "n": n})
            for first in range(50, 100, 10):
                await trail.record_many(
                    [
                        AuditItem("racer", "race.batch", "", "success", {"proc": proc, "n": n})
                        for n in range(first, first + 10)
                    ]
                )
            await asyncio.gather(
                *(
                    trail.record("racer", "race.burst", "", "success", {"proc": proc, "n": n})
                    for n in range(100, per_trail)
                )
            )

        await asyncio.gather(load(trail_a, 0), load(trail_b, 1))
        expected = {(p, n) for p in range(2) for n in range(per_trail)}
        await assert_one_chain(db_a, trail_a, expected)
    finally:
        await db_a.cleanup()
        await db_b.cleanup()
