"""One audit writer process for the concurrency tests.

    python -m tests.services.compliance.audit_writer_proc URL PROC COUNT READY_FILE GO_FILE

Opens its own ``Database`` + ``AuditTrail``, creates READY_FILE, waits for GO_FILE (the
barrier: every writer starts at the same moment), then appends COUNT entries as fast as it
can, in chunks of ten that rotate between ``record_many`` (one batch), ten concurrent
``record`` calls (group commit) and ten sequential ``record`` calls. Every entry carries
``{"proc": PROC, "n": k}``. The last line of stdout is a JSON report: entries written, the
errors met (never raised: the test asserts there are none), how many appends lost a race for
a ``seq`` and had to be retried, and the start/end wall times.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.services.compliance.audit_trail import AuditItem, AuditTrail

CHUNK = 10


async def write(url: str, proc: int, count: int, ready: Path, go: Path) -> dict[str, Any]:
    database = Database(url)
    events = EventBus()
    audit = AuditTrail(database, events, retention_days=30)
    await database.initialize()
    await audit.initialize()
    errors: list[str] = []
    written = 0
    conflicts = 0  # appends that lost a race for a seq (the retry backstop had to act)
    append = audit._append

    async def counted_append(items: Any) -> Any:
        nonlocal conflicts
        try:
            return await append(items)
        except IntegrityError:
            conflicts += 1
            raise

    audit._append = counted_append  # type: ignore[method-assign]

    async def one(n: int) -> None:
        nonlocal written
        try:
            await audit.record(
                "writer", "load.entry", f"proc{proc}", "success", {"proc": proc, "n": n}
            )
            written += 1
        except Exception as exc:  # reported, and the test fails on it
            errors.append(f"record {n}: {exc!r}")

    try:
        ready.touch()
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the barrier was never released")
            await asyncio.sleep(0.001)
        started = time.time()
        for index, first in enumerate(range(0, count, CHUNK)):
            numbers = range(first, min(first + CHUNK, count))
            mode = index % 3
            if mode == 0:
                items = [
                    AuditItem(
                        "writer", "load.batch", f"proc{proc}", "success", {"proc": proc, "n": n}
                    )
                    for n in numbers
                ]
                try:
                    written += len(await audit.record_many(items))
                except Exception as exc:
                    errors.append(f"record_many {first}: {exc!r}")
            elif mode == 1:
                await asyncio.gather(*(one(n) for n in numbers))
            else:
                for n in numbers:
                    await one(n)
        ended = time.time()
    finally:
        await audit.cleanup()
        await events.close()
        await database.cleanup()
    return {
        "proc": proc,
        "written": written,
        "errors": errors,
        "conflicts": conflicts,
        "start": started,
        "end": ended,
    }


def main(argv: list[str]) -> None:
    url, proc, count, ready, go = argv
    report = asyncio.run(write(url, int(proc), int(count), Path(ready), Path(go)))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
