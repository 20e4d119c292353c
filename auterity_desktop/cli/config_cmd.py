"""``auterity config``: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json
from typing import Any

from auterity_desktop.config import default_config_file, describe_settings, load_settings


def register(commands: Any) -> None:
    parser = commands.add_parser("config", help="print the effective settings and their sources")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings, sources = load_settings()
    rows = describe_settings(settings, sources)
    if args.json:
        data = {
            "config_file": str(default_config_file()),
            "settings": {
                r.name: {"value": None if r.value is None else _plain(r.value), "source": r.source}
                for r in rows
            },
        }
        print(json.dumps(data, indent=2))
        return 0
    print(f"# settings file: {default_config_file()}")
    name_width = max(len(r.name) for r in rows)
    values = [_shown(r.value) for r in rows]
    value_width = min(60, max(len(v) for v in values))
    for row, value in zip(rows, values, strict=True):
        print(f"{row.name:<{name_width}}  {value:<{value_width}}  ({row.source})")
    print(f"# database in use: {_redact(settings.effective_database_url)}")
    return 0


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) else str(value)


def _shown(value: Any) -> str:
    if value is None:
        return "(not set)"
    return _redact(str(value)) if isinstance(value, str) and "://" in value else str(value)


def _redact(url: str) -> str:
    """Hide a password in a database URL: postgresql://user:***@host/db."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, at, host = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}{at}{host}"
