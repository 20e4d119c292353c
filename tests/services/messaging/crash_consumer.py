"""A consumer process for the crash test: handles the ``jobs`` queue slowly and logs
``start <id> <delivery>`` and ``done <id>`` lines, until someone kills it.

    python crash_consumer.py DATABASE_URL LOG_FILE
"""

from __future__ import annotations

import asyncio
import sys

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.messaging.message import Message
from auterity_desktop.services.messaging.queue import MessageQueue
from auterity_desktop.services.security.service import SecurityService

HOLD = 0.2  # seconds each message takes
CONCURRENCY = 4


async def main(url: str, log_path: str) -> None:
    database = Database(url)
    await database.initialize()
    events = EventBus()
    audit = AuditTrail(database, events)
    security = SecurityService(database, audit, events, SecretStore())
    mq = MessageQueue(database, audit, security.authz, events, sweep_interval=0)
    await mq.initialize()
    with open(log_path, "a", buffering=1) as log:

        async def handle(message: Message) -> None:
            log.write(f"start {message.id} {message.deliveries}\n")
            await asyncio.sleep(HOLD)
            log.write(f"done {message.id}\n")

        await mq.subscribe("jobs.#", handle, queue="jobs", concurrency=CONCURRENCY)
        log.write("ready\n")
        await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
