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
from auterity_desktop.core.secret_store import SERVICE_NAME_VAR

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


# -- Qt messages outside tests ---------------------------------------------------------------
# pytest-qt fails a test on a Qt warning (qt_log_level_fail) but listens only from the test's
# setup to the end of its call. A warning while fixtures tear down or widgets close ("QThread:
# Destroyed while thread is still running"), at import or between tests would only be printed.
# This handler takes those: in a test's teardown they fail that teardown; anywhere else they
# fail the session. Same level and qt_log_ignore patterns as pytest-qt; no_qt_log opts out.
WORKER_OUTPUT_KEY = "qt_messages_outside_tests"
QT_LOG_RANKS = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "CRITICAL": 3, "NO": 99}


class QtMessagesOutsideTests:
    def __init__(self, config: pytest.Config) -> None:
        import re

        from PySide6.QtCore import QtMsgType, qInstallMessageHandler

        kinds = QtMsgType
        self._rank = {kinds.QtDebugMsg: 0, kinds.QtInfoMsg: 1, kinds.QtWarningMsg: 2,
                      kinds.QtCriticalMsg: 3, kinds.QtFatalMsg: 4}  # fmt: skip
        self._threshold = QT_LOG_RANKS.get(str(config.getini("qt_log_level_fail") or "NO"), 99)
        self._ignore = [re.compile(p) for p in config.getini("qt_log_ignore")]
        self.pending: list[str] = []  # caught since the last look
        self.stray: list[str] = []  # caught outside any test's teardown
        self._install = qInstallMessageHandler
        self._previous = qInstallMessageHandler(self._handle)

    def _handle(self, kind: Any, _context: Any, message: str) -> None:
        if self._rank.get(kind, 2) >= self._threshold and not any(
            p.search(message) for p in self._ignore
        ):
            self.pending.append(f"{kind.name}: {message}")
        else:
            os.write(2, f"{message}\n".encode(errors="replace"))  # as Qt's own handler does

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.stray += self.pending  # between tests, or at import and collection
        self.pending = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.when == "teardown" and self.pending:
            text = "Qt messages after the test, while it was torn down:\n  " + "\n  ".join(
                self.pending
            )
            self.pending = []
            if item.get_closest_marker("no_qt_log"):
                pass
            elif report.outcome == "failed":
                report.sections.append(("Qt messages in teardown", text))
            else:
                report.outcome = "failed"
                report.longrepr = text
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Under pytest-xdist: what a worker caught outside its tests fails this session."""
        self.stray += getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, [])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.stray += self.pending
        self.pending = []
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller reports and fails
            workeroutput[WORKER_OUTPUT_KEY] = self.stray
            return
        if self.stray and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.stray:
            terminalreporter.section("Qt messages outside tests", red=True)
            for line in self.stray:
                terminalreporter.line(line)

    def pytest_unconfigure(self) -> None:
        self._install(self._previous)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(QtMessagesOutsideTests(config), "qt-messages-outside-tests")
    # One Secret Service serves the whole run; parallel workers must not overwrite each
    # other's entries (AI keys, the token-signing key), so each keeps its own keyring service.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        os.environ.setdefault(SERVICE_NAME_VAR, f"auterity-desktop-test-{worker}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The packaging tests go last, so the bundle they run is built meanwhile (the README's
    test command builds it in the background) instead of being waited for."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/packaging/"))
