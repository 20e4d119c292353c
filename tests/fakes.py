"""Small test doubles shared by several test modules."""

from __future__ import annotations


class FakeClock:
    """A clock the test moves by hand (``clock.now += 5``)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# The services a started Platform runs, in start order (shared by platform and GUI tests).
EXPECTED_SERVICES = [
    "database",
    "team_relay",
    "cache",
    "error_recovery",
    "audit",
    "security",
    "compliance",
    "workflows",
    # what workflow nodes call starts before the engine, which may resume runs at once
    "integrations",
    "messages",
    "ai",
    "cognitive",
    "engine",
    "scheduler",
    "message_triggers",
    "performance",
    "alerts",
    "ml_monitoring",
    "process_mining",
    "analytics",
    "gateway",
]
