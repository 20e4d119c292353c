"""The orchestration service on the real service stack (database, audit, security, the
real keyring), the loopback provider server, and a clock that routing's waits move instead
of sleeping."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.retry import RetryPolicy
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.security.principal import Principal
from tests.fakes import FakeClock
from tests.services.ai.provider_server import (
    ANTHROPIC_KEY,
    ProviderServer,
    provider_server,
)
from tests.services.conftest import Stack

NO_JITTER = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=8.0, jitter=0.0)


class Sleeper:
    """``sleep`` for routing: moves the fake clock by the wait instead of waiting, and
    remembers every wait."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        target = self.clock.now + seconds
        self.waits.append(seconds)
        await asyncio.sleep(0)
        self.clock.now = max(self.clock.now, target)


def build(
    stack: Stack, sleeper: Sleeper | None = None, **options: Any
) -> AIModelOrchestrationService:
    options.setdefault("cache_size", 100)
    options.setdefault("request_timeout", 5.0)
    options.setdefault("sync_interval", 0)
    options.setdefault("rng", random.Random(7))
    options.setdefault("retry", NO_JITTER)
    options.setdefault("log_delay", 0.05)
    return AIModelOrchestrationService(
        stack.database,
        stack.audit,
        stack.security.authz,
        SecretStore(),
        stack.events,
        options.pop("metrics", None) or MetricsCollector(),
        clock=stack.clock,
        sleep=sleeper or Sleeper(stack.clock),
        **options,
    )


async def started(service: AIModelOrchestrationService) -> AIModelOrchestrationService:
    await service.initialize()
    service._mark_started(True)
    return service


@pytest.fixture
def sleeper(stack: Stack) -> Sleeper:
    return Sleeper(stack.clock)


@pytest.fixture
async def ai(stack: Stack, sleeper: Sleeper) -> AsyncIterator[AIModelOrchestrationService]:
    service = await started(build(stack, sleeper))
    yield service
    await service.cleanup()


@pytest.fixture
def server(stack: Stack) -> Iterator[ProviderServer]:
    with provider_server(stack.clock) as running:
        yield running


@pytest.fixture
async def admin(stack: Stack) -> Principal:
    return await stack.admin()


async def deploy(
    ai: AIModelOrchestrationService,
    actor: Principal,
    server: ProviderServer,
    name: str,
    provider: str = "openai",
    model: str | None = None,
    **spec: Any,
) -> Any:
    """A deployment on the test server (Anthropic ones get the key the server expects)."""
    base = server.openai_base if provider == "openai" else server.url
    key = spec.pop("api_key", ANTHROPIC_KEY if provider == "anthropic" else None)
    return await ai.save_deployment(
        actor,
        {"name": name, "provider": provider, "model": model or name, "api_base": base, **spec},
        api_key=key,
    )
