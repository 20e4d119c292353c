"""``auterity audit verify`` and ``auterity audit export``, headless.

Only the database and the audit trail are opened (no keyring needed), so a server without a
desktop session can check its own trail, and ``verify --file`` checks an export anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from auterity_desktop.config import load_settings
from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.compliance.audit_trail import AuditFilter, AuditTrail, verify_export


def register(commands: Any) -> None:
    parser = commands.add_parser("audit", help="verify or export the audit trail")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="walk the hash chain and name the first bad entry")
    verify.add_argument("--file", type=Path, help="verify an export (.jsonl or .csv) instead")
    verify.set_defaults(handler=run_verify)
    export = actions.add_parser("export", help="export entries with their hashes")
    export.add_argument("output", type=Path)
    export.add_argument(
        "--format", choices=("jsonl", "csv"), default=None, help="default: from the file extension"
    )
    export.add_argument("--since", type=datetime.fromisoformat, help="ISO date/time")
    export.add_argument("--until", type=datetime.fromisoformat, help="ISO date/time")
    export.add_argument("--actor")
    export.add_argument("--action")
    export.add_argument("--outcome")
    export.set_defaults(handler=run_export)


async def _with_trail(work: Any) -> Any:
    settings, _ = load_settings()
    database = Database(settings.effective_database_url)
    try:
        await database.initialize()
        return await work(AuditTrail(database, retention_days=settings.audit_log_retention))
    finally:
        await database.cleanup()


def _read_export(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            if path.suffix.lower() == ".csv":
                yield from csv.DictReader(fh)
            else:
                for number, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            yield json.loads(line)
                        except ValueError:
                            raise ServiceError(
                                ErrorCode.INVALID_INPUT,
                                f"{path}:{number} is not JSON",
                                {"line": number},
                            ) from None
    except OSError as exc:
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"Cannot read {path}: {exc.strerror}", {}
        ) from None


def run_verify(args: argparse.Namespace) -> int:
    if args.file is not None:
        try:
            result = verify_export(_read_export(args.file))
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(
                ErrorCode.INVALID_INPUT, f"{args.file} is not an audit export: {exc}", {}
            ) from None
    else:
        result = asyncio.run(_with_trail(lambda trail: trail.verify()))
    if result.ok:
        print(
            f"OK: {result.message}"
            + (f" Head {result.head_seq}: {result.head_hash}" if result.head_hash else "")
        )
        return 0
    print(f"FAILED at entry {result.first_bad_seq} ({result.problem}): {result.message}")
    return 1


def run_export(args: argparse.Namespace) -> int:
    fmt = args.format or ("csv" if args.output.suffix.lower() == ".csv" else "jsonl")
    flt = AuditFilter(
        start=args.since, end=args.until, actor=args.actor, action=args.action, outcome=args.outcome
    )
    count = asyncio.run(_with_trail(lambda trail: trail.export(args.output, fmt, flt)))
    print(f"exported {count} entries to {args.output}")
    return 0
