"""Audit trail at scale: append throughput, full-chain verify, and the viewer's first pages.

On a fresh SQLite database in a temporary folder:
  1. appends N entries (default 1,000,000) in batches through ``AuditTrail.record_many``;
  2. verifies the whole chain, and next to it hashes the same canonical bytes with plain
     ``hashlib.sha256`` (read into memory first, so only hashing is timed): target verify
     ≤ 2× raw hashing;
  3. times the GUI's ``AuditTableModel`` producing its first page, unfiltered and filtered
     (actor; free text), on a real qasync loop offscreen: target < 100 ms each.

    python benchmarks/audit.py [--entries 1000000] [--batch 10000]
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import asyncio
import hashlib
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from auterity_desktop.core.db import Database
from auterity_desktop.services.compliance.audit_trail import (
    AuditFilter,
    AuditItem,
    AuditTrail,
)

ACTIONS = ("vehicle.priced", "lead.assigned", "workflow.saved", "auth.login", "run.finished")


async def append(trail: AuditTrail, total: int, batch: int) -> float:
    started = time.perf_counter()
    done = 0
    while done < total:
        size = min(batch, total - done)
        await trail.record_many(
            [
                AuditItem(
                    f"clerk{(done + i) % 50}",
                    ACTIONS[(done + i) % 5],
                    f"inventory/v{done + i}",
                    "success" if (done + i) % 17 else "failure",
                    {"n": done + i, "price": 19_990},
                )
                for i in range(size)
            ]
        )
        done += size
        if done % (batch * 20) == 0:
            print(f"  appended {done:,}", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def raw_hash_seconds(path: Path) -> float:
    conn = sqlite3.connect(path)
    data = [
        f"{prev}\n{body}".encode()
        for prev, body in conn.execute("SELECT prev_hash, body FROM audit_entries ORDER BY seq")
    ]
    conn.close()
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for item in data:
        sha256(item).hexdigest()
    return time.perf_counter() - started


def viewer_first_pages(trail: AuditTrail) -> dict[str, float]:
    import qasync
    from PySide6.QtWidgets import QApplication

    from auterity_desktop.ui.models.audit_table_model import AuditTableModel
    from auterity_desktop.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    tasks = TaskRunner(lambda exc: print("error:", exc, file=sys.stderr))
    model = AuditTableModel(trail.page, tasks)
    timings: dict[str, float] = {}
    cases = {
        "first page": AuditFilter(),
        "filtered by actor": AuditFilter(actor="clerk7"),
        "filtered by outcome + action": AuditFilter(outcome="failure", action="auth.login"),
        "free-text search": AuditFilter(text="inventory/v99999"),
    }
    try:
        loop.run_until_complete(model.reload(AuditFilter()))  # warm the connection pool
        for label, flt in cases.items():
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                loop.run_until_complete(model.reload(flt))
                runs.append(time.perf_counter() - started)
            timings[label] = sorted(runs)[2]
            timings[f"{label} rows"] = model.rowCount()
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    return timings


async def build(path: Path, entries: int, batch: int) -> tuple[float, float, int]:
    database = Database(f"sqlite:///{path}")
    await database.initialize()
    trail = AuditTrail(database)
    try:
        append_seconds = await append(trail, entries, batch)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            result = await trail.verify()
            runs.append(time.perf_counter() - started)
            assert result.ok, result.message
        return append_seconds, sorted(runs)[1], result.checked
    finally:
        await database.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.db"
        append_s, verify_s, checked = asyncio.run(build(path, args.entries, args.batch))
        raw_s = sorted(raw_hash_seconds(path) for _ in range(3))[1]

        async def open_trail() -> tuple[Database, AuditTrail]:
            database = Database(f"sqlite:///{path}", migrate=False)
            await database.initialize()
            return database, AuditTrail(database)

        database, trail = asyncio.run(open_trail())
        try:
            pages = viewer_first_pages(trail)
        finally:
            asyncio.run(database.cleanup())
    ratio = verify_s / raw_s
    print(f"entries                 : {checked:,}")
    rate = checked / append_s
    print(f"append (batches of {args.batch:,}): {append_s:.1f} s = {rate:,.0f} entries/s")
    print(f"verify full chain       : {verify_s:.2f} s (median of 3)")
    print(f"raw sha256, same bytes  : {raw_s:.2f} s")
    verdict = "OK" if ratio <= 2.0 else "TOO SLOW"
    print(f"verify / raw hashing    : {ratio:.2f} (target ≤ 2.0): {verdict}")
    worst = 0.0
    for label in (
        "first page",
        "filtered by actor",
        "filtered by outcome + action",
        "free-text search",
    ):
        ms = pages[label] * 1000
        worst = max(worst, ms) if label != "free-text search" else worst
        print(f"viewer {label:<28}: {ms:7.1f} ms ({int(pages[label + ' rows'])} rows)")
    ok = ratio <= 2.0 and worst < 100
    print(f"viewer first pages (target < 100 ms): {'OK' if worst < 100 else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
