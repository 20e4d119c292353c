"""``auterity user create NAME --admin``: the headless first-run setup."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError


def register(commands: Any) -> None:
    parser = commands.add_parser("user", help="user accounts")
    actions = parser.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create the first admin account")
    create.add_argument("username")
    create.add_argument(
        "--admin",
        action="store_true",
        required=True,
        help="create an administrator (only when there are no users yet)",
    )
    create.add_argument("--display-name", default="")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    create.set_defaults(handler=run_create)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise ServiceError(
            ErrorCode.INVALID_INPUT, "No terminal to ask for a password; use --password-stdin", {}
        )
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise ServiceError(ErrorCode.VALIDATION_ERROR, "The passwords differ", {})
    return first


async def _create(username: str, password: str, display_name: str) -> str:
    from auterity_desktop.platform import Platform

    async with Platform.from_environment() as platform:
        user = await platform.security.users.create_first_admin(username, password, display_name)
    return f"created admin {user.username}"


def run_create(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    print(asyncio.run(_create(args.username, password, args.display_name)))
    return 0
