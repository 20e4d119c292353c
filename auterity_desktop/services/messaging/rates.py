"""Messages per minute, counted in one-second buckets.

The Messages page shows how fast each queue is fed and drained. Counting rows over time in
the database would cost a write per message; this keeps the last minute in memory instead,
updated once per committed batch. It counts what this process published and acknowledged
(other processes sharing the database show their own), which is where a console's work is.
"""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 60


class RateWindow:
    def __init__(self, window: int = WINDOW_SECONDS) -> None:
        self.window = window
        self._buckets: deque[list[int]] = deque()  # [second, count], oldest first
        self.total = 0

    def add(self, count: int, now: float) -> None:
        if count <= 0:
            return
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        self.total += count
        self._trim(second)

    def per_minute(self, now: float) -> float:
        """Events in the last ``window`` seconds, scaled to a minute."""
        self._trim(int(now))
        return sum(n for _, n in self._buckets) * 60.0 / self.window

    def _trim(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] <= second - self.window:
            self._buckets.popleft()
