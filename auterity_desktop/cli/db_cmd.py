"""``auterity db upgrade`` and ``auterity db current``: schema migrations by hand."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from auterity_desktop.config import load_settings
from auterity_desktop.core.db import Database, head_revision


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="database maintenance")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(handler=run_upgrade)
    current = actions.add_parser("current", help="print the schema version of the database")
    current.set_defaults(handler=run_current)


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
