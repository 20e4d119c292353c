"""Test-wide isolation: offscreen Qt, private config/data folders, no inherited settings."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from auterity_desktop.config import CONFIG_FILE_VAR, setting_names

POSTGRES_ADMIN_URL_VAR = "AUTERITY_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data and config folders and none of the caller's settings."""
    for name in [*setting_names(), CONFIG_FILE_VAR]:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    data_dir = tmp_path / "data"
    monkeypatch.setenv("AUTERITY_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def data_dir(isolated_environment: Path) -> Path:
    return isolated_environment


def postgres_admin_url() -> str:
    return os.environ.get(POSTGRES_ADMIN_URL_VAR, DEFAULT_POSTGRES_ADMIN_URL)


def _run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run admin coroutines in their own thread and loop, away from the test's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_admin_url())
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the real server; dropped afterwards.

    The README's test command installs and starts PostgreSQL; if it is not reachable this
    fixture fails the test (it never skips), so CI cannot go green without the server.
    """
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_admin_url())
    name = f"auterity_test_{uuid.uuid4().hex[:12]}"
    try:
        _run_async(_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.fail(
            f"PostgreSQL is required for this test but {admin.render_as_string()} is not "
            f"reachable ({exc}). Run the README's test command, which starts it, or set "
            f"{POSTGRES_ADMIN_URL_VAR}."
        )
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        _run_async(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per session, without an instance id."""
    from sqlalchemy import delete

    from auterity_desktop.core.db import Database
    from auterity_desktop.core.orm import AppMeta

    path = tmp_path_factory.mktemp("template") / "migrated.db"

    async def build() -> None:
        database = Database(f"sqlite:///{path}")
        await database.initialize()
        async with database.engine.begin() as conn:
            await conn.execute(delete(AppMeta))  # each copy gets its own on first start
        await database.cleanup()

    _run_async(build())
    with sqlite3.connect(path) as conn:  # fold the WAL in: the copy is one file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture(autouse=True)
def new_sqlite_databases_start_migrated(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    migrated_sqlite_template: Path,
) -> None:
    """Every new SQLite database a test opens starts as a copy of the migrated template:
    running thirteen migrations per test costs minutes over the suite. The migrations
    themselves are tested by tests marked ``fresh_migrations`` (and by building this
    template)."""
    if request.node.get_closest_marker("fresh_migrations"):
        return
    from auterity_desktop.core.db import Database

    original = Database.initialize

    async def initialize(self: Database) -> None:
        path = self.url.database if self.dialect == "sqlite" and self.migrate else None
        if path and path != ":memory:" and not path.startswith("file:"):
            target = Path(path)
            try:
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(migrated_sqlite_template, target)
            except OSError:
                pass  # the real initialize says clearly what is wrong with the place
        await original(self)

    monkeypatch.setattr(Database, "initialize", initialize)
