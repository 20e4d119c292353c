"""A console-like process for the scheduler leadership test: the whole platform with its
background services on the database the environment names, its scheduler looking every
``TICK`` seconds instead of every 20 (a test cannot wait minutes for a takeover). Prints
``ready <pid>`` once started and runs until SIGTERM (a clean stop) or SIGKILL.

    AUTERITY_DATABASE_URL=… AUTERITY_DATA_DIR=… python -m tests.services.workflows.scheduler_proc
"""

from __future__ import annotations

import asyncio
import os
import signal

from auterity_desktop.platform import Platform

TICK = 0.2


async def main() -> None:
    platform = Platform.from_environment(dict(os.environ), background=True)
    platform.scheduler.interval = TICK
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with platform:
        print(f"ready {os.getpid()}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
