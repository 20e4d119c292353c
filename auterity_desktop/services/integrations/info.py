"""What the controller tells its callers about an integration and a connection test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("healthy", "degraded", "down", "circuit_open", "never_tested")
DEGRADED_LATENCY = 2.0  # seconds: slower than this, a working system counts as degraded


@dataclass(frozen=True)
class TestResult:
    ok: bool
    status: str
    latency: float | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class IntegrationInfo:
    id: str
    name: str
    kind: str
    config: dict[str, Any]  # no secret values
    secrets: dict[str, bool]  # secret field → is one stored
    status: str
    circuit: str
    last_checked_at: float | None
    last_latency: float | None
    last_error: str | None
    created_by: str
    updated_at: float
