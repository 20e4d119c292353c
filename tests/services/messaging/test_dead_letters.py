"""The dead-letter queue through the guarded API: browse, replay, purge, who may do what,
and what the audit trail records."""

from __future__ import annotations

import asyncio

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.messaging.topics import dead_letter_topic, validate_topic
from tests.services.conftest import Stack


async def kill(mq: MessageQueue, queue: str, count: int, reason: str = "bad data") -> list[str]:
    """Publish ``count`` messages to ``queue`` and reject each; their ids."""
    ids = []
    for i in range(count):
        ids += await mq.publish(f"{queue}.event", {"n": i, "queue": queue})
        message = await mq.get(queue)
        assert message is not None
        await mq.nack(message.receipt, requeue=False, reason=f"{reason} {i}")
    return ids


async def actions(stack: Stack, action: str) -> list[dict]:
    page = await stack.audit.page(AuditFilter(action=action))
    return [e.details | {"actor": e.actor, "resource": e.resource} for e in page.entries]


async def test_browse_newest_first_with_filters_and_pages(mq: MessageQueue, stack: Stack) -> None:
    admin = await stack.admin()
    await mq.declare_queue("a", "a.#")
    await mq.declare_queue("b", "b.#", max_length=1, overflow="drop_oldest")
    await kill(mq, "a", 3)
    stack.clock.now += 1
    await mq.publish("b.event", {"first": True})
    await mq.publish("b.event", {"second": True})  # pushes the first out: maxlen
    page = await mq.dead_letters(admin, limit=2)
    assert page.total == 4 and len(page.items) == 2
    newest = page.items[0]
    assert (newest.queue, newest.reason, newest.topic) == ("b", "maxlen", "b.event")
    assert newest.preview == '{"first":true}' and newest.payload is None
    assert newest.error == "the queue held more than 1 messages"
    rest = await mq.dead_letters(admin, offset=2, limit=2)
    assert [d.reason for d in rest.items] == ["rejected", "rejected"]
    only_a = await mq.dead_letters(admin, queue="a", reason="rejected")
    assert only_a.total == 3
    with pytest.raises(ServiceError) as info:
        await mq.dead_letters(admin, reason="sad")
    assert info.value.code is ErrorCode.INVALID_INPUT


async def test_detail_has_payload_headers_and_history(mq: MessageQueue, stack: Stack) -> None:
    admin = await stack.admin()
    await mq.declare_queue("a", "a.#", delivery_limit=2)
    big = {"lines": ["x" * 100] * 50}
    await mq.publish("a.event", big, headers={"trace": "t-1"})
    for _ in range(2):
        message = await mq.get("a")
        assert message is not None
        await mq.nack(message.receipt, reason="ValueError: no VIN")
    (summary,) = (await mq.dead_letters(admin)).items
    assert summary.payload_bytes > 5000 and summary.preview.endswith("…")
    assert len(summary.preview) == 161
    dead = await mq.dead_letter(admin, summary.id)
    assert dead.payload == big and dead.headers == {"trace": "t-1"}
    assert dead.history is not None and len(dead.history) == 2
    assert dead.history[1] == {
        "delivery": 2,
        "at": stack.clock.now,
        "outcome": "nacked",
        "error": "ValueError: no VIN",
    }
    with pytest.raises(ServiceError) as info:
        await mq.dead_letter(admin, "999999")
    assert info.value.code is ErrorCode.NOT_FOUND


async def test_replay_puts_messages_back_with_a_fresh_count(mq: MessageQueue, stack: Stack) -> None:
    admin = await stack.admin()
    await mq.declare_queue("a", "a.#", ttl=60)
    ids = await kill(mq, "a", 3)
    stack.clock.now += 100  # the ttl is counted again from the replay
    result = await mq.replay(admin, ids[:2])
    assert (result.replayed, result.skipped) == (2, 0)
    messages = await mq.get_many("a", 10)
    assert [m.id for m in messages] == ids[:2]  # under their old ids
    assert all(m.deliveries == 1 for m in messages)
    assert [h["outcome"] for h in messages[0].history] == ["rejected", "replayed"]
    assert messages[0].history[-1]["by"] == "alice"
    assert (await mq.dead_letters(admin)).total == 1
    (entry,) = await actions(stack, "dead_letters.replayed")
    assert entry["replayed"] == 2 and entry["ids"] == ids[:2] and entry["actor"] == "alice"


async def test_replay_a_whole_queue_skips_what_does_not_fit(mq: MessageQueue, stack: Stack) -> None:
    admin = await stack.admin()
    await mq.declare_queue("a", "a.#", max_length=5)
    await mq.declare_queue("gone", "gone.#")
    await kill(mq, "a", 4)
    await kill(mq, "gone", 1)
    await mq.publish("a.event", "already there")
    await mq.publish("a.event", "and another")
    await mq.delete_queue("gone")
    result = await mq.replay(admin, queue="a")
    assert (result.replayed, result.skipped) == (3, 1)
    assert result.details == {"a": "the queue is full (5 messages)"}
    result = await mq.replay(admin, queue="gone")
    assert (result.replayed, result.skipped) == (0, 1)
    assert result.details == {"gone": "the queue no longer exists"}
    stats = await mq.stats(admin)
    assert stats.orphaned_dead == {"gone": 1}
    assert stats.queues[0].depth == 5 and stats.queues[0].dead == 1
    with pytest.raises(ServiceError):
        await mq.replay(admin)  # neither ids nor a queue


async def test_purge_by_ids_queue_reason_or_everything(mq: MessageQueue, stack: Stack) -> None:
    admin = await stack.admin()
    await mq.declare_queue("a", "a.#")
    await mq.declare_queue("b", "b.#")
    ids = await kill(mq, "a", 3)
    await kill(mq, "b", 2)
    with pytest.raises(ServiceError) as info:
        await mq.purge(admin)  # nothing said: nothing purged
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert await mq.purge(admin, ids[:1]) == 1
    assert await mq.purge(admin, queue="a") == 2
    assert await mq.purge(admin, reason="expired") == 0
    assert await mq.purge(admin, everything=True) == 2
    assert (await mq.dead_letters(admin)).total == 0
    purges = await actions(stack, "dead_letters.purged")
    assert sorted(p["purged"] for p in purges) == [0, 1, 2, 2]


async def test_roles(mq: MessageQueue, stack: Stack) -> None:
    viewer = await stack.user("vera", "viewer")
    operator = await stack.user("omar", "operator")
    await mq.declare_queue("a", "a.#")
    ids = await kill(mq, "a", 2)
    # a viewer reads ...
    assert (await mq.stats(viewer)).dead == 2
    assert (await mq.dead_letters(viewer)).total == 2
    assert (await mq.dead_letter(viewer, ids[0])).payload == {"n": 0, "queue": "a"}
    # ... and changes nothing
    for call in (
        mq.replay(viewer, ids),
        mq.purge(viewer, ids),
        mq.publish_as(viewer, "a.event", {}),
        mq.declare_queue_as(viewer, "x", "#"),
    ):
        with pytest.raises(ServiceError) as info:
            await call
        assert info.value.code is ErrorCode.UNAUTHORIZED
    # an operator replays and publishes but does not purge (no messages:delete)
    assert (await mq.replay(operator, ids[:1])).replayed == 1
    assert len(await mq.publish_as(operator, "a.event", {"test": True})) == 1
    with pytest.raises(ServiceError) as info:
        await mq.purge(operator, ids)
    assert info.value.code is ErrorCode.UNAUTHORIZED
    denied = await actions(stack, "authorization.denied")
    assert {d["actor"] for d in denied} == {"vera", "omar"}
    published = await actions(stack, "message.published")
    assert published[0]["actor"] == "omar" and published[0]["resource"] == "messages/a.event"


async def test_queue_administration_is_audited(mq: MessageQueue, stack: Stack) -> None:
    admin = await stack.admin()
    config = await mq.declare_queue_as(admin, "crm", "crm.#", max_length=50)
    assert config.max_length == 50
    assert [q.name for q in await mq.list_queues(admin)] == ["crm"]
    assert await mq.delete_queue_as(admin, "crm")
    with pytest.raises(ServiceError) as info:
        await mq.delete_queue_as(admin, "crm")
    assert info.value.code is ErrorCode.NOT_FOUND
    assert (await actions(stack, "queue.declared"))[0]["max_length"] == 50
    assert len(await actions(stack, "queue.deleted")) == 1


async def announced(mq: MessageQueue, queue: str) -> list[dict]:
    """Every notice waiting in ``queue``, once the announcing tasks have finished."""
    await asyncio.gather(*mq._announcing)
    notices = []
    while (message := await mq.get(queue)) is not None:
        notices.append(message.payload)
        await mq.ack(message.receipt)
    return notices


async def test_dead_letters_are_announced_on_a_system_topic(mq: MessageQueue) -> None:
    await mq.declare_queue("watch", "system.dead_letters.#")
    await mq.declare_queue("orders.in", "orders.#", delivery_limit=1)
    await kill(mq, "orders.in", 2, reason="no VIN")
    notices = await announced(mq, "watch")
    assert notices == [
        {"queue": "orders.in", "count": 1, "reasons": ["rejected"]},
        {"queue": "orders.in", "count": 1, "reasons": ["rejected"]},
    ]


async def test_a_listening_queue_is_never_announced_to_itself(mq: MessageQueue) -> None:
    await mq.declare_queue("watch", "system.dead_letters.#")
    await mq.publish("system.dead_letters.x", {"queue": "x", "count": 1, "reasons": []})
    message = await mq.get("watch")
    assert message is not None
    await mq.nack(message.receipt, requeue=False, reason="alert consumer broke")
    assert await announced(mq, "watch") == []  # no notice about its own dead letter


def test_dead_letter_topics_are_valid_for_any_queue_name() -> None:
    assert (
        dead_letter_topic("workflow.ab12.trigger.9f")
        == "system.dead_letters.workflow.ab12.trigger.9f"
    )
    assert dead_letter_topic("odd*name.#") == "system.dead_letters.odd_name._"
    validate_topic(dead_letter_topic("x" * 300))
