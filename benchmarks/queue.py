"""Message queue throughput on SQLite: publish, consume and acknowledge N messages.

Three measurements in the same run, on the same disk, each on a fresh database file:

(a) the floor: the same number of plain row inserts and deletes with the stdlib ``sqlite3``
    driver and the queue's durability settings (WAL, synchronous=NORMAL), every insert and
    every delete committed on its own — what "each publish and each ack is durable when it
    returns" costs with nothing else in the way;
(b) persist-queue's ``SQLiteAckQueue`` (as shipped: its own defaults) doing the same work:
    put N, then get and ack N;
(c) ``MessageQueue``: N messages published by concurrent producers (each publish awaited,
    so durable when it returns), then consumed by a subscription whose handler does nothing
    and whose acks are durable too.

Targets: (c) at least 10× (b)'s throughput and within 3× of (a)'s time.

    python benchmarks/queue.py [--messages 100000] [--pq-messages N] [--producers 64]
                               [--concurrency 256]
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.messaging.message import Message
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.security.passwords import PasswordHasher
from auterity_desktop.services.security.service import SecurityService


def payload(i: int) -> dict[str, object]:
    return {"lead": i, "dealer": "north", "model": "RAV4", "score": i % 100}


def floor(path: Path, count: int) -> float:
    """Seconds for ``count`` single-row insert transactions, then ``count`` deletes."""
    import json

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT, payload TEXT)"
    )
    started = time.perf_counter()
    ids = []
    for i in range(count):
        conn.execute("BEGIN")
        cursor = conn.execute(
            "INSERT INTO messages (topic, payload) VALUES (?, ?)",
            ("leads.created", json.dumps(payload(i))),
        )
        ids.append(cursor.lastrowid)
        conn.execute("COMMIT")
    for row_id in ids:
        conn.execute("BEGIN")
        conn.execute("DELETE FROM messages WHERE id = ?", (row_id,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def persist_queue(path: Path, count: int) -> float | None:
    """Seconds for persist-queue's SQLiteAckQueue to put, get and ack ``count`` items."""
    try:
        from persistqueue import SQLiteAckQueue
    except ImportError:
        return None
    queue = SQLiteAckQueue(str(path), auto_commit=True)
    started = time.perf_counter()
    for i in range(count):
        queue.put(payload(i))
    for _ in range(count):
        item = queue.get(block=False)
        queue.ack(item)
    elapsed = time.perf_counter() - started
    assert queue.qsize() == 0
    return elapsed


async def message_queue(
    path: Path, count: int, producers: int, concurrency: int
) -> tuple[float, float]:
    """Seconds to publish ``count`` messages, then seconds to consume and ack them."""
    database = Database(f"sqlite:///{path}")
    await database.initialize()
    events = EventBus()
    audit = AuditTrail(database, events)
    security = SecurityService(
        database, audit, events, SecretStore(), hasher=PasswordHasher(1024, 1)
    )
    mq = MessageQueue(database, audit, security.authz, events, sweep_interval=0)
    await mq.initialize()
    try:
        await mq.declare_queue("leads", "leads.#", max_length=count)

        async def produce(start: int) -> None:
            for i in range(start, count, producers):
                await mq.publish("leads.created", payload(i))

        started = time.perf_counter()
        await asyncio.gather(*(produce(p) for p in range(producers)))
        published = time.perf_counter() - started

        done = asyncio.Event()
        handled = 0

        async def handle(message: Message) -> None:
            nonlocal handled
            handled += 1
            if handled == count:
                done.set()

        started = time.perf_counter()
        subscription = await mq.subscribe("leads.#", handle, queue="leads", concurrency=concurrency)
        await done.wait()
        await subscription.stop()  # returns once the last acks are committed
        consumed = time.perf_counter() - started
        assert handled == count, f"handled {handled} of {count}"
        stats = await mq.queue_stats()
        assert stats.queues[0].depth == 0 and stats.dead == 0
        return published, consumed
    finally:
        await mq.cleanup()
        await events.close()
        await database.cleanup()


def main(args: argparse.Namespace) -> None:
    n = args.messages
    pq_n = args.pq_messages or n
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        base = Path(folder)
        floor_s = floor(base / "floor.db", n)
        pq_s = persist_queue(base / "persist-queue", pq_n)
        publish_s, consume_s = asyncio.run(
            message_queue(base / "queue.db", n, args.producers, args.concurrency)
        )
    ours_s = publish_s + consume_s
    ours_rate, floor_rate = n / ours_s, n / floor_s
    print(f"{n:,} messages, SQLite (WAL, synchronous=NORMAL)")
    print(f"(a) floor, sqlite3 insert + delete, one commit each: {floor_s:.2f} s")
    print(f"    = {floor_rate:,.0f} insert + delete pairs/s")
    if pq_s is None:
        print("(b) persist-queue is not installed (pip install '.[bench]'): skipped")
    else:
        pq_rate = pq_n / pq_s
        print(f"(b) persist-queue SQLiteAckQueue, put + get + ack {pq_n:,}: {pq_s:.2f} s")
        print(f"    = {pq_rate:,.0f} messages/s")
    print(
        f"(c) MessageQueue: publish {publish_s:.2f} s ({n / publish_s:,.0f}/s, "
        f"{args.producers} producers), consume + ack {consume_s:.2f} s "
        f"({n / consume_s:,.0f}/s, concurrency {args.concurrency})"
    )
    print(f"    = {ours_rate:,.0f} messages/s published, consumed and acked")
    ratio = ours_s / floor_s
    print(f"    time vs floor: {ratio:.2f}× (target ≤ 3): {'OK' if ratio <= 3 else 'TOO SLOW'}")
    if pq_s is not None:
        speedup = ours_rate / (pq_n / pq_s)
        verdict = "OK" if speedup >= 10 else "TOO SLOW"
        print(f"    throughput vs persist-queue: {speedup:.1f}× (target ≥ 10): {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument(
        "--pq-messages", type=int, default=0, help="persist-queue's count (default: the same)"
    )
    parser.add_argument("--producers", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--dir", default=None, help="folder for the databases (default: temp)")
    main(parser.parse_args())
