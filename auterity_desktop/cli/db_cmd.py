"""``auterity db upgrade`` and ``auterity db current``: schema migrations by hand;
``auterity db migrate-to URL``: copy everything to another database (the team server)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from auterity_desktop.config import load_settings
from auterity_desktop.core.db import Database, head_revision, normalise_url
from auterity_desktop.core.db_copy import CopyReport, copy_database, describe, same_database
from auterity_desktop.core.errors import ErrorCode, ServiceError

KEYRING_NOTE = (
    "Secrets did not travel: the database holds only the names of keyring entries. "
    "Integrations' passwords, tokens and signing secrets are in this user's keyring on this "
    "computer and work here; on any other computer enter them again in each integration."
)


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="database maintenance")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(handler=run_upgrade)
    current = actions.add_parser("current", help="print the schema version of the database")
    current.set_defaults(handler=run_current)
    migrate = actions.add_parser(
        "migrate-to",
        help="copy everything into another, empty database (e.g. the team PostgreSQL server)",
        description="Copy every table of the configured database into the empty database at "
        "URL, migrated to this version's schema, then verify the audit chain there. The "
        "configured database is not changed; point database_url at URL afterwards to use "
        "the copy. Close the application first: changes made during the copy stay behind.",
    )
    migrate.add_argument("url", metavar="URL", help="postgresql://user:password@host/database")
    migrate.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    migrate.set_defaults(handler=run_migrate_to)


async def _with_database(action: str) -> str:
    settings, _ = load_settings()
    database = Database(settings.effective_database_url, migrate=False)
    try:
        await database.initialize()
        if action == "upgrade":
            before = await database.current_revision()
            after = await database.upgrade()
            if before == after:
                return f"{database.description}: already at {after}"
            return f"{database.description}: upgraded {before or 'empty'} → {after}"
        current = await database.current_revision()
        return f"{database.description}: {current or 'empty'} (code head {head_revision()})"
    finally:
        await database.cleanup()


def run_upgrade(_args: argparse.Namespace) -> int:
    print(asyncio.run(_with_database("upgrade")))
    return 0


def run_current(_args: argparse.Namespace) -> int:
    print(asyncio.run(_with_database("current")))
    return 0


class _Progress:
    """Rows copied per table: rewritten in place on a terminal, one line per table in a log."""

    def __init__(self) -> None:
        self.live = sys.stdout.isatty()

    def __call__(self, table: str, copied: int, total: int) -> None:
        line = f"  {table:<28} {copied:>10,} / {total:,}"
        if self.live:
            print(f"\r{line}", end="\n" if copied >= total else "", flush=True)
        elif copied >= total:
            print(line, flush=True)


def _confirm(source: str, target: str) -> bool:
    print(f"Copy everything from {source} into {target}? [y/N] ", end="", flush=True)
    try:
        answer = input()
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _print_report(report: CopyReport) -> None:
    """The per-table counts were printed as the tables landed; this is the verdict."""
    print(
        f"Copied {report.total_rows:,} rows in {len(report.tables)} tables "
        f"in {report.seconds:.1f} s (schema {report.revision}); every table's row count "
        f"matches the source."
    )
    print(
        f"The target kept its own instance id ({report.instance_id}): sessions of the old "
        f"database do not carry over, so everyone signs in again once."
    )


async def _verify_and_record(source_url: str, target_url: str, report: CopyReport) -> bool:
    """The chain is checked by the product's own audit trail on the target, which the core
    copy cannot reach; the migration then becomes the target's next audit entry."""
    from auterity_desktop.cli.local_actor import local_actor
    from auterity_desktop.platform import Platform

    # The settings take only the async drivers' spellings; the copy accepted any.
    url = normalise_url(target_url).render_as_string(hide_password=False)
    env = {**os.environ, "AUTERITY_DATABASE_URL": url}
    async with Platform.from_environment(env, background=False) as platform:
        result = await platform.audit.verify()
        if not result.ok:
            print(
                f"Audit trail on the target: FAILED at entry {result.first_bad_seq} "
                f"({result.problem}): {result.message}"
            )
            await _explain_source_chain(source_url)
            return False
        head = f" Head {result.head_seq}: {result.head_hash}" if result.head_seq else ""
        print(f"Audit trail on the target: OK: {result.message}{head}")
        entry = await platform.audit.record(
            local_actor().username,
            "db.migrated",
            "database",
            "success",
            {
                "source": report.source,
                "target": report.target,
                "revision": report.revision,
                "tables": len(report.tables),
                "rows": report.total_rows,
                "seconds": round(report.seconds, 3),
                "audit_head_seq": result.head_seq,
                "audit_head_hash": result.head_hash,
            },
        )
        print(f"Recorded the migration as audit entry {entry.seq} on the target.")
    return True


async def _explain_source_chain(source_url: str) -> None:
    """Whether the break came with the data or with the copy."""
    from auterity_desktop.services.compliance.audit_trail import AuditTrail

    settings, _ = load_settings()
    database = Database(source_url, migrate=False)
    try:
        await database.initialize()
        result = await AuditTrail(database, retention_days=settings.audit_log_retention).verify()
    finally:
        await database.cleanup()
    if result.ok:
        print("The source's chain verifies: the copy differs from it; do not use the copy.")
    else:
        print(
            f"The source's chain already fails at entry {result.first_bad_seq} "
            f"({result.problem}): the copy is faithful to it."
        )


def run_migrate_to(args: argparse.Namespace) -> int:
    settings, _ = load_settings()
    source_url = settings.effective_database_url
    source, target = describe(source_url), describe(args.url)
    if same_database(source_url, args.url):
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"The target is the configured database itself ({source})",
            {"database": source},
        )
    if not args.yes and not _confirm(source, target):
        print("Nothing copied.")
        return 1
    print(f"Copying {source} → {target}", flush=True)
    report = asyncio.run(copy_database(source_url, args.url, progress=_Progress()))
    _print_report(report)
    print(KEYRING_NOTE, flush=True)
    verified = asyncio.run(_verify_and_record(source_url, args.url, report))
    if verified:
        print(
            "The configured database is unchanged. To use the copy, set database_url "
            "(AUTERITY_DATABASE_URL) to the target URL."
        )
        return 0
    return 1
