"""``Scheduler``: fires schedule triggers on time while the console or a worker runs.

Every ``interval`` seconds it looks at each saved workflow's schedule triggers and the time
each last fired (kept in the database), works out the fires due since then with croniter in
the trigger's time zone, and applies the trigger's missed-run policy — ``skip`` (only a fire
that is due right now), ``run_once`` (one run for any number of missed fires) or ``run_all``
(each missed fire, at most ``MAX_CATCH_UP``) — and the workflow's overlap policy
(``settings.overlap``: ``skip`` while a run is in progress, ``queue`` to fire once it ends,
``allow``); a run parked on an approval is in progress. A trigger seen for the first time
starts counting from now.

Any number of consoles and workers may share one database; only the process holding the
``scheduler`` leadership (see ``core.leadership``) fires. The others still tick — a refresh
of the leadership and nothing more — so one of them takes over within a tick of the leader's
death, and fires what came due meanwhile under the missed-run policy.

Leadership alone cannot make a fire happen exactly once (a cut-off leader may not know yet
that it lost the lock), so each fire is also settled in the database:

* PostgreSQL: one transaction locks the trigger's ``schedule_state`` row ``FOR UPDATE``,
  re-reads ``last_fire`` (another process may just have fired the moment), looks for a run
  already started for the moment (its ``trigger`` and ``scheduled_at`` parameters), starts
  the run if there is none, and writes ``last_fire`` in the same transaction. The engine
  commits the run row on its own connection, so there are two commits; whoever takes the
  row lock next sees one of three states: neither committed (the fire is still due and
  happens), the run committed but not ``last_fire`` (the run is found: recorded, not
  started again), or both. A leader dying at any point therefore neither loses nor repeats
  a fire. The one remaining duplicate needs a run started for a moment by hand with the
  same ``trigger``/``scheduled_at`` parameters, or a clock stepped back by more than
  ``CLOCK_SLACK`` between a fire and its run's creation, in which case the lookup misses it.
* SQLite: the moment is claimed first by moving ``last_fire`` forward only if it is still
  behind (compare-and-set in one short write transaction), then the run is started. Two
  processes on one file never both fire a moment; a process killed between the claim and
  the run's start loses that one fire. A row lock held across the engine's own write is
  not an option there: SQLite has one writer, and the engine's write would wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from auterity_desktop.core.db import Database
from auterity_desktop.core.leadership import Leadership
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.security.principal import SYSTEM
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import RunRow, ScheduleStateRow, WorkflowRow
from auterity_desktop.services.workflows.store import WorkflowStore

logger = logging.getLogger(__name__)

MAX_CATCH_UP = 100
# How far a run's creation time may lie before its fire moment and still be recognised as
# that fire's run (the wall clock stepped back between the fire and the run's insert).
CLOCK_SLACK = 300.0


def due_fires(
    cron: str, timezone: str, after: float, now: float, limit: int = MAX_CATCH_UP + 1
) -> list[float]:
    """Fire times (Unix seconds) in ``(after, now]``."""
    from croniter import croniter

    zone = ZoneInfo(timezone)
    iterator = croniter(cron, datetime.fromtimestamp(after, zone))
    fires: list[float] = []
    while len(fires) < limit:
        moment = float(iterator.get_next(float))
        if moment > now:
            break
        fires.append(moment)
    return fires


class Scheduler(BaseService):
    name = "scheduler"
    dependencies = ("database", "workflows", "engine")

    def __init__(
        self,
        database: Database,
        store: WorkflowStore,
        engine: WorkflowEngine,
        *,
        interval: float = 20.0,
        clock: Callable[[], float] = time.time,
        autostart: bool = True,
        leadership: Leadership | None = None,
    ) -> None:
        super().__init__()
        self.leadership = leadership or Leadership(database, "scheduler")
        self.database = database
        self.store = store
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self.autostart = autostart
        self._task: asyncio.Task[None] | None = None
        self.fired: list[tuple[str, str, float, str]] = []  # workflow, trigger, due time, run id

    async def initialize(self) -> None:
        if self.autostart:
            self._task = asyncio.create_task(self._loop())

    async def cleanup(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.leadership.close()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)  # the first look comes after start-up settles
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("scheduler tick failed; trying again next time")

    async def tick(self, now: float | None = None) -> list[str]:
        """Fire what is due if this process leads; returns the ids of the runs started."""
        if not await self.leadership.refresh():
            return []
        now = self.clock() if now is None else now
        async with self.database.session() as db:
            workflows = list(
                (
                    await db.execute(select(WorkflowRow.id).where(WorkflowRow.deleted.is_(False)))
                ).scalars()
            )
            states = {
                (r.workflow_id, r.node_id): r.last_fire
                for r in (await db.execute(select(ScheduleStateRow))).scalars()
            }
        started: list[str] = []
        for workflow_id in workflows:
            saved = await self.store.load(workflow_id)
            overlap = str(saved.document.settings.get("overlap", "skip"))
            for node in saved.document.nodes:
                if node.type != "schedule_trigger" or node.disabled:
                    continue
                started.extend(
                    await self._consider(
                        workflow_id,
                        node.id,
                        node.params,
                        overlap,
                        states.get((workflow_id, node.id)),
                        now,
                    )
                )
        return started

    async def _consider(
        self,
        workflow_id: str,
        node_id: str,
        params: dict[str, Any],
        overlap: str,
        last: float | None,
        now: float,
    ) -> list[str]:
        if last is None:
            await self._first_sight(workflow_id, node_id, now)
            return []
        try:
            fires = due_fires(
                str(params.get("cron")), str(params.get("timezone") or "UTC"), last, now
            )
        except (
            Exception
        ) as exc:  # validation normally stops this; a hand-edited row must not stop the rest
            logger.warning(
                "bad schedule",
                extra={"workflow_id": workflow_id, "node": node_id, "error": str(exc)},
            )
            return []
        if not fires:
            return []
        policy = params.get("missed_runs", "run_once")
        if policy == "skip":
            to_fire = [fires[-1]] if now - fires[-1] <= 2 * self.interval else []
        elif policy == "run_all":
            to_fire = fires[:MAX_CATCH_UP]
        else:
            to_fire = [fires[-1]]
        busy = await self.engine.unfinished_runs(workflow_id) > 0
        if busy and overlap == "queue":
            return []  # leave last_fire alone: fire once the current run has ended
        if busy and overlap == "skip":
            to_fire = []
        if not to_fire:
            await self._advance(workflow_id, node_id, fires[-1])
            return []
        started = []
        for moment in to_fire:
            # The last fire also records the fires the policy passes over.
            record = fires[-1] if moment == to_fire[-1] else moment
            if self.database.dialect == "postgresql":
                run_id = await self._fire_locked(workflow_id, node_id, moment, record)
            else:
                run_id = await self._fire_claimed(workflow_id, node_id, moment, record)
            if run_id is not None:
                self.fired.append((workflow_id, node_id, moment, run_id))
                started.append(run_id)
        return started

    async def _fire_locked(
        self, workflow_id: str, node_id: str, moment: float, record: float
    ) -> str | None:
        """PostgreSQL: check, start and record under the trigger row's lock (module doc)."""
        async with self.database.session() as db:
            row = await db.get(
                ScheduleStateRow,
                (workflow_id, node_id),
                with_for_update=True,
                populate_existing=True,
            )
            if row is None:  # the workflow was deleted meanwhile
                return None
            if row.last_fire >= moment:  # fired by another process since this tick looked
                row.last_fire = max(row.last_fire, record)
                return None
            existing = await db.scalar(
                select(RunRow.id)
                .where(
                    RunRow.workflow_id == workflow_id,
                    RunRow.created_at >= moment - CLOCK_SLACK,
                    RunRow.params["trigger"].as_string() == node_id,
                    RunRow.params["scheduled_at"].as_string() == _scheduled_at(moment),
                )
                .limit(1)
            )
            run_id = None
            if existing is None:
                run_id = await self._start(workflow_id, node_id, moment)
            else:  # a leader died after starting it, before recording it
                logger.info(
                    "scheduled run already started; recording it",
                    extra={"workflow_id": workflow_id, "node": node_id, "run_id": existing},
                )
            row.last_fire = record
        return run_id

    async def _fire_claimed(
        self, workflow_id: str, node_id: str, moment: float, record: float
    ) -> str | None:
        """SQLite: claim the moment, then start the run (module doc)."""
        async with self.database.begin() as conn:
            claimed = await conn.execute(
                update(ScheduleStateRow)
                .where(
                    ScheduleStateRow.workflow_id == workflow_id,
                    ScheduleStateRow.node_id == node_id,
                    ScheduleStateRow.last_fire < moment,
                )
                .values(last_fire=record)
            )
        if claimed.rowcount != 1:  # fired by another process since this tick looked
            await self._advance(workflow_id, node_id, record)
            return None
        return await self._start(workflow_id, node_id, moment)

    async def _start(self, workflow_id: str, node_id: str, moment: float) -> str:
        return await self.engine.execute_workflow(
            SYSTEM,
            workflow_id,
            {"scheduled_at": _scheduled_at(moment), "trigger": node_id},
            trigger=node_id,
        )

    async def _advance(self, workflow_id: str, node_id: str, moment: float) -> None:
        """Record fires passed over; never moves ``last_fire`` back (another process may
        have recorded a later one)."""
        async with self.database.begin() as conn:
            await conn.execute(
                update(ScheduleStateRow)
                .where(
                    ScheduleStateRow.workflow_id == workflow_id,
                    ScheduleStateRow.node_id == node_id,
                    ScheduleStateRow.last_fire < moment,
                )
                .values(last_fire=moment)
            )

    async def _first_sight(self, workflow_id: str, node_id: str, now: float) -> None:
        """Start counting from now, unless another process has just started counting."""
        insert = pg_insert if self.database.dialect == "postgresql" else sqlite_insert
        async with self.database.begin() as conn:
            await conn.execute(
                insert(ScheduleStateRow)
                .values(workflow_id=workflow_id, node_id=node_id, last_fire=now)
                .on_conflict_do_nothing()
            )


def _scheduled_at(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()
