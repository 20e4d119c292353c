"""Threat detection: account lockout with exponential delay, and bursts worth an alert.

Failures are counted per account (OWASP), not per address. After ``threshold`` failures
inside ``window`` seconds the account is locked for ``base_lock`` seconds, doubling with
each further failure up to ``max_lock``. Bursts of denied authorizations by one actor, and
of sign-in attempts for user names that do not exist, raise security alerts.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThreatPolicy:
    lockout_threshold: int = 5
    lockout_window: float = 900.0
    base_lock: float = 30.0
    max_lock: float = 3600.0
    denial_burst: int = 10
    unknown_user_burst: int = 10
    burst_window: float = 60.0


class ThreatDetector:
    def __init__(
        self, policy: ThreatPolicy | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.policy = policy or ThreatPolicy()
        self.clock = clock
        self._denials: dict[str, deque[float]] = defaultdict(deque)
        self._unknown: deque[float] = deque()
        self._alerted: dict[str, float] = {}

    def lock_duration(self, failures: int) -> float:
        """Seconds to lock after the ``failures``-th failure inside the window (0: no lock)."""
        over = failures - self.policy.lockout_threshold
        if over < 0:
            return 0.0
        return float(min(self.policy.max_lock, self.policy.base_lock * 2 ** min(over, 30)))

    def failures_in_window(
        self, previous: int, first_failure_at: float | None
    ) -> tuple[int, float]:
        """The failure count and window start after one more failure now."""
        now = self.clock()
        if first_failure_at is None or now - first_failure_at > self.policy.lockout_window:
            return 1, now
        return previous + 1, first_failure_at

    def _burst(self, times: deque[float], limit: int, key: str) -> bool:
        now = self.clock()
        times.append(now)
        while times and now - times[0] > self.policy.burst_window:
            times.popleft()
        if len(times) < limit:
            return False
        # one alert per key and window, not one per further event
        last = self._alerted.get(key)
        if last is not None and now - last < self.policy.burst_window:
            return False
        self._alerted[key] = now
        return True

    def denial(self, actor: str) -> bool:
        """Record a denied authorization; True when it completes a burst worth an alert."""
        return self._burst(self._denials[actor], self.policy.denial_burst, f"denial:{actor}")

    def unknown_user(self) -> bool:
        """Record a sign-in for a user name that does not exist; True on a burst."""
        return self._burst(self._unknown, self.policy.unknown_user_burst, "unknown")
