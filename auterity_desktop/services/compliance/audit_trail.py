"""The append-only, hash-chained audit trail: record, page, verify, prune, export.

Appends are serialised (an in-process lock, and across processes a database-wide lock taken
at the start of the append transaction: see ``_lock_chain``; the primary key on ``seq`` stays
as a backstop, a conflicting writer retries), so the chain never forks and has no gaps. Verify
walks the chain from the latest retention anchor, recomputing each hash, and names the first
entry that was altered, removed or reordered. On SQLite a long chain is split into segments
checked in parallel worker processes with the standard library driver.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, tuple_, update
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
from auterity_desktop.services.compliance.chain_walk import (
    ChainChecker,
    Fault,
    SegmentResult,
    walk_sqlite_segment,
)
from auterity_desktop.services.compliance.models import AuditAnchorRow, AuditEntryRow

logger = logging.getLogger(__name__)

HEAD_KEY = "audit_head"
OUTCOMES = ("success", "failure", "denied", "alert")
SORTABLE = ("seq", "ts_us", "actor", "action", "resource", "outcome")
PARALLEL_MIN_ENTRIES = 100_000  # below this, worker processes cost more than they save
# The PostgreSQL advisory lock key that serialises appends and pruning across processes
# (the bytes of "AuditChn"); any constant works as long as every writer uses the same one.
CHAIN_LOCK_KEY = 0x417564697443686E
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
    action_prefix: str | None = None  # "workflow" matches "workflow.created", ...


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
        prev_hash=bytes(row.prev_hash).hex(),
        hash=bytes(row.hash).hex(),
        body=row.body,
    )


class AuditTrail(BaseService):
    name = "audit"
    dependencies = ("database",)

    def __init__(
        self,
        database: Database,
        events: EventBus | None = None,
        retention_days: int = 30,
        clock: Callable[[], float] = time.time,
        prune_every: float | None = None,
        prune_delay: float = 60.0,
    ) -> None:
        super().__init__()
        self.database = database
        self.events = events
        self.retention_days = retention_days
        self._clock = clock
        self._lock = asyncio.Lock()
        self._queue: list[tuple[AuditItem, asyncio.Future[AuditEntry]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.prune_every = prune_every
        self.prune_delay = prune_delay
        self._pruner: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        if self.prune_every is not None:
            self._pruner = asyncio.create_task(self._prune_periodically(self.prune_every))

    async def cleanup(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)
            self._pruner = None

    async def _prune_periodically(self, interval: float) -> None:
        """Apply retention shortly after start (not during it) and then every ``interval``."""
        await asyncio.sleep(self.prune_delay)
        while True:
            try:
                pruned = await self.prune()
                if pruned:
                    logger.info("audit retention applied", extra={"pruned": pruned})
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("audit retention failed; will retry")
            await asyncio.sleep(interval)

    # -- writing ------------------------------------------------------------------------
    async def record(
        self,
        actor: str,
        action: str,
        resource: str = "",
        outcome: str = "success",
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry. Concurrent callers share one transaction (group commit); each
        returns once its own entry is committed."""
        item = AuditItem(actor, action, resource, outcome, details or {})
        self._check_outcomes([item])
        future: asyncio.Future[AuditEntry] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_queue())
        return await future

    async def _flush_queue(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                entries = await self.record_many([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), entry in zip(batch, entries, strict=True):
                if not future.done():
                    future.set_result(entry)

    @staticmethod
    def _check_outcomes(items: Sequence[AuditItem]) -> None:
        for item in items:
            if item.outcome not in OUTCOMES:
                raise ServiceError(
                    ErrorCode.INVALID_INPUT,
                    f"Audit outcome must be one of {', '.join(OUTCOMES)}",
                    {"outcome": item.outcome},
                )

    async def record_many(self, items: Sequence[AuditItem]) -> list[AuditEntry]:
        """Append entries in one transaction (the batched path)."""
        self._check_outcomes(items)
        async with self._lock:
            for attempt in range(5):
                try:
                    return await self._append(items)
                except IntegrityError:  # backstop: another writer appended first; re-read
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _lock_chain(self, conn: AsyncConnection) -> None:
        """Take the chain's cross-process write lock; the first statement of every append
        and prune transaction, held until that transaction ends.

        The append reads the head and then inserts ``head + 1``: two processes that read the
        same head would race for the same ``seq``. The primary key stops a fork, but the loser
        must retry, and with several busy processes a few retries can all lose, failing
        ``record()`` after the audited action was already committed. So writers queue here
        instead, and the head is read only once the lock is held:

        * PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback,
          so a crashed writer never leaves it behind). Read committed gives every later
          statement a fresh snapshot, so the head read after the wait sees the previous
          holder's entries.
        * SQLite: ``BEGIN IMMEDIATE`` takes the database write lock now (waiting up to the
          busy timeout). Without it the driver would read the head outside a transaction
          and only begin (deferred) at the INSERT, so two processes could read one head.
        """
        if self.database.dialect == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await conn.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))

    async def _append(self, items: Sequence[AuditItem]) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        async with self.database.begin() as conn:
            await self._lock_chain(conn)
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
                seq, prev = head[0], bytes(head[1])
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
                # the filterable columns are generated by the database from the body
                rows.append({"seq": seq, "body": body, "prev_hash": prev, "hash": digest})
                entries.append(
                    AuditEntry(
                        seq,
                        ts_us,
                        actor,
                        action,
                        resource,
                        item.outcome,
                        details,
                        prev.hex(),
                        digest.hex(),
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

    async def _write_head(self, conn: AsyncConnection, seq: int, digest: bytes) -> None:
        value = f"{seq}:{digest.hex()}"
        now = datetime.now(UTC)
        updated = await conn.execute(
            update(AppMeta).where(AppMeta.key == HEAD_KEY).values(value=value, updated_at=now)
        )
        if updated.rowcount == 0:
            await conn.execute(insert(AppMeta).values(key=HEAD_KEY, value=value, updated_at=now))

    async def _latest_anchor(self, conn: AsyncConnection) -> tuple[int, bytes] | None:
        row = (
            await conn.execute(
                select(AuditAnchorRow.through_seq, AuditAnchorRow.through_hash)
                .order_by(AuditAnchorRow.id.desc())
                .limit(1)
            )
        ).first()
        return (int(row[0]), bytes(row[1])) if row else None

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
        if flt.action_prefix:
            prefix = _like_escape(flt.action_prefix.rstrip("."))
            query = query.where(t.action.like(f"{prefix}.%", escape="\\"))
        if flt.text:
            query = query.where(t.body.ilike(f"%{_like_escape(flt.text)}%", escape="\\"))
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
            bounds = (
                await conn.execute(select(func.min(AuditEntryRow.seq), func.max(AuditEntryRow.seq)))
            ).first()
            total = int(
                (await conn.execute(select(func.count()).select_from(AuditEntryRow))).scalar_one()
            )
            head_value = (
                await conn.execute(select(AppMeta.value).where(AppMeta.key == HEAD_KEY))
            ).scalar()
        first_seq = anchor[0] + 1 if anchor else 1
        start_prev = anchor[1] if anchor else GENESIS_HASH
        last_seq = bounds[1] if bounds and bounds[1] is not None else first_seq - 1
        if self.database.dialect == "sqlite":
            checked, fault, end_seq, end_hash = await self._walk_sqlite(
                first_seq, last_seq, start_prev, total, progress, batch_size
            )
        else:
            checker = ChainChecker(first_seq, start_prev)
            await self._walk_streamed(checker, total, progress, batch_size)
            checked, fault = checker.checked, checker.fault
            end_seq = (checker.expected_seq or first_seq) - 1
            end_hash = checker.expected_prev
        if fault is None and head_value:
            head_seq_text, _, head_hash = head_value.partition(":")
            head_seq = int(head_seq_text)
            if head_seq > end_seq:
                fault = Fault(
                    end_seq + 1,
                    "removed",
                    f"entries {end_seq + 1}–{head_seq} are missing from the end of the chain",
                )
            elif head_seq == end_seq and head_hash != end_hash.hex():
                fault = Fault(
                    end_seq, "altered", f"entry {end_seq} does not match the recorded head"
                )
        if fault is not None:
            return VerifyResult(False, checked, fault.seq, fault.problem, fault.message)
        return VerifyResult(
            True,
            checked,
            message=f"All {checked:,} entries verify.",
            head_seq=end_seq if checked else None,
            head_hash=end_hash.hex(),
        )

    async def _walk_sqlite(
        self,
        first: int,
        last: int,
        start_prev: bytes,
        total: int,
        progress: Progress | None,
        batch: int,
    ) -> tuple[int, Fault | None, int, bytes]:
        path = str(self.database.url.database)
        workers = min(os.cpu_count() or 1, 8)
        frozen = getattr(sys, "frozen", False)  # a bundled app cannot run `python -m` workers
        if total < PARALLEL_MIN_ENTRIES or workers < 2 or last < first or frozen:
            report = (lambda n: progress(n, total)) if progress is not None else None
            result = await asyncio.to_thread(
                walk_sqlite_segment, path, first, last, start_prev, batch, report
            )
            return self._combine([(first, last, result)])
        size = (last - first + 1 + workers - 1) // workers
        ranges = [(lo, min(lo + size - 1, last)) for lo in range(first, last + 1, size)]
        done = 0

        async def run(lo: int, hi: int) -> SegmentResult:
            nonlocal done
            prev = start_prev.hex() if lo == first else "-"
            result = await asyncio.to_thread(_run_segment_process, path, lo, hi, prev)
            done += result.checked
            if progress is not None:
                progress(done, total)
            return result

        results = await asyncio.gather(*(run(lo, hi) for lo, hi in ranges))
        return self._combine([(lo, hi, r) for (lo, hi), r in zip(ranges, results, strict=True)])

    @staticmethod
    def _combine(
        segments: list[tuple[int, int, SegmentResult]],
    ) -> tuple[int, Fault | None, int, bytes]:
        """Join segment results: the earliest fault wins; a short segment means removals."""
        faults = []
        checked = 0
        for lo, hi, result in segments:
            checked += result.checked
            if result.fault is not None:
                faults.append(result.fault)
            elif (result.last_seq if result.last_seq is not None else lo - 1) < hi:
                missing = (result.last_seq or lo - 1) + 1
                faults.append(Fault(missing, "removed", f"entry {missing} is missing"))
        fault = min(faults, key=lambda f: f.seq) if faults else None
        last = segments[-1][2]
        end_seq = last.last_seq if last.last_seq is not None else segments[-1][0] - 1
        return checked, fault, end_seq, last.last_hash

    async def _walk_streamed(
        self, checker: ChainChecker, total: int, progress: Progress | None, batch: int
    ) -> None:
        t = AuditEntryRow
        query = select(t.seq, t.body, t.hash).order_by(t.seq).execution_options(yield_per=batch)
        async with self.database.engine.connect() as conn:
            result = await conn.stream(query)
            async for rows in result.partitions(batch):
                if not checker.feed((seq, body, bytes(digest)) for seq, body, digest in rows):
                    break
                if progress is not None:
                    progress(checker.checked, total)

    # -- retention ------------------------------------------------------------------------
    async def prune(self, now: float | None = None) -> int:
        """Delete entries older than the retention period, leaving an anchor behind."""
        cutoff = int(
            ((now if now is not None else self._clock()) - self.retention_days * 86_400) * 1_000_000
        )
        async with self._lock, self.database.begin() as conn:
            # Serialised with appends in every process, so the anchor is read and written
            # against the chain as it is, and two pruners never anchor the same prefix.
            await self._lock_chain(conn)
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


def _run_segment_process(path: str, lo: int, hi: int, prev: str) -> SegmentResult:
    """Check one segment in a separate interpreter (true parallelism: hashing holds the GIL)."""
    package_root = str(Path(__file__).resolve().parents[3])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "auterity_desktop.services.compliance.chain_walk",
            path,
            str(lo),
            str(hi),
            prev,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    if completed.returncode != 0:
        raise ServiceError(
            ErrorCode.INTERNAL_ERROR,
            "A verification worker failed: "
            + (completed.stderr.strip().splitlines() or ["no output"])[-1],
            {"segment": [lo, hi]},
        )
    return SegmentResult.from_json(completed.stdout.strip().splitlines()[-1])


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
        if chain_hash(bytes.fromhex(data["prev_hash"]), data["body"]).hex() != data["hash"]:
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


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
