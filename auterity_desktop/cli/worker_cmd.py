"""``auterity worker``: a headless process that executes runs for a team.

Every worker and console points at one PostgreSQL database. Runs of workflows whose
``settings.execution`` is ``workers`` are queued there; each worker claims as many as it
has free slots (``WORKFLOW_ENGINE_WORKERS``) with ``FOR UPDATE SKIP LOCKED``, drives them
and renews their lease. A worker that dies leaves its runs to the others once the lease
(``AUTERITY_RUN_LEASE``) has passed; one that is stopped (Ctrl+C, SIGTERM) hands its runs
back to the queue at once. Schedules and message triggers run here too, as in a console.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from typing import Any


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="execute queued workflow runs (team mode)")
    worker.add_argument(
        "--concurrency", type=int, help="runs at once (default WORKFLOW_ENGINE_WORKERS)"
    )
    worker.add_argument(
        "--poll", type=float, default=0.5, help="seconds between looks at an empty queue"
    )
    worker.set_defaults(handler=run_worker)


async def _work(concurrency: int | None, poll: float) -> None:
    from auterity_desktop.platform import Platform

    env = dict(os.environ)
    if concurrency:  # the engine sizes its slots from this setting when it starts
        env["WORKFLOW_ENGINE_WORKERS"] = str(concurrency)
    async with Platform.from_environment(env) as platform:
        engine = platform.engine
        engine.release_to_queue = True
        print(
            f"Worker {engine.owner} on {platform.database.description}: up to "
            f"{engine.workers} runs at once (Ctrl+C stops)",
            flush=True,
        )
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        working = asyncio.ensure_future(engine.work(poll))
        await stop.wait()
        working.cancel()
        await asyncio.gather(working, return_exceptions=True)
        print("Stopping: running runs go back to the queue", flush=True)


def run_worker(args: argparse.Namespace) -> int:
    asyncio.run(_work(args.concurrency, args.poll))
    return 0
