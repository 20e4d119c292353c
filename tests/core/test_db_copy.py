"""Copying a whole database, on real content made by the real platform and a real
PostgreSQL server: every table arrives, the product works on the copy, the audit chain
still verifies, new rows get fresh ids, and a target with data or a source at an old
schema is refused without touching anything."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from auterity_desktop.core.db import Database, head_revision, migrations_config
from auterity_desktop.core.db_copy import OWN_META_KEYS, copy_database, same_database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.orm import AppMeta, Base
from auterity_desktop.core.schema import import_all_models
from auterity_desktop.platform import Platform
from auterity_desktop.services.integrations.controller import secret_ref
from auterity_desktop.services.security.principal import Principal
from tests.ui.workflow_docs import chain, node

PASSWORD = "Correct-Horse-42!"
BOB_PASSWORD = "Another-Pass-777"


def divide_doc(name: str = "Divide") -> dict[str, Any]:
    return chain(
        name,
        node("start", "manual_trigger", "Start"),
        node("calc", "set_fields", "Calculate", fields={"share": "{{ 10 / $params.divisor }}"}),
        node("log", "log", "Log"),
    )


@dataclass(frozen=True)
class Source:
    url: str
    workflow_id: str
    versions: list[tuple[int, float, str]]
    document: Any
    runs: dict[str, dict[str, Any]]  # run id → run_status
    audit_head: tuple[int | None, str | None]
    instance_id: str | None
    integration_id: str


def env_for(url: str) -> dict[str, str]:
    """The caller's (test-isolated) environment with another database."""
    return {**os.environ, "AUTERITY_DATABASE_URL": url}


async def sign_in(
    platform: Platform, username: str = "alice", password: str = PASSWORD
) -> Principal:
    session = await platform.security.authenticate_user(
        {"username": username, "password": password}
    )
    return session.principal


async def populate(data_dir: Path) -> Source:
    """A personal SQLite database with a bit of everything, made the way users make it."""
    url = f"sqlite:///{data_dir / 'auterity.db'}"
    async with Platform.from_environment(env_for(url), background=False) as platform:
        await platform.security.users.create_first_admin("alice", PASSWORD)
        me = await sign_in(platform)
        await platform.security.users.create_user(me, "bob", BOB_PASSWORD, "viewer")
        workflow = await platform.workflows.create(me, divide_doc())
        await platform.workflows.save(me, workflow.id, divide_doc("Divide (v2)"))
        runs = {}
        for divisor in (2, 0):  # one succeeds, one fails with a division by zero
            run_id = await platform.engine.execute_workflow(me, workflow.id, {"divisor": divisor})
            await platform.engine.wait(run_id)
            runs[str(run_id)] = await platform.engine.run_status(str(run_id))
        await platform.messages.declare_queue("crm.leads", "sales.lead.*")
        for lead in range(3):
            await platform.messages.publish(
                "sales.lead.created", {"lead": lead}, headers={"source": "web"} if lead else None
            )
        claimed = await platform.messages.get_many("crm.leads", 3)
        # The newest message becomes a dead letter: the queue's highest id is now 2, but 3
        # has been handed out and must never be handed out again.
        newest = max(claimed, key=lambda m: int(m.id))
        assert await platform.messages.nack(newest.receipt, requeue=False, reason="bad lead")
        hook = await platform.integrations.establish_connection(
            me, {"name": "Web leads", "kind": "webhook", "path": "leads/new", "signing_secret": "s"}
        )
        await platform.audit.record("alice", "test.note", "tests", "success", {"n": 1})
        verified = await platform.audit.verify()
        assert verified.ok, verified.message
        return Source(
            url=url,
            workflow_id=workflow.id,
            versions=await platform.workflows.versions(me, workflow.id),
            document=(await platform.workflows.load(workflow.id)).document,
            runs=runs,
            audit_head=(verified.head_seq, verified.head_hash),
            instance_id=await platform.database.instance_id(),
            integration_id=hook.id,
        )


# -- comparing databases ------------------------------------------------------------------


def _normal(value: Any) -> Any:
    """SQLite returns UTC wall times without an offset; PostgreSQL returns them with one."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


async def table_contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order, without generated columns or the database's own
    identity (instance id, creation time)."""
    import_all_models()
    database = Database(url, migrate=False)
    await database.initialize()
    contents = {}
    try:
        async with database.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if c.computed is None]
                query = select(*columns).order_by(*table.primary_key.columns)
                if table.name == AppMeta.__tablename__:
                    query = query.where(AppMeta.key.not_in(sorted(OWN_META_KEYS)))
                rows = (await conn.execute(query)).all()
                contents[table.name] = [tuple(_normal(v) for v in row) for row in rows]
    finally:
        await database.cleanup()
    return contents


async def row_counts(url: str) -> dict[str, int]:
    import_all_models()
    database = Database(url, migrate=False)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            return {
                t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
                for t in Base.metadata.sorted_tables
            }
    finally:
        await database.cleanup()


# -- the copy -----------------------------------------------------------------------------


async def test_sqlite_to_postgresql_copies_everything_and_the_product_works_on_it(
    data_dir: Path, postgres_url: str
) -> None:
    source = await populate(data_dir)
    seen: list[tuple[str, int, int]] = []
    report = await copy_database(
        source.url, postgres_url, progress=lambda *step: seen.append(step), batch=2
    )

    # every table, every row
    counts = await row_counts(source.url)
    assert await row_counts(postgres_url) == counts
    assert report.rows == counts
    assert {t.name for t in report.tables} == set(counts)
    assert {t for t, n in counts.items() if n} >= {
        "users", "roles", "sessions", "workflows", "workflow_versions", "runs", "node_runs",
        "audit_entries", "integrations", "mq_queues", "mq_messages", "mq_dead_letters",
        "alert_rules", "compliance_policies", "app_meta",
    }  # fmt: skip
    assert report.total_rows == sum(counts.values()) - len(OWN_META_KEYS)
    assert report.seconds > 0
    assert report.revision == head_revision()
    assert report.target.startswith("PostgreSQL") and "auterity_test_" in report.target
    assert "@" not in report.target  # no credentials in what is shown
    # progress per batch of two, ending at each table's total
    for table in report.tables:
        steps = [(done, total) for name, done, total in seen if name == table.name]
        assert steps[0] == (0, table.source_rows) and steps[-1][0] == table.source_rows
        assert len(steps) == 1 + (table.source_rows + 1) // 2
    # the target keeps its own identity
    target = Database(postgres_url)
    await target.initialize()
    target_instance = await target.instance_id()
    await target.cleanup()
    assert target_instance == report.instance_id
    assert target_instance is not None and target_instance != source.instance_id
    assert report.kept_meta == tuple(sorted(OWN_META_KEYS))

    async with Platform.from_environment(env_for(postgres_url), background=False) as platform:
        # the audit chain verifies and ends where the source's did
        verified = await platform.audit.verify()
        assert verified.ok, verified.message
        assert (verified.head_seq, verified.head_hash) == source.audit_head
        # workflows with their versions, runs with their nodes
        me = await sign_in(platform)  # the password hash came along
        assert await platform.workflows.versions(me, source.workflow_id) == source.versions
        loaded = await platform.workflows.load(source.workflow_id)
        assert loaded.document == source.document and loaded.version == 2
        first = await platform.workflows.load(source.workflow_id, 1)
        assert first.document.name == "Divide"
        for run_id, status in source.runs.items():
            assert await platform.engine.run_status(run_id) == status
        assert {s["status"] for s in source.runs.values()} == {"succeeded", "failed"}
        integration = await platform.integrations.get(me, source.integration_id)
        assert integration.name == "Web leads"
        # its secret stayed in this user's keyring, under a name the copy still holds
        ref = secret_ref(source.integration_id, "signing_secret")
        assert await platform.secrets.get(ref) == "s"
        # new rows get ids after the copied ones
        bob = await sign_in(platform, "bob", BOB_PASSWORD)
        carol = await platform.security.users.create_user(me, "carol", PASSWORD, "viewer")
        assert carol.id > max(me.user_id or 0, bob.user_id or 0)
        entry = await platform.audit.record("alice", "test.after_copy", "tests")
        assert entry.seq > (source.audit_head[0] or 0)
        assert (await platform.audit.verify()).ok
        ids = await platform.messages.publish("sales.lead.created", {"lead": "new"})
        assert ids == ["4"]  # not 3: that id went to the dead letter
        again = await platform.engine.execute_workflow(me, source.workflow_id, {"divisor": 5})
        assert (await platform.engine.wait(again))["status"] == "succeeded"


async def test_a_target_with_rows_is_refused_and_left_alone(
    data_dir: Path, postgres_url: str
) -> None:
    source = await populate(data_dir)
    await copy_database(source.url, postgres_url)
    before = await table_contents(postgres_url)
    with pytest.raises(ServiceError) as refused:
        await copy_database(source.url, postgres_url)
    assert refused.value.code is ErrorCode.CONFLICT
    assert "is not empty" in refused.value.message
    assert refused.value.details["tables"]["users"] == 2
    assert await table_contents(postgres_url) == before

    # A database that only the platform has started on is not empty either (its roles,
    # alert rules and policies would be merged with the copied ones).
    other = data_dir / "started.db"
    async with Platform.from_environment(env_for(f"sqlite:///{other}"), background=False):
        pass
    before_started = await table_contents(f"sqlite:///{other}")
    with pytest.raises(ServiceError) as refused_again:
        await copy_database(source.url, f"sqlite:///{other}")
    assert refused_again.value.code is ErrorCode.CONFLICT
    assert "roles" in refused_again.value.details["tables"]
    assert await table_contents(f"sqlite:///{other}") == before_started


def _upgrade_to(revision: str) -> Any:
    def run(conn: Connection) -> None:
        cfg = migrations_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    return run


async def test_a_source_at_an_old_schema_is_refused(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "old.db"
    old = Database(f"sqlite:///{path}", migrate=False)
    await old.initialize()
    async with old.engine.begin() as conn:
        await conn.run_sync(_upgrade_to("0013_cognitive"))
    await old.cleanup()
    with pytest.raises(ServiceError) as refused:
        await copy_database(f"sqlite:///{path}", postgres_url)
    assert refused.value.code is ErrorCode.CONFLICT
    assert "0013_cognitive" in refused.value.message
    assert "auterity db upgrade" in refused.value.message
    # neither side was changed: the source is still old, the target still bare
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0013_cognitive",)
        ]
    bare = Database(postgres_url, migrate=False)
    await bare.initialize()
    assert await bare.current_revision() is None
    await bare.cleanup()


async def test_missing_source_and_same_database_are_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    missing = tmp_path / "nothing-here.db"
    with pytest.raises(ServiceError) as absent:
        await copy_database(f"sqlite:///{missing}", postgres_url)
    assert absent.value.code is ErrorCode.NOT_FOUND
    assert not missing.exists()  # looking did not create it
    with pytest.raises(ServiceError) as itself:
        await copy_database(postgres_url, postgres_url.replace("postgresql://", "postgres://"))
    assert itself.value.code is ErrorCode.INVALID_INPUT
    assert same_database(f"sqlite:///{tmp_path}/a/../b.db", f"sqlite+aiosqlite:///{tmp_path}/b.db")
    assert not same_database(f"sqlite:///{tmp_path}/a.db", postgres_url)
    other = make_url(postgres_url).set(database="other").render_as_string(hide_password=False)
    assert not same_database(postgres_url, other)


async def test_round_trip_sqlite_postgresql_sqlite_gives_equal_tables(
    data_dir: Path, tmp_path: Path, postgres_url: str
) -> None:
    source = await populate(data_dir)
    back = f"sqlite:///{tmp_path / 'back' / 'auterity.db'}"
    await copy_database(source.url, postgres_url)
    report = await copy_database(postgres_url, back, batch=3)
    original = await table_contents(source.url)
    assert await table_contents(postgres_url) == original
    assert await table_contents(back) == original
    assert report.rows == await row_counts(back)
    # SQL NULL and JSON null stay apart; the message sequence keeps its high-water mark
    with sqlite3.connect(tmp_path / "back" / "auterity.db") as db:
        nulls = "SELECT count(*) FROM mq_messages WHERE headers IS NULL"
        with sqlite3.connect(data_dir / "auterity.db") as first:
            assert db.execute(nulls).fetchone() == first.execute(nulls).fetchone() == (1,)
        assert db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'mq_messages'"
        ).fetchone() == (3,)
    async with Platform.from_environment(env_for(back), background=False) as platform:
        verified = await platform.audit.verify()
        assert verified.ok and (verified.head_seq, verified.head_hash) == source.audit_head
        assert await platform.messages.publish("sales.lead.created", {"lead": "x"}) == ["4"]
