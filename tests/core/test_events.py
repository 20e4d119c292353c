from __future__ import annotations

import asyncio
import logging

import pytest

from auterity_desktop.core.events import ALL, Event, EventBus


async def test_sync_and_async_handlers_receive_events_in_order() -> None:
    bus = EventBus()
    seen: list[tuple[str, str]] = []

    def sync_handler(event: Event) -> None:
        seen.append(("sync", event.name))

    async def async_handler(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(("async", event.payload["id"]))

    bus.subscribe("workflow_saved", sync_handler)
    bus.subscribe("workflow_saved", async_handler)
    event = bus.publish("workflow_saved", {"id": "wf1"}, source="test")
    assert event.source == "test"
    assert seen == [("sync", "workflow_saved")]
    await bus.drain()
    assert seen == [("sync", "workflow_saved"), ("async", "wf1")]


async def test_wildcard_and_unsubscribe() -> None:
    bus = EventBus()
    names: list[str] = []
    sub = bus.subscribe(ALL, lambda e: names.append(e.name))
    bus.publish("run_started")
    bus.publish("run_finished")
    sub.cancel()
    sub.cancel()  # idempotent
    bus.publish("run_failed")
    assert names == ["run_started", "run_finished"]


async def test_failing_handler_is_logged_and_does_not_break_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    got: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    async def broken_async(event: Event) -> None:
        raise RuntimeError("async handler bug")

    bus.subscribe("x_happened", broken)
    bus.subscribe("x_happened", broken_async)
    bus.subscribe("x_happened", lambda e: got.append("ok"))
    with caplog.at_level(logging.ERROR):
        bus.publish("x_happened")
        await bus.drain()
    assert got == ["ok"]
    messages = [r.exc_info[1].args[0] for r in caplog.records if r.exc_info]
    assert messages == ["handler bug", "async handler bug"]


async def test_close_cancels_running_handlers_and_stops_delivery() -> None:
    bus = EventBus()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow(event: Event) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bus.subscribe("slow_started", slow)
    bus.publish("slow_started")
    await started.wait()
    assert bus.pending == 1
    await bus.close()
    assert cancelled.is_set()
    assert bus.pending == 0
    got: list[Event] = []
    bus.subscribe("later_event", got.append)
    bus.publish("later_event")
    assert got == []


@pytest.mark.parametrize("name", ["WorkflowSaved", "workflow-saved", "", "1abc", "a b"])
def test_event_names_must_be_snake_case(name: str) -> None:
    bus = EventBus()
    with pytest.raises(ValueError, match="snake_case"):
        bus.publish(name)
    with pytest.raises(ValueError, match="snake_case"):
        bus.subscribe(name, lambda e: None)
