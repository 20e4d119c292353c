"""The migration creates exactly the queue's tables as the models declare them, on SQLite
and PostgreSQL, and the claim uses its index."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from auterity_desktop.core.db import Database
from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models


def _differences(conn: Any) -> list[Any]:
    import_all_models()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "target_metadata": Base.metadata,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, Base.metadata)


async def test_migration_matches_the_models(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        ours = [d for d in differences if "mq_" in repr(d)]  # other tables: their tests
        assert ours == []
    finally:
        await database.cleanup()


async def test_the_claim_reads_the_covering_index(tmp_path: Any) -> None:
    database = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            plan = (
                await conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM mq_messages WHERE queue = 'q' "
                        "AND available_at <= 1 ORDER BY priority DESC, id LIMIT 10"
                    )
                )
            ).all()
        details = " ".join(str(row[-1]) for row in plan)
        assert "COVERING INDEX ix_mq_messages_claim" in details
        assert "TEMP B-TREE" not in details  # no sort: the index is in delivery order
    finally:
        await database.cleanup()
