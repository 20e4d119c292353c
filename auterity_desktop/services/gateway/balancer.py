"""Load balancing one gateway route across several handlers or backends.

``round_robin`` takes the healthy backends in turn; ``least_busy`` takes the one with the
fewest requests in flight (ties go round robin, so equal backends still share the load).
An unhealthy backend is skipped until it is marked healthy again; with none healthy the
route answers ``SERVICE_UNAVAILABLE`` instead of sending work nowhere. ``use`` counts a
request as in flight for as long as it runs, whatever way it ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from auterity_desktop.core.errors import ErrorCode, ServiceError

Strategy = Literal["round_robin", "least_busy"]
STRATEGIES = ("round_robin", "least_busy")


@dataclass
class Backend:
    name: str
    target: Any  # a handler (callable) or a base URL: the gateway decides how to call it
    healthy: bool = True
    in_flight: int = 0


class Balancer:
    def __init__(self, backends: Sequence[Backend], strategy: Strategy = "round_robin") -> None:
        if not backends:
            raise ValueError("a route needs at least one backend")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        names = [b.name for b in backends]
        if len(set(names)) != len(names):
            raise ValueError("backend names must be unique")
        self.backends = list(backends)
        self.strategy = strategy
        self._next = 0

    def set_healthy(self, name: str, healthy: bool) -> None:
        for backend in self.backends:
            if backend.name == name:
                backend.healthy = healthy
                return
        raise KeyError(name)

    def pick(self) -> Backend:
        """The backend for the next request (not yet counted as in flight)."""
        if len(self.backends) == 1 and self.backends[0].healthy:
            return self.backends[0]
        count = len(self.backends)
        order = [self.backends[(self._next + i) % count] for i in range(count)]
        healthy = [b for b in order if b.healthy]
        if not healthy:
            raise ServiceError(
                ErrorCode.SERVICE_UNAVAILABLE,
                "No healthy backend for this route",
                {"backends": [b.name for b in self.backends]},
            )
        chosen = healthy[0]
        if self.strategy == "least_busy":
            chosen = min(healthy, key=lambda b: b.in_flight)  # first of the least busy
        self._next = (self.backends.index(chosen) + 1) % count
        return chosen

    @contextmanager
    def use(self) -> Iterator[Backend]:
        backend = self.pick()
        backend.in_flight += 1
        try:
            yield backend
        finally:
            backend.in_flight -= 1
