"""The lifecycle every service shares, so the registry can start and stop them uniformly."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class HealthState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Health:
    """What a service says about itself; ``detail`` is one sentence for the status bar."""

    state: HealthState
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state is HealthState.OK


class BaseService:
    """Base class for in-process services.

    Subclasses set ``name`` and, when they need other services running first,
    ``dependencies`` (names). ``initialize`` acquires resources; ``cleanup`` releases them
    and must be safe to call after a failed or partial ``initialize``.
    """

    name: ClassVar[str] = ""
    dependencies: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    async def initialize(self) -> None:
        """Acquire resources. Raise ServiceError when the service cannot work."""

    async def cleanup(self) -> None:
        """Release resources. Must not raise for resources that were never acquired."""

    async def health(self) -> Health:
        if not self._started:
            return Health(HealthState.STOPPED, f"{self.name} is not running")
        return Health(HealthState.OK)

    def _mark_started(self, started: bool) -> None:
        self._started = started
