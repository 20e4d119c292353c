"""Team mode on PostgreSQL: a message published by one console wakes a consumer in another
process at once (LISTEN/NOTIFY through the team relay), not at its next poll."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from auterity_desktop.platform import Platform
from auterity_desktop.services.messaging.consumer import TEAM_POLL


async def test_a_publish_elsewhere_wakes_an_idle_consumer(
    postgres_url: str, tmp_path: Path
) -> None:
    def env(name: str) -> dict[str, str]:
        return {"AUTERITY_DATABASE_URL": postgres_url, "AUTERITY_DATA_DIR": str(tmp_path / name)}

    first = Platform.from_environment(env("a"), background=True, configure_logs=False)
    second = Platform.from_environment(env("b"), background=True, configure_logs=False)
    async with first, second:
        got: list[tuple[float, Any]] = []

        async def handler(message: Any) -> None:
            got.append((time.monotonic(), message.payload))

        # a poll far longer than the test: only a notification can deliver in time
        subscription = await second.messages.subscribe("leads.#", handler, poll=600.0)
        deadline = time.monotonic() + 10
        while not second.messages.remote_wakeups:  # the relay has connected
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # the consumer is idle, sleeping on its poll
        sent = time.monotonic()
        await first.messages.publish("leads.new.web", {"name": "Kim", "vehicle": "Civic"})
        while not got:
            assert time.monotonic() - sent < 5, "the consumer was not woken"
            await asyncio.sleep(0.01)
        assert got[0][1] == {"name": "Kim", "vehicle": "Civic"}
        assert got[0][0] - sent < 5 < TEAM_POLL
        await subscription.stop()
