"""Schedule triggers: first sight, due fires, missed-run policies, overlap, time zones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.scheduler import Scheduler, due_fires
from tests.services.conftest import Stack

START = datetime(2026, 11, 2, 8, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Monday


def scheduled(
    cron: str, missed: str = "run_once", overlap: str = "skip", tz: str = "UTC", wait: float = 0
) -> dict:
    return {
        "name": f"every {cron}",
        "settings": {"overlap": overlap},
        "nodes": [
            {
                "id": "s",
                "type": "schedule_trigger",
                "name": "Schedule",
                "params": {"cron": cron, "timezone": tz, "missed_runs": missed},
            },
            {"id": "m", "type": "manual_trigger", "name": "By hand"},
            {"id": "j", "type": "merge", "name": "Either"},
            {"id": "w", "type": "delay", "name": "Work", "params": {"seconds": wait}},
        ],
        "edges": [
            {"id": "e1", "source": "s", "target": "j"},
            {"id": "e2", "source": "m", "target": "j"},
            {"id": "e3", "source": "j", "target": "w"},
        ],
    }


@pytest.fixture
async def scheduler(stack: Stack, engine: WorkflowEngine) -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(stack.database, engine.store, engine, interval=60, autostart=False)
    await scheduler.initialize()
    yield scheduler
    await scheduler.cleanup()


def test_due_fires_respects_time_zone() -> None:
    chicago = datetime(2026, 11, 2, 6, 0, tzinfo=ZoneInfo("America/Chicago")).timestamp()
    fires = due_fires("0 7 * * *", "America/Chicago", chicago, chicago + 2 * 86_400)
    assert [datetime.fromtimestamp(f, ZoneInfo("America/Chicago")).hour for f in fires] == [7, 7]
    assert due_fires("*/5 * * * *", "UTC", START, START + 60) == []


async def test_fires_on_time_with_only_its_trigger(
    stack: Stack, engine: WorkflowEngine, scheduler: Scheduler
) -> None:
    admin = await stack.admin()
    saved = await engine.store.create(admin, scheduled("*/5 * * * *"))
    assert await scheduler.tick(START) == []  # first sight: counting starts now
    assert await scheduler.tick(START + 200) == []
    (run_id,) = await scheduler.tick(START + 301)
    status = await engine.wait(run_id)
    assert status["status"] == "succeeded"
    assert status["nodes"]["s"]["status"] == "succeeded"
    assert status["nodes"]["m"]["status"] == "skipped"  # only the schedule fired
    assert status["nodes"]["s"]["output"]["main"]["trigger"] == "s"
    assert await scheduler.tick(START + 302) == []  # not twice for one due time
    assert [f[0] for f in scheduler.fired] == [saved.id]


@pytest.mark.parametrize(("policy", "expected"), [("run_all", 3), ("run_once", 1), ("skip", 0)])
async def test_missed_run_policies(
    stack: Stack,
    engine: WorkflowEngine,
    scheduler: Scheduler,
    policy: str,
    expected: int,
) -> None:
    admin = await stack.admin()
    await engine.store.create(admin, scheduled("*/5 * * * *", missed=policy))
    await scheduler.tick(START)
    started = await scheduler.tick(START + 3 * 300 + 200)  # closed for three fire times
    assert len(started) == expected
    for run_id in started:
        assert (await engine.wait(run_id))["status"] == "succeeded"


async def test_overlap_skip_and_queue(
    stack: Stack, engine: WorkflowEngine, scheduler: Scheduler
) -> None:
    admin = await stack.admin()
    await engine.store.create(admin, scheduled("*/5 * * * *", overlap="skip", wait=30))
    await scheduler.tick(START)
    (first,) = await scheduler.tick(START + 300)
    assert await scheduler.tick(START + 600) == []  # still running: skipped
    await engine.cancel(admin, first)
    queued = await engine.store.create(admin, scheduled("*/5 * * * *", overlap="queue", wait=30))

    def runs_of_queued() -> list[str]:
        return [run for wf, _, _, run in scheduler.fired if wf == queued.id]

    await scheduler.tick(START + 600)  # first sight of the queued workflow
    await scheduler.tick(START + 900)
    (busy,) = runs_of_queued()
    await scheduler.tick(START + 1200)
    assert runs_of_queued() == [busy]  # queued: waits for the running one
    await engine.cancel(admin, busy)
    await scheduler.tick(START + 1210)
    assert len(runs_of_queued()) == 2  # the held-back fire happens once the run has ended
    assert queued.id in {f[0] for f in scheduler.fired}


async def test_a_run_waiting_for_approval_still_overlaps(
    stack: Stack, engine: WorkflowEngine, scheduler: Scheduler
) -> None:
    admin = await stack.admin()
    doc = scheduled("*/5 * * * *", overlap="skip")
    doc["nodes"][3] = {"id": "w", "type": "approval", "name": "OK?", "params": {"message": "?"}}
    await engine.store.create(admin, doc)
    await scheduler.tick(START)
    (first,) = await scheduler.tick(START + 300)
    assert (await engine.wait(first))["status"] == "waiting"
    assert engine.active_runs(doc_id := (await engine.run_status(first))["workflow_id"]) == 0
    assert await engine.unfinished_runs(doc_id) == 1
    assert await scheduler.tick(START + 600) == []  # parked, not finished: skipped
    await engine.approve(admin, first)
    await engine.wait(first)
    assert len(await scheduler.tick(START + 900)) == 1
