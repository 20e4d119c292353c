"""``auterity db migrate-to``: the real command in a subprocess, from a personal SQLite
database made by the real platform to a real PostgreSQL server."""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.services.compliance.models import AuditEntryRow
from tests.cli.test_security_cli import ROOT, cli
from tests.core.test_db_copy import populate, row_counts


async def last_audit_entry(url: str) -> dict[str, object]:
    database = Database(url, migrate=False)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            body = (
                await conn.execute(
                    select(AuditEntryRow.body).order_by(AuditEntryRow.seq.desc()).limit(1)
                )
            ).scalar_one()
    finally:
        await database.cleanup()
    result: dict[str, object] = json.loads(body)
    return result


def cli_on(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command with another configured database."""
    return subprocess.run(
        [sys.executable, "-m", "auterity_desktop", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "AUTERITY_DATABASE_URL": url},
    )


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


async def test_migrate_to_postgresql(data_dir: Path, postgres_url: str) -> None:
    source = await populate(data_dir)
    counts = await row_counts(source.url)

    declined = cli("db", "migrate-to", postgres_url, stdin="n\n")
    assert declined.returncode == 1, declined.stderr
    assert "Copy everything from SQLite" in declined.stdout
    assert declined.stdout.rstrip().endswith("Nothing copied.")
    bare = Database(postgres_url, migrate=False)
    await bare.initialize()
    assert await bare.current_revision() is None  # not even migrated
    await bare.cleanup()

    done = cli("db", "migrate-to", postgres_url, "--yes")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Copying SQLite · {data_dir / 'auterity.db'} → PostgreSQL · 127.0.0.1:5432/" in out
    assert "Copy everything" not in out  # --yes asks nothing
    progress = {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line.startswith("  ") and " / " in line
    }
    assert set(progress) == set(counts)
    assert progress["users"] == ["2", "/", "2"]
    assert progress["workflow_versions"] == ["2", "/", "2"]
    copied = sum(counts.values()) - 2  # the target keeps its own instance id and birth date
    assert f"Copied {copied:,} rows in {len(counts)} tables" in out
    assert "The target kept its own instance id" in out
    head_seq, head_hash = source.audit_head
    assert (
        f"Audit trail on the target: OK: All {head_seq} entries verify. "
        f"Head {head_seq}: {head_hash}"
    ) in out
    assert f"Recorded the migration as audit entry {(head_seq or 0) + 1} on the target." in out
    assert "Secrets did not travel" in out and "keyring" in out
    assert "auterity_test_" in out and "postgres@" not in out  # no credentials shown

    after = await row_counts(postgres_url)
    assert after["audit_entries"] == counts["audit_entries"] + 1
    assert {k: v for k, v in after.items() if k != "audit_entries"} == {
        k: v for k, v in counts.items() if k != "audit_entries"
    }
    entry = await last_audit_entry(postgres_url)
    assert entry["actor"] == f"cli:{getpass.getuser()}"
    assert (entry["action"], entry["resource"], entry["outcome"]) == (
        "db.migrated",
        "database",
        "success",
    )
    details = entry["details"]
    assert isinstance(details, dict)
    assert details["rows"] == copied and details["tables"] == len(counts)
    assert details["audit_head_hash"] == head_hash
    assert details["source"] == f"SQLite · {data_dir / 'auterity.db'}"
    # the configured database is unchanged, and the target's trail verifies with the record
    assert await row_counts(source.url) == counts
    verified = cli_on(postgres_url, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"OK: All {(head_seq or 0) + 1} entries verify.")

    again = cli("db", "migrate-to", postgres_url, "--yes")
    assert again.returncode == 1
    line = one_error_line(again.stderr)
    assert line.startswith("auterity: error CONFLICT: The target database (PostgreSQL")
    assert "is not empty" in line
    assert await row_counts(postgres_url) == after


async def test_migrate_to_a_new_sqlite_file_after_confirming(
    data_dir: Path, tmp_path: Path
) -> None:
    source = await populate(data_dir)
    target = tmp_path / "elsewhere" / "copy.db"
    done = cli("db", "migrate-to", f"sqlite:///{target}", stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert f"Copy everything from SQLite · {data_dir / 'auterity.db'} into SQLite · {target}?" in (
        done.stdout
    )
    assert "Audit trail on the target: OK" in done.stdout
    counts = await row_counts(source.url)
    copied = await row_counts(f"sqlite:///{target}")
    assert copied["audit_entries"] == counts["audit_entries"] + 1
    assert copied["workflows"] == counts["workflows"] == 1


def test_refusals_are_one_line_errors(data_dir: Path, tmp_path: Path) -> None:
    created = cli(
        "user", "create", "alice", "--admin", "--password-stdin", stdin="Correct-Horse-42!\n"
    )
    assert created.returncode == 0, created.stderr
    database = data_dir / "auterity.db"

    itself = cli("db", "migrate-to", f"sqlite+aiosqlite:///{database}", "--yes")
    assert itself.returncode == 1
    assert one_error_line(itself.stderr) == (
        f"auterity: error INVALID_INPUT: The target is the configured database itself "
        f"(SQLite · {database})"
    )
    unsupported = cli("db", "migrate-to", "mysql://db.example.com/auterity", "--yes")
    assert unsupported.returncode == 1
    assert "INVALID_INPUT: Unsupported database 'mysql'" in one_error_line(unsupported.stderr)

    # a source at an older schema: upgrade it first
    with sqlite3.connect(database) as db:
        db.execute("UPDATE alembic_version SET version_num = '0013_cognitive'")
    target = tmp_path / "never.db"
    old = cli("db", "migrate-to", f"sqlite:///{target}", "--yes")
    assert old.returncode == 1
    line = one_error_line(old.stderr)
    assert line.startswith("auterity: error CONFLICT: The source database (SQLite")
    assert "open it with this version first (`auterity db upgrade`)" in line
    assert not target.exists()
