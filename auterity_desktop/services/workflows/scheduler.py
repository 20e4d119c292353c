"""``Scheduler``: fires schedule triggers on time while the console or a worker runs.

Every ``interval`` seconds it looks at each saved workflow's schedule triggers and the time
each last fired (kept in the database), works out the fires due since then with croniter in
the trigger's time zone, and applies the trigger's missed-run policy — ``skip`` (only a fire
that is due right now), ``run_once`` (one run for any number of missed fires) or ``run_all``
(each missed fire, at most ``MAX_CATCH_UP``) — and the workflow's overlap policy
(``settings.overlap``: ``skip`` while a run is in progress, ``queue`` to fire once it ends,
``allow``); a run parked on an approval is in progress. A trigger seen for the first time
starts counting from now.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.security.principal import SYSTEM
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.models import ScheduleStateRow, WorkflowRow
from auterity_desktop.services.workflows.store import WorkflowStore

logger = logging.getLogger(__name__)

MAX_CATCH_UP = 100


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
    ) -> None:
        super().__init__()
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
        """Fire what is due; returns the ids of the runs started."""
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
            await self._remember(workflow_id, node_id, now)
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
        started = []
        for moment in to_fire:
            run_id = await self.engine.execute_workflow(
                SYSTEM,
                workflow_id,
                {
                    "scheduled_at": datetime.fromtimestamp(moment, UTC).isoformat(),
                    "trigger": node_id,
                },
                trigger=node_id,
            )
            self.fired.append((workflow_id, node_id, moment, run_id))
            started.append(run_id)
        await self._remember(workflow_id, node_id, fires[-1])
        return started

    async def _remember(self, workflow_id: str, node_id: str, moment: float) -> None:
        async with self.database.session() as db:
            row = await db.get(ScheduleStateRow, (workflow_id, node_id))
            if row is None:
                db.add(ScheduleStateRow(workflow_id=workflow_id, node_id=node_id, last_fire=moment))
            else:
                row.last_fire = moment
