"""The mining pool hands a call's result back only after every progress report of that call
reached its callback, the last one included, however slow the callback is: the result
and the reports travel different ways between the processes."""

from __future__ import annotations

import threading
import time
from typing import Any

from auterity_desktop.services.analytics.mining.worker_pool import MiningPool


def count_to(n: int, *, progress: Any, cancel: threading.Event) -> int:
    """Runs in a worker process: reports every step, then returns at once."""
    for done in range(n + 1):
        progress(done, n)
    return n


async def test_every_report_is_delivered_before_the_result() -> None:
    pool = MiningPool(1)
    try:
        for _ in range(3):
            seen: list[tuple[int, int]] = []

            def slow_listener(done: int, total: int, seen: list[tuple[int, int]] = seen) -> None:
                if not seen:
                    time.sleep(0.3)  # the reader is held up while the result arrives
                seen.append((done, total))

            result = await pool.run(count_to, 5, progress=slow_listener, controls=True)
            assert result == 5
            assert seen == [(done, 5) for done in range(6)]  # the last one included
        # the slots came back: more calls than the pool has slots still run
        results = [await pool.run(count_to, 1, controls=True) for _ in range(70)]
        assert results == [1] * 70
    finally:
        pool.shutdown()
