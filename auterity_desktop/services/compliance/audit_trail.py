"""The append-only, hash-chained audit trail: record, page, verify, prune, export.

Appends are serialised (an in-process lock, and the primary key on ``seq`` against other
processes: a conflicting writer retries), so the chain never forks and has no gaps. Verify
walks the chain from the latest retention anchor, recomputing each hash, and checks that the
indexed columns still agree with the hashed body; it names the first entry that was altered,
removed or reordered. On SQLite the walk reads with the standard library driver in a worker
thread, which keeps it close to the cost of hashing alone.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.orm import AppMeta
from auterity_desktop.core.service import BaseService, Health, HealthState
from auterity_desktop.services.compliance.audit_codec import (
    GENESIS_HASH,
    canonical_body,
    chain_hash,
    encode_details,
)
from auterity_desktop.services.compliance.models import AuditAnchorRow, AuditEntryRow

logger = logging.getLogger(__name__)

HEAD_KEY = "audit_head"
OUTCOMES = ("success", "failure", "denied", "alert")
SORTABLE = ("seq", "ts_us", "actor", "action", "resource", "outcome")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts_us: int
    actor: str
    action: str
    resource: str
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    body: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts_us / 1_000_000, UTC)

    def to_export(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "resource": self.resource,
            "outcome": self.outcome,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "body": self.body,
        }


@dataclass(frozen=True)
class AuditFilter:
    start: datetime | None = None
    end: datetime | None = None
    actor: str | None = None
    action: str | None = None
    resource: str | None = None
    outcome: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_key: tuple[Any, int] | None  # pass back as ``after`` for the following page


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None  # altered | removed | reordered | inconsistent
    message: str = ""
    head_seq: int | None = None
    head_hash: str | None = None


@dataclass
class AuditItem:
    """One entry to append in a batch."""

    actor: str
    action: str
    resource: str
    outcome: str = "success"
    details: dict[str, Any] = field(default_factory=dict)
    ts_us: int | None = None


def _row_to_entry(row: Any) -> AuditEntry:
    data = json.loads(row.body)
    return AuditEntry(
        seq=row.seq,
        ts_us=data["ts_us"],
        actor=data["actor"],
        action=data["action"],
        resource=data["resource"],
        outcome=data["outcome"],
        details=data["details"],
        prev_hash=row.prev_hash,
        hash=row.hash,
        body=row.body,
    )


class ChainChecker:
    """Walks rows ``(seq, prev_hash, body, hash)`` in seq order; stops at the first fault."""

    def __init__(self, expected_seq: int | None, expected_prev: str) -> None:
        self.expected_seq = expected_seq
        self.expected_prev = expected_prev
        self.checked = 0
        self.fault: tuple[int, str, str] | None = None
        self.last_seq: int | None = None

    def feed(self, rows: Iterable[Sequence[Any]]) -> bool:
        sha256 = hashlib.sha256
        expected_seq, expected_prev = self.expected_seq, self.expected_prev
        checked = 0
        for seq, prev, body, stored in rows:
            if expected_seq is not None and seq != expected_seq:
                if seq > expected_seq:
                    self.fault = (
                        expected_seq,
                        "removed",
                        f"entry {expected_seq} is missing: the chain jumps to {seq}",
                    )
                else:
                    self.fault = (seq, "reordered", f"entry {seq} appears out of order")
                break
            if prev != expected_prev:
                self.fault = (
                    seq,
                    "reordered",
                    f"entry {seq} does not follow the entry before it "
                    "(removed, reordered or re-linked)",
                )
                break
            if sha256(f"{prev}\n{body}".encode()).hexdigest() != stored:
                self.fault = (seq, "altered", f"entry {seq} was altered after it was written")
                break
            expected_prev = stored
            expected_seq = seq + 1
            checked += 1
        self.checked += checked
        self.expected_seq, self.expected_prev = expected_seq, expected_prev
        self.last_seq = (expected_seq - 1) if expected_seq is not None else None
        return self.fault is None


class AuditTrail(BaseService):
    name = "audit"
    dependencies = ("database",)

    def __init__(
        self,
        database: Database,
        events: EventBus | None = None,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.database = database
        self.events = events
        self.retention_days = retention_days
        self._clock = clock
        self._lock = asyncio.Lock()

    # -- writing ------------------------------------------------------------------------
    async def record(
        self,
        actor: str,
        action: str,
        resource: str = "",
        outcome: str = "success",
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        entries = await self.record_many(
            [AuditItem(actor, action, resource, outcome, details or {})]
        )
        return entries[0]

    async def record_many(self, items: Sequence[AuditItem]) -> list[AuditEntry]:
        """Append entries in one transaction (the batched path)."""
        for item in items:
            if item.outcome not in OUTCOMES:
                raise ServiceError(
                    ErrorCode.INVALID_INPUT,
                    f"Audit outcome must be one of {', '.join(OUTCOMES)}",
                    {"outcome": item.outcome},
                )
        async with self._lock:
            for attempt in range(5):
                try:
                    return await self._append(items)
                except IntegrityError:  # another process appended first: re-read the head
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _append(self, items: Sequence[AuditItem]) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        async with self.database.engine.begin() as conn:
            head = (
                await conn.execute(
                    select(AuditEntryRow.seq, AuditEntryRow.hash)
                    .order_by(AuditEntryRow.seq.desc())
                    .limit(1)
                )
            ).first()
            if head is None:
                anchor = await self._latest_anchor(conn)
                seq, prev = (anchor[0], anchor[1]) if anchor else (0, GENESIS_HASH)
            else:
                seq, prev = head
            now_us = int(self._clock() * 1_000_000)
            rows = []
            for item in items:
                seq += 1
                details = encode_details(item.details)
                ts_us = item.ts_us if item.ts_us is not None else now_us
                actor, action = item.actor[:200], item.action[:100]
                resource = item.resource[:300]
                body = canonical_body(seq, ts_us, actor, action, resource, item.outcome, details)
                digest = chain_hash(prev, body)
                rows.append(
                    {
                        "seq": seq,
                        "ts_us": ts_us,
                        "actor": actor,
                        "action": action,
                        "resource": resource,
                        "outcome": item.outcome,
                        "body": body,
                        "prev_hash": prev,
                        "hash": digest,
                    }
                )
                entries.append(
                    AuditEntry(
                        seq,
                        ts_us,
                        actor,
                        action,
                        resource,
                        item.outcome,
                        details,
                        prev,
                        digest,
                        body,
                    )
                )
                prev = digest
            if rows:
                await conn.execute(insert(AuditEntryRow), rows)
                await self._write_head(conn, seq, prev)
        if self.events is not None:
            for entry in entries:
                self.events.publish(
                    "audit_recorded",
                    {"seq": entry.seq, "action": entry.action, "outcome": entry.outcome},
                )
        return entries

    async def _write_head(self, conn: AsyncConnection, seq: int, digest: str) -> None:
        value = f"{seq}:{digest}"
        now = datetime.now(UTC)
        updated = await conn.execute(
            update(AppMeta).where(AppMeta.key == HEAD_KEY).values(value=value, updated_at=now)
        )
        if updated.rowcount == 0:
            await conn.execute(insert(AppMeta).values(key=HEAD_KEY, value=value, updated_at=now))

    async def _latest_anchor(self, conn: AsyncConnection) -> tuple[int, str] | None:
        row = (
            await conn.execute(
                select(AuditAnchorRow.through_seq, AuditAnchorRow.through_hash)
                .order_by(AuditAnchorRow.id.desc())
                .limit(1)
            )
        ).first()
        return (int(row[0]), str(row[1])) if row else None

    # -- reading ------------------------------------------------------------------------
    def _filtered(self, query: Select[Any], flt: AuditFilter) -> Select[Any]:
        t = AuditEntryRow
        if flt.start is not None:
            query = query.where(t.ts_us >= int(flt.start.timestamp() * 1_000_000))
        if flt.end is not None:
            query = query.where(t.ts_us < int(flt.end.timestamp() * 1_000_000))
        for column, value in (
            (t.actor, flt.actor),
            (t.action, flt.action),
            (t.resource, flt.resource),
            (t.outcome, flt.outcome),
        ):
            if value:
                query = query.where(column == value)
        if flt.text:
            needle = flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(t.body.ilike(f"%{needle}%", escape="\\"))
        return query

    async def page(
        self,
        flt: AuditFilter | None = None,
        *,
        sort: str = "seq",
        descending: bool = True,
        after: tuple[Any, int] | None = None,
        limit: int = 200,
    ) -> AuditPage:
        """One page by keyset pagination: stable and fast at any depth."""
        if sort not in SORTABLE:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"Cannot sort by {sort!r}", {"allowed": SORTABLE}
            )
        if not 1 <= limit <= 10_000:
            raise ServiceError(ErrorCode.INVALID_INPUT, "limit must be 1–10000", {"limit": limit})
        t = AuditEntryRow
        column = getattr(t, sort)
        query = self._filtered(
            select(t.seq, t.body, t.prev_hash, t.hash, column.label("sort_key")),
            flt or AuditFilter(),
        )
        if after is not None:
            key = tuple_(column, t.seq)
            bound = tuple_(*after) if sort != "seq" else None
            if sort == "seq":
                query = query.where(t.seq < after[1] if descending else t.seq > after[1])
            else:
                query = query.where(key < bound if descending else key > bound)
        if sort == "seq":
            order = [t.seq.desc() if descending else t.seq.asc()]
        else:
            order = [column.desc(), t.seq.desc()] if descending else [column.asc(), t.seq.asc()]
        query = query.order_by(*order).limit(limit)
        async with self.database.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        entries = [_row_to_entry(r) for r in rows]
        next_key = (rows[-1].sort_key, rows[-1].seq) if len(rows) == limit else None
        return AuditPage(entries, next_key)

    async def get(self, seq: int) -> AuditEntry:
        async with self.database.engine.connect() as conn:
            row = (
                await conn.execute(select(AuditEntryRow).where(AuditEntryRow.seq == seq))
            ).first()
        if row is None:
            raise ServiceError(ErrorCode.NOT_FOUND, f"No audit entry {seq}", {"seq": seq})
        return _row_to_entry(row)

    async def count(self, flt: AuditFilter | None = None) -> int:
        query = self._filtered(
            select(func.count()).select_from(AuditEntryRow), flt or AuditFilter()
        )
        async with self.database.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def distinct_values(self, column: str, limit: int = 500) -> list[str]:
        if column not in ("actor", "action", "resource", "outcome"):
            raise ServiceError(ErrorCode.INVALID_INPUT, f"No such column {column!r}", {})
        col = getattr(AuditEntryRow, column)
        async with self.database.engine.connect() as conn:
            rows = await conn.execute(select(col).distinct().order_by(col).limit(limit))
            return [r[0] for r in rows]

    # -- verification -------------------------------------------------------------------
    async def verify(
        self, progress: Progress | None = None, batch_size: int = 50_000
    ) -> VerifyResult:
        async with self.database.engine.connect() as conn:
            anchor = await self._latest_anchor(conn)
            total = int(
                (await conn.execute(select(func.count()).select_from(AuditEntryRow))).scalar_one()
            )
            head_value = (
                await conn.execute(select(AppMeta.value).where(AppMeta.key == HEAD_KEY))
            ).scalar()
            inconsistent = await self._first_inconsistent(conn)
        checker = ChainChecker(
            anchor[0] + 1 if anchor else 1, anchor[1] if anchor else GENESIS_HASH
        )
        if self.database.dialect == "sqlite":
            await asyncio.to_thread(self._walk_sqlite, checker, total, progress, batch_size)
        else:
            await self._walk_streamed(checker, total, progress, batch_size)
        faults = []
        if checker.fault is not None:
            faults.append(checker.fault)
        if inconsistent is not None:
            faults.append(
                (
                    inconsistent,
                    "altered",
                    f"entry {inconsistent} was altered after it was written "
                    "(its columns no longer match its hashed content)",
                )
            )
        if not faults and head_value:
            head_seq, _, head_hash = head_value.partition(":")
            last = checker.expected_seq - 1 if checker.expected_seq is not None else 0
            if int(head_seq) > last:
                faults.append(
                    (
                        last + 1,
                        "removed",
                        f"entries {last + 1}–{head_seq} are missing from the end of the chain",
                    )
                )
            elif int(head_seq) == last and head_hash != checker.expected_prev:
                faults.append((last, "altered", f"entry {last} does not match the recorded head"))
        if faults:
            seq, problem, message = min(faults, key=lambda f: f[0])
            return VerifyResult(False, checker.checked, seq, problem, message)
        head = checker.expected_seq - 1 if checker.expected_seq else None
        return VerifyResult(
            True,
            checker.checked,
            message=f"All {checker.checked:,} entries verify.",
            head_seq=head,
            head_hash=checker.expected_prev,
        )

    def _walk_sqlite(
        self, checker: ChainChecker, total: int, progress: Progress | None, batch: int
    ) -> None:
        path = self.database.url.database
        uri = f"file:{path}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            cursor = conn.execute(
                "SELECT seq, prev_hash, body, hash FROM audit_entries ORDER BY seq"
            )
            while True:
                rows = cursor.fetchmany(batch)
                if not rows or not checker.feed(rows):
                    break
                if progress is not None:
                    progress(checker.checked, total)
        finally:
            conn.close()

    async def _walk_streamed(
        self, checker: ChainChecker, total: int, progress: Progress | None, batch: int
    ) -> None:
        t = AuditEntryRow
        query = (
            select(t.seq, t.prev_hash, t.body, t.hash)
            .order_by(t.seq)
            .execution_options(yield_per=batch)
        )
        async with self.database.engine.connect() as conn:
            result = await conn.stream(query)
            async for rows in result.partitions(batch):
                if not checker.feed(rows):
                    break
                if progress is not None:
                    progress(checker.checked, total)

    async def _first_inconsistent(self, conn: AsyncConnection) -> int | None:
        """First entry whose indexed columns disagree with its hashed body (done in SQL)."""
        if self.database.dialect == "sqlite":
            sql = (
                "SELECT min(seq) FROM audit_entries WHERE "
                "json_extract(body, '$.seq') IS NOT seq "
                "OR json_extract(body, '$.ts_us') IS NOT ts_us "
                "OR json_extract(body, '$.actor') IS NOT actor "
                "OR json_extract(body, '$.action') IS NOT action "
                "OR json_extract(body, '$.resource') IS NOT resource "
                "OR json_extract(body, '$.outcome') IS NOT outcome"
            )
        else:
            sql = (
                "SELECT min(seq) FROM audit_entries WHERE "
                "(body::jsonb->>'seq')::bigint IS DISTINCT FROM seq "
                "OR (body::jsonb->>'ts_us')::bigint IS DISTINCT FROM ts_us "
                "OR body::jsonb->>'actor' IS DISTINCT FROM actor "
                "OR body::jsonb->>'action' IS DISTINCT FROM action "
                "OR body::jsonb->>'resource' IS DISTINCT FROM resource "
                "OR body::jsonb->>'outcome' IS DISTINCT FROM outcome"
            )
        try:
            value = (await conn.execute(text(sql))).scalar()
        except Exception as exc:  # a body that is not even JSON any more
            logger.warning("audit consistency query failed", extra={"error": str(exc)})
            return await self._first_unparsable(conn)
        return int(value) if value is not None else None

    async def _first_unparsable(self, conn: AsyncConnection) -> int | None:
        rows = await conn.stream(
            select(AuditEntryRow.seq, AuditEntryRow.body).order_by(AuditEntryRow.seq)
        )
        async for seq, body in rows:
            try:
                json.loads(body)
            except ValueError:
                return int(seq)
        return None

    # -- retention ------------------------------------------------------------------------
    async def prune(self, now: float | None = None) -> int:
        """Delete entries older than the retention period, leaving an anchor behind."""
        cutoff = int(
            ((now if now is not None else self._clock()) - self.retention_days * 86_400) * 1_000_000
        )
        async with self._lock, self.database.engine.begin() as conn:
            # Entries are pruned as a prefix of the chain, never from its middle, and the
            # newest entry always stays so the chain keeps its head.
            t = AuditEntryRow
            first_kept = (
                await conn.execute(select(func.min(t.seq)).where(t.ts_us >= cutoff))
            ).scalar()
            if first_kept is None:
                first_kept = (await conn.execute(select(func.max(t.seq)))).scalar()
            if first_kept is None:
                return 0
            last = (
                await conn.execute(
                    select(t.seq, t.hash).where(t.seq < first_kept).order_by(t.seq.desc()).limit(1)
                )
            ).first()
            if last is None:
                return 0
            count = (
                await conn.execute(delete(AuditEntryRow).where(AuditEntryRow.seq <= last[0]))
            ).rowcount
            await conn.execute(
                insert(AuditAnchorRow).values(
                    created_at=datetime.now(UTC),
                    through_seq=last[0],
                    through_hash=last[1],
                    pruned_count=count,
                )
            )
        await self.record(
            "system",
            "audit.pruned",
            "audit",
            "success",
            {
                "through_seq": int(last[0]),
                "pruned": int(count),
                "retention_days": self.retention_days,
            },
        )
        return int(count)

    # -- export -------------------------------------------------------------------------
    async def iter_entries(self, flt: AuditFilter | None = None, batch: int = 5000) -> Any:
        after: tuple[Any, int] | None = None
        while True:
            page = await self.page(flt, sort="seq", descending=False, after=after, limit=batch)
            for entry in page.entries:
                yield entry
            if page.next_key is None:
                return
            after = page.next_key

    async def export(
        self,
        path: Path,
        fmt: str = "jsonl",
        flt: AuditFilter | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Write entries (oldest first) with their hashes and canonical bodies."""
        if fmt not in ("jsonl", "csv"):
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "Export format must be jsonl or csv", {"format": fmt}
            )
        total = await self.count(flt)
        tmp = path.with_name(path.name + ".part")
        written = 0
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                writer = None
                if fmt == "csv":
                    writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
                    writer.writeheader()
                async for entry in self.iter_entries(flt):
                    data = entry.to_export()
                    if writer is not None:
                        writer.writerow(
                            {**data, "details": json.dumps(data["details"], ensure_ascii=False)}
                        )
                    else:
                        fh.write(json.dumps(data, ensure_ascii=False) + "\n")
                    written += 1
                    if progress is not None and written % 5000 == 0:
                        progress(written, total)
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"Cannot write {path}: {exc.strerror}", {"path": str(path)}
            ) from None
        return written

    async def cutoff_for(self, days: int) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC) - timedelta(days=days)

    async def health(self) -> Health:
        if not self.started:
            return await super().health()
        return Health(HealthState.OK, "audit trail")


EXPORT_FIELDS = (
    "seq",
    "time",
    "actor",
    "action",
    "resource",
    "outcome",
    "details",
    "prev_hash",
    "hash",
    "body",
)


def verify_export(lines: Iterator[dict[str, Any]]) -> VerifyResult:
    """Re-verify exported entries (JSON Lines or CSV rows) without the database.

    A filtered export is verified link by link where entries are consecutive; each entry's
    own hash is always checked.
    """
    checked = 0
    previous: dict[str, Any] | None = None
    for data in lines:
        seq = int(data["seq"])
        if chain_hash(data["prev_hash"], data["body"]) != data["hash"]:
            return VerifyResult(False, checked, seq, "altered", f"entry {seq} was altered")
        if (
            previous is not None
            and int(previous["seq"]) + 1 == seq
            and previous["hash"] != data["prev_hash"]
        ):
            return VerifyResult(
                False, checked, seq, "reordered", f"entry {seq} does not follow {seq - 1}"
            )
        previous = data
        checked += 1
    return VerifyResult(True, checked, message=f"All {checked:,} exported entries verify.")
