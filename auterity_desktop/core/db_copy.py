"""Copying a whole database to another one, e.g. a personal SQLite file to the team server.

The copy is generic: it walks every table the models define, in foreign-key order, so a
table added later is copied without anyone remembering to list it. It never overwrites or
merges: the target must hold no rows, and the source must be at this version's schema (its
tables are then exactly the models' tables; an older source would be read with the wrong
columns).

Decisions worth knowing:

* **One target transaction for the whole copy.** A copy that fails halfway (a string longer
  than PostgreSQL allows, a lost connection) rolls back completely and leaves the target as
  an empty, migrated database, which a retry accepts again. With a transaction per table a
  failure would leave a half-filled target that the "must be empty" rule refuses for good,
  and people opening the target meanwhile would see some tables without the rows others
  point to. The cost, one long transaction, falls on a database nobody uses yet.
* **One snapshot of the source.** All tables are read in one read transaction (SQLite:
  an explicit ``BEGIN``; PostgreSQL: ``REPEATABLE READ``), so a GUI or worker writing
  meanwhile cannot make runs point at nodes that were copied before they existed. What is
  written after the snapshot stays in the source only.
* **The target keeps its own instance id** (and creation time). The instance id names the
  keyring entry of the session-signing key (``session-signing-key/<instance id>``).
  Keeping the source's id would let the existing key sign for the new database too: the
  copied sessions would stay valid there, and the personal file, which still exists, and the
  team database would accept each other's tokens on this computer, while a sign-out in one
  would not end the session in the other. The instance id also names a database in team
  mode, and the team database is a new one. With its own id the target gets its own key the
  first time it is opened, the copied sessions cannot be resumed (they are signed with the
  old key), and everyone signs in once — the price of a clean boundary, paid once.
* **Sequence positions are carried over, not recomputed.** Message ids come from a sequence
  that must never hand out a number twice (a replayed dead letter goes back under its old
  id), so the target's sequences start after the larger of the source's high-water mark and
  the largest id copied.
* **JSON null stays apart from SQL NULL**, and time zones are made explicit (SQLite keeps
  UTC wall times without an offset, which PostgreSQL's driver would read as local time).

Secrets never travel: the database holds only the names of keyring entries.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    Table,
    column,
    func,
    insert,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from auterity_desktop.core.db import Database, describe_url, head_revision, normalise_url
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.orm import AppMeta, Base
from auterity_desktop.core.schema import import_all_models

Progress = Callable[[str, int, int], None]

# What migrating an empty database writes by itself (see ``core.db._record_instance``): a
# target holding only these is still empty, and these rows are the target's own.
OWN_META_KEYS = frozenset({"instance_id", "created_at"})
_SKIPPED_TABLES = frozenset({"alembic_version"})
_NULL_FLAG = "__sql_null_"


@dataclass(frozen=True)
class TableCopy:
    name: str
    source_rows: int  # in the source's snapshot
    copied: int
    target_rows: int  # after the copy, before commit


@dataclass(frozen=True)
class CopyReport:
    source: str  # descriptions, without passwords
    target: str
    revision: str
    tables: tuple[TableCopy, ...]
    instance_id: str | None  # the target's own
    kept_meta: tuple[str, ...]  # app_meta keys the target kept instead of the source's
    seconds: float

    @property
    def rows(self) -> dict[str, int]:
        return {t.name: t.target_rows for t in self.tables}

    @property
    def total_rows(self) -> int:
        return sum(t.copied for t in self.tables)


def same_database(first: str | URL, second: str | URL) -> bool:
    """Whether two URLs name one database, whatever driver, user or spelling of the path."""
    a, b = normalise_url(first), normalise_url(second)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return _sqlite_path(a) == _sqlite_path(b)
    return (a.host or "localhost", a.port or 5432, a.database) == (
        b.host or "localhost",
        b.port or 5432,
        b.database,
    )


def _sqlite_path(url: URL) -> str:
    database = url.database or ":memory:"
    if database == ":memory:" or database.startswith("file:"):
        return database
    return str(Path(database).expanduser().resolve())


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    progress: Progress | None = None,
    batch: int = 2000,
) -> CopyReport:
    """Copy every row of ``source_url`` into the empty database at ``target_url``.

    The target is migrated to this version's schema first (only once it is known to be
    empty). ``progress(table, copied, total)`` is called as each batch lands. Raises a
    ``ServiceError``: CONFLICT for a non-empty target or a source at another schema version,
    INVALID_INPUT when both URLs name the same database, NOT_FOUND for a missing SQLite file,
    DATABASE_ERROR when a row cannot be written (nothing is then copied).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    import_all_models()
    began = time.perf_counter()
    source = Database(source_url, migrate=False)
    target = Database(target_url, migrate=False)
    if same_database(source.url, target.url):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"The target is the source database itself ({source.description})",
            {"database": source.description},
        )
    _require_sqlite_file(source)
    try:
        await source.initialize()
        revision = await _require_current_schema(source)
        await target.initialize()  # connects and refuses a newer schema; migrates nothing
        await _refuse_rows(target, await _rows_present(target.engine))
        await target.upgrade()
        tables = [t for t in Base.metadata.sorted_tables if t.name not in _SKIPPED_TABLES]
        async with _snapshot(source) as reader, target.begin() as writer:
            await _refuse_rows(target, await _rows_present_on(writer))
            own_meta = {
                key: value
                for key, value in await writer.execute(select(AppMeta.key, AppMeta.value))
            }
            copies = []
            for tbl in tables:
                keep = frozenset(own_meta) if tbl.name == AppMeta.__tablename__ else frozenset()
                copies.append(await _copy_table(tbl, reader, writer, keep, batch, progress))
            await _carry_sequences(tables, source, reader, target, writer)
            copies = [await _check_counts(c, writer, tables, len(own_meta)) for c in copies]
    except DBAPIError as exc:
        raise ServiceError(
            ErrorCode.DATABASE_ERROR,
            f"Copying to {target.description} failed, nothing was copied: {_reason(exc)}",
            {"source": source.description, "target": target.description},
        ) from None
    finally:
        await source.cleanup()
        await target.cleanup()
    return CopyReport(
        source=source.description,
        target=target.description,
        revision=revision,
        tables=tuple(copies),
        instance_id=own_meta.get("instance_id"),
        kept_meta=tuple(sorted(own_meta)),
        seconds=time.perf_counter() - began,
    )


# -- preconditions ----------------------------------------------------------------------


def _require_sqlite_file(database: Database) -> None:
    """Opening a missing SQLite file would create an empty one where the user's data was
    expected; say that nothing is there instead."""
    path = database.url.database
    if database.dialect != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return
    if not Path(path).is_file():
        raise ServiceError(
            ErrorCode.NOT_FOUND, f"There is no database at {path}", {"path": str(path)}
        )


async def _require_current_schema(database: Database) -> str:
    """The copy reads the source with this version's models, which only fit its schema."""
    current = await database.current_revision()
    head = head_revision()
    if current != head:
        raise ServiceError(
            ErrorCode.CONFLICT,
            f"The source database ({database.description}) has schema version "
            f"{current or 'none'}, not this version's {head}: open it with this version "
            f"first (`auterity db upgrade`), then copy it",
            {"database_revision": current, "code_head": head},
        )
    return head


async def _rows_present(engine: Any) -> dict[str, int]:
    async with engine.connect() as conn:
        return await _rows_present_on(conn)


async def _rows_present_on(conn: AsyncConnection) -> dict[str, int]:
    """Rows in every table of the target, the product's and any other (copying into some
    other program's database would be a merge too), apart from the migration's own."""
    names = await conn.run_sync(_table_names)
    found = {}
    for name in sorted(set(names) - _SKIPPED_TABLES):
        query = select(func.count()).select_from(table(name))
        if name == AppMeta.__tablename__:
            query = query.where(column("key").not_in(sorted(OWN_META_KEYS)))
        count = int((await conn.execute(query)).scalar_one())
        if count:
            found[name] = count
    return found


def _table_names(conn: Connection) -> list[str]:
    return list(inspect(conn).get_table_names())


async def _refuse_rows(database: Database, found: dict[str, int]) -> None:
    if not found:
        return
    listed = ", ".join(f"{name} ({count:,} rows)" for name, count in list(found.items())[:5])
    more = f" and {len(found) - 5} more tables" if len(found) > 5 else ""
    raise ServiceError(
        ErrorCode.CONFLICT,
        f"The target database ({database.description}) is not empty: {listed}{more}. "
        f"A copy never overwrites or merges; use a new, empty database",
        {"database": database.description, "tables": found},
    )


# -- the copy ---------------------------------------------------------------------------


@asynccontextmanager
async def _snapshot(database: Database) -> AsyncIterator[AsyncConnection]:
    """One read transaction over all tables, so the copy is of one moment."""
    async with database.engine.connect() as conn:
        if database.dialect == "sqlite":
            # The driver opens no transaction for reads by itself; without one each SELECT
            # would see a different moment.
            await conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                await conn.rollback()
            return
        await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with conn.begin():
            yield conn


def _writable(tbl: Table) -> list[Column[Any]]:
    """Generated columns are computed by the target from the copied ones."""
    return [c for c in tbl.columns if c.computed is None]


def _writer_table(tbl: Table, columns: Sequence[Column[Any]]) -> Any:
    """The table as the insert sees it: JSON columns write None as SQL NULL, so that JSON
    null (passed as ``JSON.NULL``) and SQL NULL both survive the trip."""
    return table(
        tbl.name,
        *[
            column(c.name, JSON(none_as_null=True) if isinstance(c.type, JSON) else c.type)
            for c in columns
        ],
    )


async def _copy_table(
    tbl: Table,
    reader: AsyncConnection,
    writer: AsyncConnection,
    keep: frozenset[str],
    batch: int,
    progress: Progress | None,
) -> TableCopy:
    columns = _writable(tbl)
    json_cols = [c for c in columns if isinstance(c.type, JSON)]
    aware_cols = [
        c for c in columns if isinstance(c.type, DateTime) and getattr(c.type, "timezone", False)
    ]
    flags = [c.is_(None).label(f"{_NULL_FLAG}{c.name}") for c in json_cols]
    total = int((await reader.execute(select(func.count()).select_from(tbl))).scalar_one())
    statement = insert(_writer_table(tbl, columns))
    query = (
        select(*columns, *flags)
        .order_by(*tbl.primary_key.columns)
        .execution_options(yield_per=batch)
    )
    if progress is not None:
        progress(tbl.name, 0, total)
    copied = seen = 0
    result = await reader.stream(query)
    async for rows in result.partitions(batch):
        values = []
        for row in rows:
            data = row._asdict()
            seen += 1
            if tbl.name == AppMeta.__tablename__ and data["key"] in keep:
                continue
            for c in json_cols:
                is_sql_null = data.pop(f"{_NULL_FLAG}{c.name}")
                if data[c.name] is None and not is_sql_null:
                    data[c.name] = JSON.NULL
            for c in aware_cols:
                data[c.name] = _utc(data[c.name])
            values.append(data)
        if values:
            await writer.execute(statement, values)
        copied += len(values)
        if progress is not None:
            progress(tbl.name, seen, total)
    if seen != total:
        raise ServiceError(
            ErrorCode.DATABASE_ERROR,
            f"Reading {tbl.name} gave {seen} rows where the source counted {total}",
            {"table": tbl.name},
        )
    return TableCopy(tbl.name, total, copied, -1)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _check_counts(
    copy: TableCopy, writer: AsyncConnection, tables: Sequence[Table], own_meta: int
) -> TableCopy:
    """Row counts are checked inside the transaction: a mismatch rolls the copy back."""
    tbl = next(t for t in tables if t.name == copy.name)
    count = int((await writer.execute(select(func.count()).select_from(tbl))).scalar_one())
    expected = copy.copied + (own_meta if copy.name == AppMeta.__tablename__ else 0)
    if count != expected:
        raise ServiceError(
            ErrorCode.DATABASE_ERROR,
            f"The target's {copy.name} holds {count} rows after the copy, not {expected}; "
            f"nothing was copied",
            {"table": copy.name, "found": count, "expected": expected},
        )
    return TableCopy(copy.name, copy.source_rows, copy.copied, count)


# -- sequences --------------------------------------------------------------------------


def _serial_column(tbl: Table) -> Column[Any] | None:
    keys = list(tbl.primary_key.columns)
    if len(keys) == 1 and isinstance(keys[0].type, Integer):
        return keys[0]
    return None


async def _carry_sequences(
    tables: Sequence[Table],
    source: Database,
    reader: AsyncConnection,
    target: Database,
    writer: AsyncConnection,
) -> None:
    """Start each target sequence after every number the source has used, so new rows
    neither collide with copied ones nor reuse a number the source gave out and deleted."""
    for tbl in tables:
        col = _serial_column(tbl)
        if col is None:
            continue
        used = await _sequence_position(source, reader, tbl, col)
        largest = (await writer.execute(select(func.max(col)))).scalar()
        position = max(used or 0, int(largest or 0))
        if target.dialect == "postgresql":
            sequence = await _pg_sequence(writer, tbl, col)
            if sequence is not None:
                await writer.execute(
                    text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
                    {"sequence": sequence, "value": max(position, 1), "called": position > 0},
                )
        elif position and await _sqlite_autoincrement(writer, tbl):
            await writer.execute(
                text("DELETE FROM sqlite_sequence WHERE name = :name"), {"name": tbl.name}
            )
            await writer.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                {"name": tbl.name, "seq": position},
            )


async def _sequence_position(
    database: Database, conn: AsyncConnection, tbl: Table, col: Column[Any]
) -> int | None:
    """The last number the source's sequence handed out (None: it keeps none)."""
    if database.dialect == "postgresql":
        sequence = await _pg_sequence(conn, tbl, col)
        if sequence is None:
            return None
        quoted = ".".join(conn.dialect.identifier_preparer.quote(p) for p in sequence.split("."))
        row = (await conn.execute(text(f"SELECT last_value, is_called FROM {quoted}"))).one()
        return int(row.last_value) if row.is_called else int(row.last_value) - 1
    if not await _sqlite_autoincrement(conn, tbl):
        return None
    value = (
        await conn.execute(
            text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": tbl.name}
        )
    ).scalar()
    return int(value) if value is not None else None


async def _pg_sequence(conn: AsyncConnection, tbl: Table, col: Column[Any]) -> str | None:
    quoted = conn.dialect.identifier_preparer.quote(tbl.name)
    value = (
        await conn.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": quoted, "column": col.name},
        )
    ).scalar()
    return str(value) if value is not None else None


async def _sqlite_autoincrement(conn: AsyncConnection, tbl: Table) -> bool:
    sql = (
        await conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": tbl.name},
        )
    ).scalar()
    return isinstance(sql, str) and "AUTOINCREMENT" in sql.upper()


def _reason(exc: DBAPIError | SQLAlchemyError) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


def describe(url: str) -> str:
    """A label for a URL without its password, for messages about a copy."""
    return describe_url(normalise_url(url))


__all__ = ["CopyReport", "Progress", "TableCopy", "copy_database", "describe", "same_database"]
