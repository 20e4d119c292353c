"""The database layer on SQLite and on a real PostgreSQL server (never skipped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from auterity_desktop.core.db import Database, describe_url, head_revision, normalise_url
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.orm import AppMeta
from auterity_desktop.core.service import HealthState

# This module tests the migrations themselves: no copy of an already migrated database.
pytestmark = pytest.mark.fresh_migrations


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'auterity.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def test_migrates_on_start_and_records_an_instance(database_url: str) -> None:
    db = Database(database_url)
    await db.initialize()
    try:
        assert await db.current_revision() == head_revision()
        instance = await db.instance_id()
        assert instance is not None and len(instance) == 32
        health = await db.health()
        assert health.state is HealthState.OK
        assert health.data["latency_seconds"] >= 0
        async with db.session() as session:
            rows = (await session.execute(text("SELECT key FROM app_meta ORDER BY key"))).scalars()
            assert list(rows) == ["created_at", "instance_id"]
    finally:
        await db.cleanup()
    # Re-opening keeps the same instance and does not migrate again.
    again = Database(database_url)
    await again.initialize()
    try:
        assert await again.instance_id() == instance
        assert await again.upgrade() == head_revision()
    finally:
        await again.cleanup()
    assert (await again.health()).state is HealthState.STOPPED


async def test_sessions_commit_or_roll_back(database_url: str) -> None:
    db = Database(database_url)
    await db.initialize()
    try:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        async with db.session() as session:
            session.add(AppMeta(key="greeting", value="hello", updated_at=now))
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                session.add(AppMeta(key="doomed", value="x", updated_at=now))
                await session.flush()
                raise RuntimeError("abort")
        async with db.session() as session:
            assert (await session.get(AppMeta, "greeting")) is not None
            assert (await session.get(AppMeta, "doomed")) is None
    finally:
        await db.cleanup()


async def test_newer_database_is_refused(database_url: str) -> None:
    db = Database(database_url)
    await db.initialize()
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    await db.cleanup()
    newer = Database(database_url)
    with pytest.raises(ServiceError) as info:
        await newer.initialize()
    await newer.cleanup()
    assert info.value.code is ErrorCode.DATABASE_TOO_NEW
    assert "9999_from_the_future" in info.value.message
    assert "newer release" in info.value.message
    assert info.value.details["code_head"] == head_revision()


async def test_without_migrate_the_schema_is_left_alone(database_url: str) -> None:
    db = Database(database_url, migrate=False)
    await db.initialize()
    try:
        assert await db.current_revision() is None
        assert await db.upgrade() == head_revision()
    finally:
        await db.cleanup()


async def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    await db.initialize()
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    finally:
        await db.cleanup()


async def test_concurrent_writers_on_sqlite_do_not_fail(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    url = f"sqlite:///{tmp_path / 'x.db'}"
    first, second = Database(url), Database(url)
    await first.initialize()
    await second.initialize()
    try:

        async def write(db: Database, prefix: str) -> None:
            for i in range(20):
                async with db.session() as session:
                    session.add(
                        AppMeta(key=f"{prefix}{i}", value="v", updated_at=datetime.now(UTC))
                    )

        await asyncio.gather(write(first, "a"), write(second, "b"))
        async with first.session() as session:
            count = (await session.execute(text("SELECT count(*) FROM app_meta"))).scalar()
        assert count == 42
    finally:
        await first.cleanup()
        await second.cleanup()


async def test_unreachable_postgres_is_a_clear_error() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ServiceError) as info:
        await db.initialize()
    await db.cleanup()
    assert info.value.code is ErrorCode.DATABASE_ERROR
    assert "Cannot open the database (PostgreSQL · 127.0.0.1:1/none)" in info.value.message


async def test_unwritable_sqlite_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    db = Database(f"sqlite:///{blocker / 'sub' / 'x.db'}")
    with pytest.raises(ServiceError) as info:
        await db.initialize()
    await db.cleanup()
    assert info.value.code is ErrorCode.DATABASE_ERROR


def test_url_normalisation_and_description() -> None:
    assert normalise_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert normalise_url("postgresql://u:p@h/db").drivername == "postgresql+asyncpg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert describe_url(normalise_url("postgresql://u:secret@db.local:5433/team")) == (
        "PostgreSQL · db.local:5433/team"
    )
    for bad in ("mysql://x/y", "not a url"):
        with pytest.raises(ServiceError) as info:
            normalise_url(bad)
        assert info.value.code is ErrorCode.INVALID_INPUT
