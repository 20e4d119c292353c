"""The audit chain: append, page, tamper detection on both databases, retention, export."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_codec import REDACTED, chain_hash
from auterity_desktop.services.compliance.audit_trail import (
    AuditFilter,
    AuditItem,
    AuditTrail,
    verify_export,
)
from auterity_desktop.services.compliance.models import AuditEntryRow
from tests.fakes import FakeClock


@pytest.fixture
async def trail(any_database_url: str) -> AsyncIterator[AuditTrail]:
    database = Database(any_database_url)
    await database.initialize()
    trail = AuditTrail(database, retention_days=30, clock=FakeClock(1_800_000_000.0))
    try:
        yield trail
    finally:
        await database.cleanup()


async def fill(trail: AuditTrail, n: int = 20) -> None:
    await trail.record_many(
        [
            AuditItem(f"user{i % 3}", "workflow.saved", f"workflows/wf{i}", "success", {"i": i})
            for i in range(n)
        ]
    )


async def sql(trail: AuditTrail, statement: str) -> None:
    async with trail.database.engine.begin() as conn:
        await conn.exec_driver_sql(statement)


async def test_entries_chain_and_verify(trail: AuditTrail) -> None:
    first = await trail.record("alice", "auth.login", "users/alice", "success", {"client": "gui"})
    assert first.seq == 1
    assert first.prev_hash == "0" * 64
    assert first.hash == chain_hash(bytes(32), first.body).hex()
    await fill(trail, 20)
    second = await trail.get(2)
    assert second.prev_hash == first.hash
    result = await trail.verify()
    assert result.ok, result.message
    assert result.checked == 21
    assert result.head_seq == 21


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        (
            "UPDATE audit_entries SET body = replace(body, '\"i\":7', '\"i\":70') WHERE seq = 8",
            8,
            "altered",
        ),
        (
            'UPDATE audit_entries SET body = replace(body, \'"actor":"user1"\', '
            '\'"actor":"mallory"\') WHERE seq = 5',
            5,
            "altered",
        ),
        (
            "UPDATE audit_entries SET body = replace(body, '\"success\"', '\"failure\"') "
            "WHERE seq = 12",
            12,
            "altered",
        ),
        ("DELETE FROM audit_entries WHERE seq = 9", 9, "removed"),
        ("DELETE FROM audit_entries WHERE seq = 20", 20, "removed"),
    ],
)
async def test_tampering_is_named(trail: AuditTrail, tamper: str, seq: int, problem: str) -> None:
    await fill(trail, 20)
    await sql(trail, tamper)
    result = await trail.verify()
    assert not result.ok
    assert result.first_bad_seq == seq
    assert result.problem == problem
    assert str(seq) in result.message


async def test_filter_columns_cannot_be_edited_apart_from_the_body(trail: AuditTrail) -> None:
    await fill(trail, 3)
    with pytest.raises(Exception, match=r"(?i)generated|cannot|only be updated to DEFAULT"):
        await sql(trail, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2")
    await sql(
        trail,
        'UPDATE audit_entries SET body = replace(body, \'"actor":"user1"\', '
        '\'"actor":"mallory"\') WHERE seq = 2',
    )
    entry = await trail.get(2)
    assert entry.actor == "mallory"  # the column follows the body…
    assert (await trail.page(AuditFilter(actor="mallory"))).entries[0].seq == 2
    result = await trail.verify()  # …and the body no longer matches its hash
    assert (result.first_bad_seq, result.problem) == (2, "altered")


@pytest.fixture
async def sqlite_trail(tmp_path: Path) -> AsyncIterator[AuditTrail]:
    database = Database(f"sqlite:///{tmp_path / 'segments.db'}")
    await database.initialize()
    try:
        yield AuditTrail(database)
    finally:
        await database.cleanup()


async def test_parallel_segments_name_the_first_fault(
    sqlite_trail: AuditTrail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite checks long chains in worker processes, one segment each."""
    from auterity_desktop.services.compliance import audit_trail as module

    trail = sqlite_trail
    monkeypatch.setattr(module, "PARALLEL_MIN_ENTRIES", 0)
    monkeypatch.setattr(module.os, "cpu_count", lambda: 4)
    await fill(trail, 400)
    seen: list[tuple[int, int]] = []
    assert (await trail.verify(progress=lambda done, total: seen.append((done, total)))).ok
    assert seen[-1] == (400, 400)
    await sql(trail, "DELETE FROM audit_entries WHERE seq = 300")
    await sql(
        trail, "UPDATE audit_entries SET body = replace(body, 'user', 'resu') WHERE seq = 250"
    )
    result = await trail.verify()
    assert (result.first_bad_seq, result.problem) == (250, "altered")
    await sql(trail, "DELETE FROM audit_entries WHERE seq BETWEEN 101 AND 200")
    result = await trail.verify()
    assert (result.first_bad_seq, result.problem) == (101, "removed")


async def test_swapped_rows_are_named(trail: AuditTrail) -> None:
    await fill(trail, 20)
    # swap the contents of entries 6 and 7, keeping their seq numbers
    await sql(trail, "UPDATE audit_entries SET seq = -6 WHERE seq = 6")
    await sql(trail, "UPDATE audit_entries SET seq = 6 WHERE seq = 7")
    await sql(trail, "UPDATE audit_entries SET seq = 7 WHERE seq = -6")
    result = await trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 6
    assert result.problem in ("reordered", "altered")


async def test_recomputed_hash_after_edit_is_still_caught_by_the_next_link(
    trail: AuditTrail,
) -> None:
    await fill(trail, 10)
    entry = await trail.get(4)
    forged_body = entry.body.replace('"i":3', '"i":33')
    forged_hash = chain_hash(bytes.fromhex(entry.prev_hash), forged_body)
    async with trail.database.engine.begin() as conn:
        await conn.execute(
            update(AuditEntryRow)
            .where(AuditEntryRow.seq == 4)
            .values(body=forged_body, hash=forged_hash)
        )
    result = await trail.verify()
    assert not result.ok
    assert result.first_bad_seq == 5  # entry 5 no longer follows the rewritten entry 4
    assert result.problem == "altered"


async def test_retention_prunes_with_an_anchor_and_the_rest_verifies(trail: AuditTrail) -> None:
    day = 86_400 * 1_000_000
    now_us = 1_800_000_000 * 1_000_000
    items = [
        AuditItem("old", "x.done", "r", "success", {}, ts_us=now_us - 40 * day + i)
        for i in range(10)
    ]
    items += [
        AuditItem("new", "x.done", "r", "success", {}, ts_us=now_us - 2 * day + i) for i in range(5)
    ]
    await trail.record_many(items)
    pruned = await trail.prune(now=1_800_000_000.0)
    assert pruned == 10
    remaining = await trail.page(descending=False)
    assert [e.seq for e in remaining.entries] == [11, 12, 13, 14, 15, 16]
    assert remaining.entries[-1].action == "audit.pruned"
    assert remaining.entries[-1].details["through_seq"] == 10
    result = await trail.verify()
    assert result.ok, result.message
    assert result.checked == 6
    await sql(trail, "DELETE FROM audit_entries WHERE seq = 11")
    result = await trail.verify()
    assert result.first_bad_seq == 11
    assert result.problem == "removed"


async def test_pagination_filters_and_sorting(trail: AuditTrail) -> None:
    await fill(trail, 30)
    await trail.record("dave", "auth.login", "users/dave", "failure", {"reason": "wrong_password"})
    page = await trail.page(limit=10)
    assert [e.seq for e in page.entries] == list(range(31, 21, -1))
    following = await trail.page(after=page.next_key, limit=10)
    assert [e.seq for e in following.entries] == list(range(21, 11, -1))
    by_actor = await trail.page(AuditFilter(actor="user1"), limit=100)
    assert {e.actor for e in by_actor.entries} == {"user1"}
    assert len(by_actor.entries) == 10
    failures = await trail.page(AuditFilter(outcome="failure"))
    assert [e.actor for e in failures.entries] == ["dave"]
    text_hits = await trail.page(AuditFilter(text="wrong_pass"))
    assert [e.seq for e in text_hits.entries] == [31]
    percent = await trail.page(AuditFilter(text="100%"))
    assert percent.entries == []
    sorted_page = await trail.page(sort="actor", descending=False, limit=12)
    actors = [e.actor for e in sorted_page.entries]
    assert actors == sorted(actors)
    rest = await trail.page(sort="actor", descending=False, after=sorted_page.next_key, limit=100)
    seen = [e.seq for e in sorted_page.entries] + [e.seq for e in rest.entries]
    assert sorted(seen) == list(range(1, 32))
    start = datetime.fromtimestamp(1_800_000_000, UTC)
    assert len((await trail.page(AuditFilter(start=start), limit=100)).entries) == 31
    assert (await trail.page(AuditFilter(end=start))).entries == []
    assert await trail.count(AuditFilter(actor="user2")) == 10
    with pytest.raises(ServiceError):
        await trail.page(sort="body")


async def test_export_carries_hashes_and_reverifies_outside(
    trail: AuditTrail, tmp_path: Path
) -> None:
    await fill(trail, 12)
    jsonl = tmp_path / "audit.jsonl"
    assert await trail.export(jsonl, "jsonl") == 12
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert (
        lines[0]["hash"] == chain_hash(bytes.fromhex(lines[0]["prev_hash"]), lines[0]["body"]).hex()
    )
    assert verify_export(iter(lines)).ok
    lines[3]["body"] = lines[3]["body"].replace("user0", "mallory")
    bad = verify_export(iter(lines))
    assert bad.first_bad_seq == 4
    csv_path = tmp_path / "audit.csv"
    assert await trail.export(csv_path, "csv", AuditFilter(actor="user0")) == 4
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["seq"]) for r in rows] == [1, 4, 7, 10]
    assert verify_export(iter(rows)).ok
    with pytest.raises(ServiceError):
        await trail.export(tmp_path / "x.xml", "xml")


async def test_secrets_and_huge_payloads_are_kept_out(trail: AuditTrail) -> None:
    entry = await trail.record(
        "alice",
        "integration.saved",
        "integrations/dms",
        "success",
        {
            "api_key": "sk-live-123",
            "nested": {"password": "hunter2hunter2"},
            "api_key_ref": "keyring:dms",
            "blob": "x" * 100_000,
            "many": list(range(10_000)),
        },
    )
    assert entry.details["api_key"] == REDACTED
    assert entry.details["nested"]["password"] == REDACTED
    assert entry.details["api_key_ref"] == "keyring:dms"
    assert "sk-live-123" not in entry.body
    assert "hunter2hunter2" not in entry.body
    assert len(entry.body) < 20_000
    with pytest.raises(ServiceError) as info:
        await trail.record("alice", "x", "y", "maybe")
    assert info.value.code is ErrorCode.INVALID_INPUT


async def test_retention_is_applied_after_start(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'retention.db'}")
    await database.initialize()
    clock = FakeClock(1_800_000_000.0)
    writer = AuditTrail(database, retention_days=30, clock=clock)
    old = (1_800_000_000 - 40 * 86_400) * 1_000_000
    await writer.record_many([AuditItem("old", "x.done", "r", ts_us=old + i) for i in range(5)])
    await writer.record("new", "x.done", "r")
    trail = AuditTrail(database, retention_days=30, clock=clock, prune_every=3600, prune_delay=0)
    try:
        await trail.initialize()
        for _ in range(500):
            if (await trail.page(limit=1)).entries[0].action == "audit.pruned":
                break
            await asyncio.sleep(0.01)
        actions = [e.action for e in (await trail.page(descending=False)).entries]
        assert actions == ["x.done", "audit.pruned"]
        assert (await trail.verify()).ok
    finally:
        await trail.cleanup()
        await database.cleanup()
