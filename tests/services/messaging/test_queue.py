"""The queue's core on SQLite and PostgreSQL: routing, claims, settling, limits, restarts.

Time is the stack's hand-moved clock, so delays, visibility timeouts and expiry are checked
without sleeping.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.messaging.message import MAX_PAYLOAD_BYTES
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.security.principal import SYSTEM
from tests.services.conftest import Stack
from tests.services.messaging.conftest import new_queue


async def drain(mq: MessageQueue, queue: str) -> list[Any]:
    """Claim and ack everything claimable; the payloads in delivery order."""
    payloads = []
    while (message := await mq.get(queue)) is not None:
        payloads.append(message.payload)
        assert await mq.ack(message.receipt)
    return payloads


async def stats_of(mq: MessageQueue, queue: str) -> Any:
    return next(q for q in (await mq.queue_stats()).queues if q.name == queue)


async def test_publish_claim_ack(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("leads", "sales.lead.*")
    ids = await any_mq.publish(
        "sales.lead.created", {"name": "Ada", "score": 87}, headers={"source": "web"}
    )
    assert len(ids) == 1
    message = await any_mq.get("leads")
    assert message is not None
    assert message.id == ids[0]
    assert (message.topic, message.payload) == ("sales.lead.created", {"name": "Ada", "score": 87})
    assert message.headers == {"source": "web"}
    assert (message.deliveries, message.priority, message.history) == (1, 0, [])
    assert await any_mq.get("leads") is None  # in flight: nobody else gets it
    stats = await stats_of(any_mq, "leads")
    assert (stats.depth, stats.ready, stats.in_flight, stats.delayed) == (1, 0, 1, 0)
    assert await any_mq.ack(message.receipt) is True
    assert await any_mq.ack(message.receipt) is False  # settled already
    stats = await stats_of(any_mq, "leads")
    assert (stats.depth, stats.published_per_minute, stats.acked_per_minute) == (0, 1.0, 1.0)


async def test_fan_out_unrouted_and_mandatory(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("all-service", "service.#")
    await any_mq.declare_queue("bookings", "*.appointment.booked")
    assert len(await any_mq.publish("service.appointment.booked", {"id": 1})) == 2
    assert len(await any_mq.publish("service.appointment.cancelled", {"id": 2})) == 1
    # nothing bound to it: dropped and counted, like an AMQP exchange
    assert await any_mq.publish("inventory.price.changed", {"vin": "X"}) == []
    with pytest.raises(ServiceError) as info:
        await any_mq.publish("inventory.price.changed", {"vin": "X"}, mandatory=True)
    assert info.value.code is ErrorCode.NOT_FOUND
    assert await drain(any_mq, "bookings") == [{"id": 1}]
    assert await drain(any_mq, "all-service") == [{"id": 1}, {"id": 2}]
    topics = {t.name: t for t in (await any_mq.queue_stats()).topics}
    assert topics["inventory.price.changed"].unrouted == 1
    assert topics["inventory.price.changed"].queues == []
    assert topics["service.appointment.booked"].queues == ["all-service", "bookings"]
    assert topics["service.appointment.booked"].published == 1


async def test_highest_priority_first_then_oldest(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("q", "t")
    for name, priority in (("a", 0), ("b", 5), ("c", 0), ("d", 5), ("e", 9)):
        await any_mq.publish("t", name, priority=priority)
    assert await drain(any_mq, "q") == ["e", "b", "d", "a", "c"]


async def test_delayed_delivery(any_mq: MessageQueue, any_stack: Stack) -> None:
    await any_mq.declare_queue("q", "t")
    await any_mq.publish("t", "later", delay=10)
    await any_mq.publish("t", "now")
    assert await drain(any_mq, "q") == ["now"]
    assert (await stats_of(any_mq, "q")).delayed == 1
    any_stack.clock.now += 10
    assert await drain(any_mq, "q") == ["later"]


async def test_unsettled_claim_is_delivered_again_with_its_history(
    any_mq: MessageQueue, any_stack: Stack
) -> None:
    await any_mq.declare_queue("q", "t", visibility_timeout=30)
    await any_mq.publish("t", "work")
    first = await any_mq.get("q", visibility_timeout=5)
    assert first is not None and first.visible_until == any_stack.clock.now + 5
    any_stack.clock.now += 4
    assert await any_mq.get("q") is None
    any_stack.clock.now += 2  # the consumer died: its claim ran out
    second = await any_mq.get("q")
    assert second is not None and second.id == first.id
    assert second.deliveries == 2
    assert second.history == [
        {
            "delivery": 1,
            "at": first.visible_until - 5,
            "outcome": "timeout",
            "error": "not acknowledged within its visibility timeout",
        }
    ]
    assert await any_mq.ack(first.receipt) is False  # the stale receipt settles nothing
    assert await any_mq.ack(second.receipt) is True


async def test_nack_requeues_after_a_delay(mq: MessageQueue, stack: Stack) -> None:
    await mq.declare_queue("q", "t")
    await mq.publish("t", "flaky")
    message = await mq.get("q")
    assert message is not None
    assert await mq.nack(message.receipt, reason="CRM answered 503", delay=30)
    assert await mq.get("q") is None
    stack.clock.now += 30
    again = await mq.get("q")
    assert again is not None and again.deliveries == 2
    assert again.history[0]["outcome"] == "nacked"
    assert again.history[0]["error"] == "CRM answered 503"
    assert await mq.nack(message.receipt) is False  # stale


async def test_delivery_limit_moves_the_message_to_the_dlq(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("q", "t", delivery_limit=3)
    await any_mq.publish("t", {"vin": "poison"})
    for attempt in range(1, 4):
        message = await any_mq.get("q")
        assert message is not None and message.deliveries == attempt
        assert await any_mq.nack(message.receipt, reason=f"KeyError: attempt {attempt}")
    assert await any_mq.get("q") is None
    admin = SYSTEM
    page = await any_mq.dead_letters(admin)
    assert page.total == 1
    dead = await any_mq.dead_letter(admin, page.items[0].id)
    assert (dead.reason, dead.deliveries, dead.queue) == ("delivery_limit", 3, "q")
    assert dead.error == "KeyError: attempt 3"
    assert dead.payload == {"vin": "poison"}
    assert [h["outcome"] for h in dead.history or []] == ["nacked"] * 3
    assert (await stats_of(any_mq, "q")).dead_by_reason == {"delivery_limit": 1}


async def test_timeouts_count_toward_the_delivery_limit(mq: MessageQueue, stack: Stack) -> None:
    await mq.declare_queue("q", "t", delivery_limit=2, visibility_timeout=5)
    await mq.publish("t", "hangs the consumer")
    for _ in range(2):
        assert await mq.get("q") is not None
        stack.clock.now += 6
    assert await mq.get("q") is None  # the third delivery is not made
    dead = (await mq.dead_letters(SYSTEM)).items[0]
    assert (dead.reason, dead.deliveries) == ("delivery_limit", 2)
    detail = await mq.dead_letter(SYSTEM, dead.id)
    assert [h["outcome"] for h in detail.history or []] == ["timeout", "timeout"]


async def test_rejected_message_dies_at_once(mq: MessageQueue) -> None:
    await mq.declare_queue("q", "t")
    await mq.publish("t", {"broken": True})
    message = await mq.get("q")
    assert message is not None
    assert await mq.nack(message.receipt, requeue=False, reason="schema mismatch")
    dead = (await mq.dead_letters(SYSTEM)).items[0]
    assert (dead.reason, dead.error, dead.deliveries) == ("rejected", "schema mismatch", 1)


async def test_expired_messages_die_when_claimed_or_swept(
    any_mq: MessageQueue, any_stack: Stack
) -> None:
    await any_mq.declare_queue("q", "t", ttl=60)
    await any_mq.declare_queue("r", "u")
    await any_mq.publish("t", "stale offer")
    await any_mq.publish("u", "short", ttl=5)
    await any_mq.publish("u", "long")
    any_stack.clock.now += 61
    assert await any_mq.get("q") is None  # found expired by the claim
    assert await any_mq.expire() == 1  # the sweep finds the unclaimed one
    assert await drain(any_mq, "r") == ["long"]
    page = await any_mq.dead_letters(SYSTEM, reason="expired")
    assert sorted(d.preview for d in page.items) == ['"short"', '"stale offer"']


async def test_full_queue_refuses_new_messages(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("small", "t", max_length=2)
    await any_mq.declare_queue("big", "t")
    await any_mq.publish("t", 1)
    await any_mq.publish("t", 2)
    with pytest.raises(ServiceError) as info:
        await any_mq.publish("t", 3)
    assert info.value.code is ErrorCode.RATE_LIMITED
    assert info.value.details == {"queue": "small", "max_length": 2, "overflow": "reject"}
    assert "'small' is full" in info.value.message
    # refused everywhere, not half-published
    assert (await stats_of(any_mq, "big")).depth == 2
    message = await any_mq.get("small")
    assert message is not None and await any_mq.ack(message.receipt)
    await any_mq.publish("t", 3)
    assert await drain(any_mq, "small") == [2, 3]


async def test_drop_oldest_pushes_the_oldest_into_the_dlq(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("recent", "t", max_length=2, overflow="drop_oldest")
    for i in range(4):
        await any_mq.publish("t", i)
    assert (await stats_of(any_mq, "recent")).depth == 2
    dead = await any_mq.dead_letters(SYSTEM)
    assert sorted(d.preview for d in dead.items) == ["0", "1"]
    assert {d.reason for d in dead.items} == {"maxlen"}
    assert await drain(any_mq, "recent") == [2, 3]


async def test_a_burst_of_drop_oldest_publishes_keeps_the_newest(any_mq: MessageQueue) -> None:
    await any_mq.declare_queue("recent", "t", max_length=3, overflow="drop_oldest")
    await asyncio.gather(*(any_mq.publish("t", i) for i in range(10)))
    assert await drain(any_mq, "recent") == [7, 8, 9]
    assert (await any_mq.dead_letters(SYSTEM)).total == 7


async def test_messages_survive_a_restart(any_stack: Stack) -> None:
    before = new_queue(any_stack)
    await before.initialize()
    await before.declare_queue("q", "t", visibility_timeout=10)
    await before.publish("t", "kept")
    await before.publish("t", "claimed, never acked")
    await before.publish("t", "later", delay=100)
    claimed = await before.get_many("q", 2)
    assert [m.payload for m in claimed] == ["kept", "claimed, never acked"]
    assert await before.ack(claimed[0].receipt)
    await before.cleanup()

    after = new_queue(any_stack)  # the next start, on the same database
    await after.initialize()
    try:
        stats = await stats_of(after, "q")
        assert (stats.depth, stats.in_flight, stats.delayed) == (2, 1, 1)
        any_stack.clock.now += 11
        assert await drain(after, "q") == ["claimed, never acked"]
        any_stack.clock.now += 100
        assert await drain(after, "q") == ["later"]
    finally:
        await after.cleanup()


async def test_concurrent_publishes_share_transactions(mq: MessageQueue) -> None:
    await mq.declare_queue("q", "t", max_length=1000)
    commits = mq.writer.commits
    ids = await asyncio.gather(*(mq.publish("t", {"n": i}) for i in range(300)))
    assert mq.writer.commits - commits < 20  # group commit, not one transaction each
    flat = [i for group in ids for i in group]
    assert len(set(flat)) == 300
    claimed = await mq.get_many("q", 1000)
    assert [m.payload["n"] for m in claimed] == list(range(300))  # publish order kept
    assert [m.id for m in claimed] == flat
    results = await asyncio.gather(*(mq.ack(m.receipt) for m in claimed))
    assert all(results)


async def test_extend_and_release(mq: MessageQueue, stack: Stack) -> None:
    await mq.declare_queue("q", "t", visibility_timeout=10)
    await mq.publish("t", "slow")
    message = await mq.get("q")
    assert message is not None
    stack.clock.now += 8
    assert await mq.extend(message.receipt, 10)
    stack.clock.now += 8
    assert await mq.get("q") is None  # still held thanks to the extension
    assert await mq.release(message.receipt)
    again = await mq.get("q")
    assert again is not None and again.deliveries == 1  # handing back is not a delivery
    assert await mq.extend(message.receipt, 10) is False  # stale


async def test_redeclare_changes_settings_and_delete_removes_messages(mq: MessageQueue) -> None:
    created = await mq.declare_queue("q", "a.*")
    assert (created.max_length, created.overflow, created.delivery_limit) == (1000, "reject", 5)
    await mq.publish("a.b", 1)
    changed = await mq.declare_queue("q", "b.*", max_length=5, delivery_limit=2, ttl=30)
    assert (changed.pattern, changed.max_length, changed.depth, changed.ttl) == ("b.*", 5, 1, 30)
    assert await mq.publish("a.b", 2) == []
    assert len(await mq.publish("b.c", 3)) == 1
    assert [q.name for q in await mq.queues()] == ["q"]
    assert await mq.delete_queue("q") is True
    assert await mq.delete_queue("q") is False
    assert await mq.queues() == []
    with pytest.raises(ServiceError) as info:
        await mq.get("q")
    assert info.value.code is ErrorCode.NOT_FOUND


async def test_another_process_sees_new_queues(stack: Stack) -> None:
    one, two = new_queue(stack, route_ttl=0.0), new_queue(stack, route_ttl=0.0)
    await one.initialize()
    await two.initialize()
    try:
        assert await two.publish("t", 1) == []  # two learns the (empty) bindings
        await one.declare_queue("q", "t")
        assert len(await two.publish("t", 2)) == 1
    finally:
        await one.cleanup()
        await two.cleanup()


BAD_PUBLISHES = [
    ({"topic": "no spaces"}, ErrorCode.INVALID_INPUT, "topic"),
    ({"payload": {"when": object()}}, ErrorCode.INVALID_INPUT, "JSON-serialisable"),
    ({"payload": math.nan}, ErrorCode.INVALID_INPUT, "JSON-serialisable"),
    ({"payload": "x" * MAX_PAYLOAD_BYTES}, ErrorCode.PAYLOAD_TOO_LARGE, "the limit is 1,048,576"),
    ({"priority": 256}, ErrorCode.INVALID_INPUT, "priority"),
    ({"priority": True}, ErrorCode.INVALID_INPUT, "priority"),
    ({"delay": -1}, ErrorCode.INVALID_INPUT, "delay"),
    ({"delay": "soon"}, ErrorCode.INVALID_INPUT, "delay"),
    ({"ttl": 0}, ErrorCode.INVALID_INPUT, "ttl"),
    ({"headers": ["x"]}, ErrorCode.INVALID_INPUT, "Headers"),
    ({"headers": {"k": "v" * 70_000}}, ErrorCode.PAYLOAD_TOO_LARGE, "headers"),
]


@pytest.mark.parametrize(("change", "code", "text"), BAD_PUBLISHES)
async def test_bad_publishes_are_clear_errors(
    mq: MessageQueue, change: dict[str, Any], code: ErrorCode, text: str
) -> None:
    await mq.declare_queue("q", "#")
    arguments: dict[str, Any] = {"topic": "t", "payload": {"ok": True}, **change}
    with pytest.raises(ServiceError) as info:
        await mq.publish(arguments.pop("topic"), arguments.pop("payload"), **arguments)
    assert info.value.code is code
    assert text in info.value.message
    assert (await stats_of(mq, "q")).depth == 0


async def test_a_payload_just_under_the_limit_is_accepted(mq: MessageQueue) -> None:
    await mq.declare_queue("q", "#")
    big = "x" * (MAX_PAYLOAD_BYTES - 2)  # plus two quotes: exactly 1 MB of JSON
    await mq.publish("t", big)
    message = await mq.get("q")
    assert message is not None and message.payload == big


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda mq: mq.ack("not-a-receipt"), "receipt"),
        (lambda mq: mq.nack(None), "receipt"),
        (lambda mq: mq.get_many("q", 0), "max_messages"),
        (lambda mq: mq.get("q", visibility_timeout=-1), "visibility_timeout"),
        (lambda mq: mq.declare_queue("q", "a..b"), "pattern"),
        (lambda mq: mq.declare_queue("q", "#", overflow="evict"), "overflow"),
        (lambda mq: mq.declare_queue("q", "#", max_length=0), "max_length"),
        (lambda mq: mq.declare_queue("q q", "#"), "queue"),
    ],
)
async def test_bad_calls_are_clear_errors(mq: MessageQueue, call: Any, field: str) -> None:
    with pytest.raises(ServiceError) as info:
        await call(mq)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert field in info.value.message or info.value.details.get("field") == field
