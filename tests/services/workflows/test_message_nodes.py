"""Message trigger and publish nodes with the real queue and engine: one run per message,
published while nothing listened or not, and a publish node that feeds another workflow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.message_triggers import MessageTriggers, queue_name
from tests.services.conftest import Stack
from tests.services.workflows.conftest import new_engine, wf


@pytest.fixture
async def world(stack: Stack) -> AsyncIterator[tuple[WorkflowEngine, MessageQueue]]:
    queue = MessageQueue(stack.database, stack.audit, stack.security.authz, stack.events)
    await queue.initialize()
    engine = new_engine(stack)
    engine.services["messages"] = queue
    await engine.initialize()
    yield engine, queue
    await engine.cleanup()
    await queue.cleanup()


def listener(pattern: str) -> dict[str, Any]:
    return wf(
        {"id": "m", "type": "message_trigger", "params": {"pattern": pattern}},
        {"id": "note", "type": "set_fields",
         "params": {"fields": {"lead": "{{ $params.payload.lead }}",
                               "topic": "{{ $params.message.topic }}"}}},
        edges=[("m", "note")],
    )  # fmt: skip


async def runs_of(engine: WorkflowEngine, actor: Any, workflow_id: str, count: int) -> list[Any]:
    for _ in range(500):
        runs = await engine.list_runs(actor, workflow_id, status="succeeded")
        if len(runs) >= count:
            return runs
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} runs, saw {len(runs)}")


async def test_one_run_per_message_including_those_sent_before_it_listened(
    stack: Stack, world: tuple[WorkflowEngine, MessageQueue]
) -> None:
    engine, queue = world
    admin = await stack.admin()
    saved = await engine.store.create(admin, listener("leads.#"))
    triggers = MessageTriggers(engine.store, engine, queue, stack.events)
    await triggers.initialize()
    trigger = next(n for n in saved.document.nodes if n.id == "m")
    title = f"{saved.document.name} · {trigger.name}"
    assert triggers.titles == {queue_name(saved.id, "m", "leads.#"): title}
    try:
        await queue.publish("leads.web.new", {"lead": "L-1"})
        await queue.publish("service.booked", {"lead": "nope"})  # another topic
        runs = await runs_of(engine, admin, saved.id, 1)
        status = await engine.run_status(runs[0]["run_id"])
        assert status["nodes"]["note"]["output"]["main"]["lead"] == "L-1"
        assert status["nodes"]["note"]["output"]["main"]["topic"] == "leads.web.new"
    finally:
        await triggers.cleanup()
    # closed: a message waits in the trigger's queue until the console opens again
    await queue.publish("leads.phone", {"lead": "L-2"})
    reopened = MessageTriggers(engine.store, engine, queue, stack.events)
    await reopened.initialize()
    try:
        runs = await runs_of(engine, admin, saved.id, 2)
        leads = {
            (await engine.run_status(r["run_id"]))["nodes"]["note"]["output"]["main"]["lead"]
            for r in runs
        }
        assert leads == {"L-1", "L-2"}
        # a saved change of the pattern moves the trigger to a new queue
        await engine.store.save(admin, saved.id, listener("vip.*"))
        moved = queue_name(saved.id, "m", "vip.*")
        for _ in range(500):
            if [name for name, _ in reopened.active.values()] == [moved]:
                break
            await asyncio.sleep(0.02)
        assert [name for name, _ in reopened.active.values()] == [moved]
        assert reopened.titles == {moved: title}
        assert await queue.queue(queue_name(saved.id, "m", "leads.#")) is None  # removed
        await queue.publish("vip.lead", {"lead": "L-3"})
        await runs_of(engine, admin, saved.id, 3)
    finally:
        await reopened.cleanup()


async def test_publish_node_feeds_another_workflow(
    stack: Stack, world: tuple[WorkflowEngine, MessageQueue]
) -> None:
    engine, queue = world
    admin = await stack.admin()
    consumer = await engine.store.create(admin, listener("appointments.booked"))
    triggers = MessageTriggers(engine.store, engine, queue, stack.events)
    await triggers.initialize()
    try:
        producer = await engine.store.create(
            admin,
            wf(
                {"id": "t", "type": "manual_trigger"},
                {"id": "pub", "type": "publish_message",
                 "params": {"topic": "appointments.booked",
                            "payload": {"lead": "{{ $params.lead }}"}}},
                edges=[("t", "pub")],
            ),
        )  # fmt: skip
        run_id = await engine.execute_workflow(admin, producer.id, {"lead": "L-9"})
        status = await engine.wait(run_id)
        assert status["nodes"]["pub"]["output"]["main"]["queues"] == 1
        [run] = await runs_of(engine, admin, consumer.id, 1)
        consumed = await engine.run_status(run["run_id"])
        assert consumed["nodes"]["note"]["output"]["main"]["lead"] == "L-9"
        assert consumed["params"]["message"]["headers"]["run_id"] == run_id
    finally:
        await triggers.cleanup()
