"""How deployments are ranked, and what routing remembers about each between requests.

Cooldowns follow LiteLLM's model with its reported bugs fixed: a deployment is cooled down
when its failures within the last minute exceed the policy's ``allowed_fails``; cooling it
again while it cools extends the deadline (never shortens it); ``cooldown_seconds = 0``
means it is never cooled down; and a deployment alone in its policy is cooled like any
other. A provider's ``Retry-After`` is kept separately: it binds every caller whatever the
policy says. Latency ranking uses the median of the last calls within ten minutes; a
deployment without any is tried first, so new ones get measured.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from auterity_desktop.services.ai.catalogue import DeploymentSpec, PolicySpec
from auterity_desktop.services.ai.types import Strategy

FAIL_WINDOW = 60.0  # seconds over which failures are counted toward a cooldown
LATENCY_WINDOW = 600.0  # seconds a latency sample counts for the latency strategy
LATENCY_SAMPLES = 20


def clock_text(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


@dataclass
class DeploymentState:
    failures: deque[float] = field(default_factory=deque)
    cooling_until: float = 0.0
    limited_until: float = 0.0  # the provider's Retry-After
    in_flight: int = 0
    latencies: deque[tuple[float, float]] = field(
        default_factory=lambda: deque(maxlen=LATENCY_SAMPLES)
    )
    last_used_at: float | None = None
    last_error: str | None = None


class HealthBook:
    """Per deployment: failures, cooldown, in-flight calls and recent latency."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._states: dict[str, DeploymentState] = {}

    def state(self, name: str) -> DeploymentState:
        found = self._states.get(name)
        if found is None:
            found = self._states[name] = DeploymentState()
        return found

    def forget(self, name: str) -> None:
        self._states.pop(name, None)

    def ready_at(self, name: str) -> float:
        found = self._states.get(name)
        return 0.0 if found is None else max(found.cooling_until, found.limited_until)

    def why_waiting(self, name: str, now: float) -> str | None:
        found = self._states.get(name)
        if found is None:
            return None
        if found.cooling_until > now and found.cooling_until >= found.limited_until:
            return f"cooling down until {clock_text(found.cooling_until)}"
        if found.limited_until > now:
            return f"rate limited by its provider until {clock_text(found.limited_until)}"
        return None

    def success(self, name: str, latency: float) -> None:
        found = self.state(name)
        now = self.clock()
        found.failures.clear()
        found.latencies.append((now, latency))
        found.last_used_at = now
        found.last_error = None

    def failure(
        self, name: str, policy: PolicySpec, error: str, latency: float | None = None
    ) -> float | None:
        """Count a failure; returns the new cooldown deadline when it cools down now."""
        found = self.state(name)
        now = self.clock()
        found.last_used_at = now
        found.last_error = error
        if latency is not None:
            found.latencies.append((now, latency))
        failures = found.failures
        failures.append(now)
        while failures and failures[0] <= now - FAIL_WINDOW:
            failures.popleft()
        if policy.cooldown_seconds <= 0 or len(failures) <= policy.allowed_fails:
            return None
        found.cooling_until = max(found.cooling_until, now + policy.cooldown_seconds)
        failures.clear()
        return found.cooling_until

    def rate_limited(self, name: str, until: float) -> None:
        found = self.state(name)
        found.limited_until = max(found.limited_until, until)

    def clear_cooldown(self, name: str) -> None:
        found = self.state(name)
        found.cooling_until = found.limited_until = 0.0
        found.failures.clear()

    def latency(self, name: str) -> float:
        found = self._states.get(name)
        if found is None:
            return 0.0
        since = self.clock() - LATENCY_WINDOW
        recent = [latency for ts, latency in found.latencies if ts >= since]
        return statistics.median(recent) if recent else 0.0

    def in_flight(self, name: str) -> int:
        found = self._states.get(name)
        return 0 if found is None else found.in_flight


def order(
    strategy: Strategy,
    candidates: Sequence[DeploymentSpec],
    health: HealthBook,
    cost: Callable[[DeploymentSpec], float],
    rng: random.Random,
) -> list[DeploymentSpec]:
    """Candidates best first; ties keep the policy's order (``sorted`` is stable)."""
    if strategy is Strategy.COST:
        return sorted(candidates, key=cost)
    if strategy is Strategy.LATENCY:
        return sorted(candidates, key=lambda d: health.latency(d.name))
    if strategy is Strategy.LEAST_BUSY:
        return sorted(candidates, key=lambda d: health.in_flight(d.name))
    if strategy is Strategy.WEIGHTED:
        # Efraimidis–Spirakis: a weighted random order in one pass; weight 0 goes last.
        def key(d: DeploymentSpec) -> float:
            return rng.random() ** (1.0 / d.weight) if d.weight > 0 else -1.0

        return sorted(candidates, key=key, reverse=True)
    return list(candidates)


def why_chosen(
    strategy: Strategy,
    chosen: DeploymentSpec,
    candidates: int,
    health: HealthBook,
    cost: float,
) -> str:
    others = f"of {candidates} candidates" if candidates > 1 else "the only candidate"
    if candidates <= 1:
        return f"{chosen.name} was the only candidate"
    if strategy is Strategy.COST:
        return f"cheapest {others} (about ${cost:.6f} for this request)"
    if strategy is Strategy.LATENCY:
        recent = health.latency(chosen.name)
        if recent <= 0:
            return f"fastest {others}: no recent latency yet, so it is measured first"
        return f"fastest {others} (median {recent * 1000:.0f} ms recently)"
    if strategy is Strategy.LEAST_BUSY:
        return f"least busy {others} ({health.in_flight(chosen.name)} calls in flight)"
    if strategy is Strategy.WEIGHTED:
        return f"weighted random pick {others} (weight {chosen.weight:g})"
    return f"first usable {others} in the policy's order"
