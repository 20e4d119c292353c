"""Group commit for run and node state.

Every node transition must be durable before anything depends on it, but one transaction
per transition caps throughput at the database's commit rate, and one driver round trip per
statement caps it again. Writers hand their change to this queue as a prepared statement
plus its parameters and await it; everything queued while a commit is in progress goes into
the next single transaction, where the changes of one statement are sent together
(``executemany``). Each caller still returns only after its own change is committed.

Grouping reorders changes across statements, which is safe because one batch never holds
two changes to the same row: every writer awaits its own change before making the next, and
the statements of one ``write`` call run in the order given.

A batch that fails because the database went away (a PostgreSQL restart, a dropped
connection, a locked SQLite file) is tried again with backoff for up to ``RETRY_FOR``
seconds rather than failing the runs it belongs to: their state is only ever written
from here, so losing a batch would leave runs that nobody drives. Changes are updates of
a row to a given state, which can be applied twice; only an insert whose commit went
through unseen could fail on retry, and it then fails as before.

**Fencing.** A process that stalls past its run lease (a starved machine, a suspended
laptop, a long pause) finds its runs taken over by another process. It learns so at its next
heartbeat, but until then it would go on writing node results over the new driver's. So a
writer that knows its engine's ``owner`` reads, after a batch's changes and before its
commit, the owners of the runs the batch changes, locking their rows (``FOR UPDATE``);
should another owner hold one now, the transaction is rolled back and written again without
the ``write`` calls touching that run: each of those raises ``RunLost`` and ``on_lost`` is
told, so the run stops being driven here. A take-over therefore commits either before the
check (the changes are refused) or after the commit (the new driver reads them), never in
between. ``fence_needed`` says when to check: the engine checks every batch on PostgreSQL,
and on SQLite only while its leases may have run out (see ``WorkflowEngine``). Statements in
``takes`` claim a run rather than change it (a run starting to be driven here) and are never
refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from auterity_desktop.core.db import Database
from auterity_desktop.services.workflows.models import RunRow

Change = tuple[Executable, dict[str, Any]]
Entry = tuple[tuple[Change, ...], "asyncio.Future[None]"]
RETRY_FOR = 60.0
logger = logging.getLogger(__name__)


# PostgreSQL's SQLSTATEs for "not now": class 08 (the connection failed or was lost), the
# server shutting down, crashed or still starting up, and a transaction the server rolled
# back to break a deadlock or a serialization conflict (it succeeds when tried again).
# asyncpg's errors carry no OperationalError type for these: while a restarted server
# replays its log, a connection gets 57P03 "the database system is starting up".
TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01")


# the owners of a batch's runs, their rows locked until the commit (should two processes'
# batches then wait on each other, PostgreSQL rolls one back as a deadlock, which is tried
# again); SQLite has no row locks and needs none: one writer at a time holds the whole
# database until its commit
_RUN_OWNERS = (
    select(RunRow.id, RunRow.owner)
    .where(RunRow.id.in_(bindparam("runs", expanding=True)))
    .order_by(RunRow.id)
    .with_for_update()
)


class _Refused(Exception):
    """A batch held changes of runs another process took over: roll it back."""


class RunLost(Exception):
    """Another process drives this run now; the change was not written."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} is driven by another process now")
        self.run_id = run_id


def transient(exc: BaseException) -> bool:
    """The database was unreachable or busy, not the change wrong."""
    if isinstance(exc, OSError | ConnectionError | InterfaceError | OperationalError):
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(orig, OSError | ConnectionError)
    ):
        return True
    return str(getattr(orig, "sqlstate", None) or "").startswith(TRANSIENT_SQLSTATES)


class StateWriter:
    def __init__(
        self,
        database: Database,
        owner: str | None = None,
        *,
        takes: Collection[Executable] = (),
        on_lost: Callable[[str], None] | None = None,
        fence_needed: Callable[[], bool] = lambda: True,
    ) -> None:
        self.database = database
        self.owner = owner  # None: no fencing (the writer is not an engine's)
        self.takes = takes
        self.on_lost = on_lost
        self.fence_needed = fence_needed
        self._pending: list[Entry] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0

    async def write(self, *changes: Change) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((changes, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        await future

    async def _flush_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                lost = await self._commit(batch)
            except BaseException as exc:  # every waiter of this batch learns of the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                        )
                if not isinstance(exc, Exception):
                    raise
                continue
            self.commits += 1
            for changes, future in batch:
                refused = sorted(self._runs(changes) & lost)
                if not future.done():
                    if refused:
                        future.set_exception(RunLost(refused[0]))
                    else:
                        future.set_result(None)
            if self.on_lost is not None:
                for run_id in sorted(lost):
                    self.on_lost(run_id)

    def _runs(self, changes: tuple[Change, ...]) -> set[str]:
        """The runs whose state these changes alter (claims and new runs left out)."""
        found = set()
        for statement, params in changes:
            if statement not in self.takes:
                run_id = params.get("k_run", params.get("run_id"))
                if isinstance(run_id, str):
                    found.add(run_id)
        return found

    async def _owned_elsewhere(self, conn: AsyncConnection, batch: Sequence[Entry]) -> set[str]:
        """The batch's runs another owner holds now; their rows stay locked until the end
        of the transaction."""
        runs = set().union(*(self._runs(changes) for changes, _ in batch))
        if not runs:
            return set()
        rows = await conn.execute(_RUN_OWNERS, {"runs": sorted(runs)})
        return {r.id for r in rows if r.owner is not None and r.owner != self.owner}

    async def _commit(self, batch: Sequence[Entry]) -> set[str]:
        """Write the batch in one transaction; returns the runs left out (see Fencing)."""
        deadline = time.monotonic() + RETRY_FOR
        delay = 0.1
        lost: set[str] = set()
        while True:
            try:
                async with self.database.begin() as conn:
                    groups: dict[Executable, list[dict[str, Any]]] = {}
                    for changes, _ in batch:
                        if not (lost and self._runs(changes) & lost):
                            for statement, params in changes:
                                groups.setdefault(statement, []).append(params)
                    for statement, rows in groups.items():
                        await conn.execute(statement, rows if len(rows) > 1 else rows[0])
                    if self.owner is not None and self.fence_needed():
                        found = await self._owned_elsewhere(conn, batch)
                        if found - lost:
                            lost |= found
                            raise _Refused  # rolled back; written again without them
                return lost
            except _Refused:
                continue
            except Exception as exc:
                if not transient(exc) or time.monotonic() + delay > deadline:
                    raise
                logger.warning(
                    "run state could not be written; trying again",
                    extra={"error": str(exc)[:200], "retry_in": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
