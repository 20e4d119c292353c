"""``auterity serve``: the REST API without a window, and ``auterity apikey``: the keys that
automation uses to call it.

``serve`` is a full headless console — schedules fire, interrupted runs resume — and stops
cleanly on Ctrl+C or SIGTERM (the server stops taking requests, running work drains, then
every service stops). A key is printed once, at creation; only its hash is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from auterity_desktop.cli.local_actor import local_actor


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve the REST API headless (no window)")
    serve.add_argument("--host", help="address to listen on (default AUTERITY_API_HOST)")
    serve.add_argument(
        "--port", type=int, help="TCP port (default API_GATEWAY_PORT; 0 picks a free one)"
    )
    serve.set_defaults(handler=run_serve)

    keys = commands.add_parser("apikey", help="API keys for the REST API")
    actions = keys.add_subparsers(dest="apikey_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key (printed once)")
    create.add_argument("name")
    create.add_argument("--role", required=True, help="admin, operator, analyst, viewer, …")
    create.add_argument("--expires-days", type=float, help="days until it expires (default never)")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=run_revoke)


async def _serve(host: str | None, port: int | None) -> None:
    from auterity_desktop.api.server import ApiServer, is_loopback
    from auterity_desktop.platform import Platform

    async with Platform.from_environment() as platform:
        server = ApiServer(platform, host, port)
        await server.start()
        if not is_loopback(server.host):
            print(f"auterity: warning: the REST API answers the network on {server.host}",
                  file=sys.stderr)  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # before the address is announced: a
            # supervisor may signal as soon as it has read it
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still interrupts
                loop.add_signal_handler(sig, stop.set)
        print(f"Serving the REST API on {server.url} (Ctrl+C stops)", flush=True)
        await stop.wait()
        print("Stopping…", flush=True)
        await server.stop()
        await platform.engine.drain()


def run_serve(args: argparse.Namespace) -> int:
    asyncio.run(_serve(args.host, args.port))
    return 0


async def _with_keys(work: Any) -> Any:
    from auterity_desktop.platform import Platform

    async with Platform.from_environment(background=False) as platform:
        return await work(platform.gateway.keys)


def run_create(args: argparse.Namespace) -> int:
    new = asyncio.run(
        _with_keys(lambda keys: keys.create(local_actor(), args.name, args.role, args.expires_days))
    )
    print(new.key)
    print(
        f"Created key {new.info.id} ({new.info.name!r}, role {new.info.role}). "
        "Keep it now: it is not shown again.",
        file=sys.stderr,
    )
    return 0


def run_list(_args: argparse.Namespace) -> int:
    import time

    keys = asyncio.run(_with_keys(lambda keys: keys.list_keys()))
    print(f"{'ID':<14}{'NAME':<24}{'ROLE':<10}{'STATE':<9}LAST USED")
    for key in keys:
        state = "active" if key.active else ("revoked" if key.revoked_at else "expired")
        used = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(key.last_used_at))
            if key.last_used_at
            else "never"
        )
        print(f"{key.id:<14}{key.name[:23]:<24}{key.role:<10}{state:<9}{used}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    info = asyncio.run(_with_keys(lambda keys: keys.revoke(local_actor(), args.key_id)))
    print(f"revoked {info.id} ({info.name})")
    return 0
