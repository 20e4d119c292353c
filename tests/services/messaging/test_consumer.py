"""Subscriptions: handlers, acks, poison messages, wake-ups, slow handlers and stopping.

These run on the real clock (consumers sleep and poll), with short timeouts; nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.messaging.consumer import RejectMessage
from auterity_desktop.services.messaging.message import Message
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.security.principal import SYSTEM
from tests.services.conftest import Stack
from tests.services.messaging.conftest import new_queue


@pytest.fixture
async def live(stack: Stack) -> AsyncIterator[MessageQueue]:
    service = new_queue(stack, clock=time.time)
    await service.initialize()
    yield service
    await service.cleanup()


async def until(predicate: Callable[[], Any], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def depth(mq: MessageQueue, queue: str) -> int:
    config = await mq.queue(queue)
    assert config is not None
    return config.depth


async def test_handler_gets_every_message_and_they_are_acked(live: MessageQueue) -> None:
    seen: list[Any] = []

    async def handle(message: Message) -> None:
        seen.append(message.payload)

    subscription = await live.subscribe("leads.#", handle, concurrency=4)
    assert subscription.queue == "leads.#"  # a queue named after the pattern
    for i in range(50):
        await live.publish("leads.created", i)
    await until(lambda: len(seen) == 50)
    await until(lambda: subscription.in_progress == 0)
    assert sorted(seen) == list(range(50))
    assert await depth(live, "leads.#") == 0
    assert subscription.handled == 50
    await subscription.stop()
    assert not subscription.active
    assert live.subscriptions == []


async def test_a_poison_message_ends_in_the_dlq_and_the_rest_flow(live: MessageQueue) -> None:
    await live.declare_queue("orders", "orders.*", delivery_limit=3)
    handled: list[int] = []

    def handle(message: Message) -> None:  # synchronous: runs in a worker thread
        assert threading.current_thread() is not threading.main_thread()
        if message.payload == 13:
            raise ValueError("order 13 has no customer")
        handled.append(message.payload)

    subscription = await live.subscribe("orders.*", handle, queue="orders", concurrency=2)
    for i in range(10, 16):
        await live.publish("orders.created", i)
    await until(lambda: len(handled) == 5)
    page: Any = None

    async def dead() -> bool:
        nonlocal page
        page = await live.dead_letters(SYSTEM)
        return page.total == 1

    deadline = time.monotonic() + 10
    while not await dead():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    item = page.items[0]
    assert (item.reason, item.deliveries) == ("delivery_limit", 3)
    assert item.error == "ValueError: order 13 has no customer"
    assert subscription.failed == 3
    await subscription.stop()


async def test_reject_message_dead_letters_at_once(live: MessageQueue) -> None:
    async def handle(message: Message) -> None:
        raise RejectMessage("not a lead: missing e-mail")

    subscription = await live.subscribe("leads.*", handle)
    await live.publish("leads.created", {"name": "x"})
    await until(lambda: subscription.failed == 1)
    await until(lambda: subscription.in_progress == 0)
    (item,) = (await live.dead_letters(SYSTEM)).items
    assert (item.reason, item.error, item.deliveries) == (
        "rejected",
        "not a lead: missing e-mail",
        1,
    )
    await subscription.stop()


async def test_publish_wakes_a_consumer_that_polls_rarely(live: MessageQueue) -> None:
    got = asyncio.Event()
    subscription = await live.subscribe("ping", lambda m: got.set(), poll=3600, threaded=False)
    await asyncio.sleep(0.05)  # the consumer found nothing and sleeps for an hour
    await live.publish("ping", {})
    await asyncio.wait_for(got.wait(), 10)  # woken by the publish, not the poll
    await subscription.stop()


async def test_a_delayed_message_is_handled_when_due(live: MessageQueue) -> None:
    got: list[float] = []
    subscription = await live.subscribe(
        "later", lambda m: got.append(time.time()), poll=3600, threaded=False
    )
    published = time.time()
    await live.publish("later", {}, delay=0.3)
    await until(lambda: got)
    assert got[0] >= published + 0.3 - 0.01  # never early
    await subscription.stop()


async def test_a_slow_handler_keeps_its_message(live: MessageQueue) -> None:
    calls = 0

    async def slow(message: Message) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(1.0)  # five visibility timeouts

    subscription = await live.subscribe("slow", slow, visibility_timeout=0.2, concurrency=2)
    await live.publish("slow", {})
    await until(lambda: subscription.handled == 1)
    await until(lambda: subscription.in_progress == 0)
    assert calls == 1  # the claim was extended: no second delivery
    await subscription.stop()


async def test_stop_hands_unfinished_messages_back(live: MessageQueue, stack: Stack) -> None:
    started = asyncio.Event()

    async def stuck(message: Message) -> None:
        started.set()
        await asyncio.sleep(3600)

    subscription = await live.subscribe("stuck", stuck, visibility_timeout=600)
    await live.publish("stuck", {"id": 1})
    await started.wait()
    await subscription.stop(grace=0.05)
    message = await live.get("stuck")  # at once, not after 600 s
    assert message is not None and message.deliveries == 1


async def test_cleanup_stops_every_subscription(stack: Stack) -> None:
    mq = new_queue(stack, clock=time.time)
    await mq.initialize()
    subscriptions = [await mq.subscribe(f"q{i}", lambda m: None) for i in range(3)]
    await mq.cleanup()
    assert not any(s.active for s in subscriptions)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_a_deleted_queue_ends_its_subscription(live: MessageQueue) -> None:
    subscription = await live.subscribe("temp", lambda m: None, poll=0.02)
    await live.delete_queue("temp")
    await until(lambda: not subscription.active)
    assert subscription.error == "There is no queue 'temp'"
    await subscription.stop()


async def test_subscribe_checks_its_arguments(live: MessageQueue) -> None:
    await live.declare_queue("orders", "orders.*")
    with pytest.raises(ServiceError) as info:
        await live.subscribe("orders.#", lambda m: None, queue="orders")
    assert info.value.code is ErrorCode.CONFLICT
    with pytest.raises(ServiceError) as info:
        await live.subscribe("orders.*", "not callable")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(ServiceError):
        await live.subscribe("orders.*", lambda m: None, concurrency=0)
