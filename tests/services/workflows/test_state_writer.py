"""The run-state writer tells a database that is away from a change that is wrong: the first
is tried again, the second fails the run. Errors are made the way a run meets them: asyncpg's
own exception, translated by SQLAlchemy's asyncpg dialect and wrapped by its engine."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.exc import DBAPIError

from auterity_desktop.core.db import Database
from auterity_desktop.services.workflows.state_writer import StateWriter, transient


def as_a_run_meets_it(error: Exception) -> DBAPIError:
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, error)
    except dbapi.Error as translated:
        wrapped = DBAPIError.instance("UPDATE node_runs …", {}, translated, dbapi.Error)
        assert isinstance(wrapped, DBAPIError)
        return wrapped
    raise AssertionError("not translated")


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CrashShutdownError("terminating connection because of crash"),
        asyncpg.exceptions.ConnectionFailureError("connection failure"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
    ],
)
def test_a_server_that_is_away_is_worth_waiting_for(error: Exception) -> None:
    assert transient(as_a_run_meets_it(error))
    assert transient(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key value"),
        asyncpg.exceptions.UndefinedTableError('relation "runs" does not exist'),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    ],
)
def test_a_wrong_change_is_not_tried_again(error: Exception) -> None:
    assert not transient(as_a_run_meets_it(error))
    assert not transient(ValueError("not a database error"))


async def test_a_write_rides_out_its_connections_being_cut(postgres_url: str) -> None:
    """Every connection of the writer's pool is terminated by the server between two writes;
    the next write still commits."""
    database = Database(postgres_url, migrate=False)
    await database.initialize()
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", String))
    try:
        async with database.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        writer = StateWriter(database)
        await writer.write((insert(table), {"id": 1, "v": "started"}))
        async with database.begin() as conn:
            name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            killed = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await admin.close()
        assert killed and all(row[0] for row in killed)
        await writer.write((update(table).where(table.c.id == 1), {"v": "succeeded"}))
        async with database.begin() as conn:
            assert (await conn.execute(select(table.c.v))).scalar_one() == "succeeded"
        await writer.close()
    finally:
        await database.cleanup()
