"""The cognitive engine on the real service stack, with the real AI orchestration service
(``ai`` from ``tests/services/ai/conftest.py``) behind its ``use_llm`` path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.services.ai.cognitive.engine import CognitiveEngine
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from tests.services.conftest import Stack

# A Tuesday; the held-out entity data resolves relative dates against it.
REFERENCE = date(2026, 3, 10)


@pytest.fixture
async def cognitive(
    stack: Stack, ai: AIModelOrchestrationService
) -> AsyncIterator[CognitiveEngine]:
    engine = CognitiveEngine(
        stack.database,
        stack.audit,
        stack.security.authz,
        ai,
        stack.events,
        MetricsCollector(),
        clock=stack.clock,
    )
    await engine.initialize()
    engine._mark_started(True)
    yield engine
    await engine.cleanup()
