"""Money and measurements: cost from the catalogue's prices, metrics, one ``ai_requests``
row per request, usage reports, per-deployment statistics and budgets — the parts that
live in the database run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models
from auterity_desktop.services.ai.accounting import cost_of
from auterity_desktop.services.ai.budgets import period_bounds
from auterity_desktop.services.ai.catalogue import DeploymentSpec
from auterity_desktop.services.ai.models import AIRequestRow
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.ai.types import ProviderKind, Usage
from auterity_desktop.services.security.principal import Principal
from tests.services.ai.conftest import Sleeper, build, deploy, started
from tests.services.ai.provider_server import ProviderServer, Step, provider_server
from tests.services.conftest import Stack, build_stack, close_stack

HOUR = 3600.0
DAY = 86400.0


def ask(prompt: str = "hi", **options: Any) -> dict[str, Any]:
    return {"prompt": prompt, "cache": False, **options}


async def refused(coro: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        await coro
    return info.value


async def rows(ai: AIModelOrchestrationService) -> list[AIRequestRow]:
    await ai.log.flush()
    async with ai.database.session() as db:
        return list((await db.execute(select(AIRequestRow).order_by(AIRequestRow.id))).scalars())


@pytest.fixture
async def any_stack(any_database_url: str) -> AsyncIterator[Stack]:
    built = await build_stack(any_database_url)
    try:
        yield built
    finally:
        await close_stack(built)


@pytest.fixture
async def env(
    any_stack: Stack,
) -> AsyncIterator[tuple[AIModelOrchestrationService, Principal, ProviderServer, Stack]]:
    with provider_server(any_stack.clock) as server:
        ai = await started(build(any_stack, Sleeper(any_stack.clock)))
        try:
            yield ai, await any_stack.admin(), server, any_stack
        finally:
            await ai.cleanup()


# -- cost -------------------------------------------------------------------------------------
def test_cost_counts_cached_input_at_its_own_price() -> None:
    spec = DeploymentSpec("d", ProviderKind.OPENAI, "m", "http://x", 1.0, 2.0, 0.25)
    assert cost_of(spec, Usage(1000, 500, 200)) == pytest.approx((800 + 50 + 1000) / 1000)
    plain = DeploymentSpec("d", ProviderKind.OPENAI, "m", "http://x", 1.0, 2.0)
    assert cost_of(plain, Usage(1000, 500, 200)) == pytest.approx(2.0)
    assert cost_of(plain, Usage()) == 0.0


async def test_anthropic_cache_reads_are_priced_as_cached_input(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "claude", "anthropic", price_input_per_1k=3.0,
                 price_output_per_1k=15.0, price_cached_input_per_1k=0.3)  # fmt: skip
    server.plan("claude", Step(cached=4))
    reply = await ai.route_request(ask("one two three"))
    # input 3 + (4 + 3) = 10 in all, 4 of them read from the cache; 5 words out
    assert reply.usage == Usage(10, 5, 4)
    assert reply.cost == pytest.approx((6 * 3.0 + 4 * 0.3 + 5 * 15.0) / 1000)


# -- metrics and rows -------------------------------------------------------------------------
async def test_metrics_per_deployment(
    stack: Stack, admin: Principal, server: ProviderServer
) -> None:
    metrics = MetricsCollector()
    ai = await started(build(stack, metrics=metrics))
    try:
        await deploy(ai, admin, server, "gpt", price_input_per_1k=1.0, price_output_per_1k=1.0)
        await ai.save_policy(admin, {"name": "default", "num_retries": 1})
        server.plan("gpt", Step(status=500))
        reply = await ai.route_request(ask(cache=True))
        await ai.route_request(ask(cache=True))
        label = {"deployment": "gpt"}
        assert metrics.count("auterity_ai_request_seconds", label) == 1
        assert metrics.value("auterity_ai_cost_total", label) == pytest.approx(reply.cost)
        tokens_in = {"deployment": "gpt", "direction": "input"}
        assert metrics.value("auterity_ai_tokens_total", tokens_in) == reply.usage.input_tokens
        errors = {"deployment": "gpt", "outcome": "server_error"}
        assert metrics.value("auterity_ai_errors_total", errors) == 1
        for outcome in ("ok", "cached"):
            requests = {"deployment": "gpt", "outcome": outcome}
            assert metrics.value("auterity_ai_requests_total", requests) == 1
        assert metrics.value("auterity_ai_tokens_per_second", label) is not None
        assert "auterity_ai_time_to_first_token_seconds" in metrics.names()
    finally:
        await ai.cleanup()


async def test_every_request_is_one_row(
    env: tuple[AIModelOrchestrationService, Principal, ProviderServer, Stack],
) -> None:
    ai, admin, server, stack = env
    await deploy(ai, admin, server, "a", price_input_per_1k=0.5, price_output_per_1k=1.0)
    await deploy(ai, admin, server, "b", price_input_per_1k=2.0, price_output_per_1k=4.0)
    await ai.save_policy(admin, {"name": "default", "num_retries": 0})
    started_at = stack.clock.now
    served = await ai.chat(admin, ask(workflow_id="wf-7", run_id="run-1", purpose="playground"))
    await ai.route_request(ask(cache=True))
    await ai.route_request(ask(cache=True))  # a hit
    server.plan("a", Step(status=500))
    rescued = await ai.route_request(ask("x"))
    server.plan("a", Step(status=500))
    server.plan("b", Step(status=500))
    failed = await refused(ai.route_request(ask("y")))
    streamed = [i async for i in ai.stream_request(ask("z"))][-1]
    found = await rows(ai)
    assert [(r.deployment, r.outcome, r.cached, r.streamed, r.attempts) for r in found] == [
        ("a", "ok", False, False, 1),
        ("a", "ok", False, False, 1),
        ("a", "ok", True, False, 0),
        ("b", "ok", False, False, 2),
        ("b", "error", False, False, 2),
        ("a", "ok", False, True, 1),
    ]
    first = found[0]
    assert (first.workflow_id, first.run_id, first.purpose, first.actor) == (
        "wf-7", "run-1", "playground", "alice",
    )  # fmt: skip
    assert first.ts == started_at and first.policy == "default" and first.provider == "openai"
    assert (first.input_tokens, first.output_tokens) == (
        served.usage.input_tokens, served.usage.output_tokens,
    )  # fmt: skip
    assert first.cost == pytest.approx(served.cost) and first.latency_s > 0
    assert first.decision["chosen"] == "a" and first.decision["attempts"][0]["outcome"] == "ok"
    hit = found[2]
    assert (hit.cost, hit.input_tokens) == (0.0, 0)  # billed tokens: none
    assert found[3].cost == pytest.approx(rescued.cost)
    assert [a["outcome"] for a in found[3].decision["attempts"]] == ["server_error", "ok"]
    assert found[4].error_code == failed.code.value == "SERVICE_UNAVAILABLE"
    assert found[5].ttft_s is not None and found[5].ttft_s <= found[5].latency_s
    assert streamed.deployment == "a"


async def test_writes_are_batched_off_the_request_path(
    stack: Stack, admin: Principal, server: ProviderServer
) -> None:
    ai = await started(build(stack, log_delay=60))
    try:
        await deploy(ai, admin, server, "a")
        await asyncio.gather(*(ai.route_request(ask(f"q{i}")) for i in range(40)))
        assert ai.log.pending == 40 and ai.log.written == 0  # nobody waited for the database
        assert len(await rows(ai)) == 40  # one transaction
    finally:
        await ai.cleanup()


# -- reports ----------------------------------------------------------------------------------
async def test_usage_per_bucket_and_deployment(
    env: tuple[AIModelOrchestrationService, Principal, ProviderServer, Stack],
) -> None:
    ai, admin, server, stack = env
    await deploy(ai, admin, server, "a", price_input_per_1k=1.0, price_output_per_1k=1.0)
    await deploy(ai, admin, server, "b", price_input_per_1k=5.0, price_output_per_1k=5.0)
    await ai.save_policy(admin, {"name": "default", "num_retries": 0})
    hour = stack.clock.now // HOUR * HOUR
    stack.clock.now = hour + 60
    for i in range(4):
        await ai.route_request(ask(f"q{i}"))
    server.plan("a", Step(status=500))
    await ai.route_request(ask("falls back to b"))
    stack.clock.now = hour + HOUR + 60
    await ai.route_request(ask("later"))
    await ai.route_request(ask("later", cache=True))
    await ai.route_request(ask("later", cache=True))
    report = await ai.usage(admin, hour, hour + 2 * HOUR)
    assert [(r.start, r.deployment, r.requests, r.errors, r.cached) for r in report] == [
        (hour, "a", 4, 0, 0),
        (hour, "b", 1, 0, 0),
        (hour + HOUR, "a", 3, 0, 1),
    ]
    first = report[0]
    assert first.input_tokens > 0 and first.output_tokens == 4 * 3  # "a says: qN" ×4
    assert first.cost == pytest.approx((first.input_tokens + first.output_tokens) / 1000)
    assert first.p50_latency_s is not None and first.p95_latency_s is not None
    assert first.p50_latency_s <= first.p95_latency_s
    (day,) = [
        r for r in await ai.usage(admin, hour - DAY, hour + DAY, "day") if r.deployment == "a"
    ]
    assert day.requests == 7
    bad = await refused(ai.usage(admin, 10, 5, "week"))
    assert [p["field"] for p in bad.details["problems"]] == ["bucket"]
    assert (await refused(ai.usage(admin, 10, 5))).details["field"] == "until"


async def test_deployment_statistics(
    env: tuple[AIModelOrchestrationService, Principal, ProviderServer, Stack],
) -> None:
    ai, admin, server, stack = env
    await deploy(ai, admin, server, "a", price_input_per_1k=1.0)
    await deploy(ai, admin, server, "local", "ollama", "qwen2.5:7b", price_input_per_1k=2.0)
    await ai.save_policy(admin, {"name": "default", "num_retries": 0, "strategy": "order",
                                 "deployments": ["a", "local"]})  # fmt: skip
    await ai.route_request(ask())
    server.plan("a", Step(status=500))
    await ai.route_request(ask("rescued by local"))
    [item async for item in ai.stream_request(ask("stream", deployment="local"))]
    stats = {s.deployment: s for s in await ai.deployment_stats(admin)}
    a, local = stats["a"], stats["local"]
    assert (a.requests, a.errors, a.error_rate) == (1, 1, 0.5)  # two calls, one failed
    assert (local.requests, local.errors, local.error_rate) == (2, 0, 0.0)
    assert local.tokens_per_s == pytest.approx(40.0)  # from Ollama's own timings
    assert local.p50_ttft_s is not None and a.p50_ttft_s is None
    assert a.p50_latency_s is not None and a.p95_latency_s is not None
    found = await rows(ai)
    spend = sum(r.cost for r in found if r.deployment == "local")
    assert local.spend_today == pytest.approx(spend) == local.spend_month
    assert a.window_s == DAY and a.in_flight == 0
    _, month_end = period_bounds("month", stack.clock.now)
    stack.clock.now = month_end + 1
    later = {s.deployment: s for s in await ai.deployment_stats(admin)}
    assert (later["local"].spend_today, later["local"].spend_month) == (0.0, 0.0)
    assert later["local"].requests == 0 and later["local"].error_rate is None


# -- budgets ----------------------------------------------------------------------------------
async def test_a_spent_budget_refuses_before_calling_and_survives_a_restart(
    env: tuple[AIModelOrchestrationService, Principal, ProviderServer, Stack],
) -> None:
    ai, admin, server, stack = env
    await deploy(ai, admin, server, "gpt", price_input_per_1k=10.0, price_output_per_1k=10.0)
    budget = await ai.save_budget(admin, {"scope": "global", "period": "day", "limit": 0.05})
    first = await ai.route_request(ask())
    assert first.cost > 0.05
    error = await refused(ai.route_request(ask("again")))
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.details["reason"] == "budget_exceeded" and error.details["budget"] == budget.id
    assert error.message.startswith("Refused: the global daily budget is spent ($0.")
    assert error.message.endswith("of $0.05); it starts again at 2027-01-16 00:00 UTC")
    assert len(server.calls()) == 1
    (listed,) = await ai.list_budgets(admin)
    assert listed.exhausted and listed.spent == pytest.approx(first.cost)
    assert (await rows(ai))[-1].outcome == "refused"
    restarted = await started(build(stack))
    try:
        again = await refused(restarted.route_request(ask("after a restart")))
        assert again.details["reason"] == "budget_exceeded"
        stack.clock.now += DAY  # a new UTC day
        assert (await restarted.route_request(ask("tomorrow"))).deployment == "gpt"
    finally:
        await restarted.cleanup()


async def test_deployment_and_workflow_budgets(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "cheap", price_input_per_1k=1.0)
    await deploy(ai, admin, server, "dear", price_input_per_1k=5.0)
    await ai.save_budget(admin, {"scope": "deployment:cheap", "period": "month", "limit": 0.001})
    await ai.route_request(ask())
    moved = await ai.route_request(ask("next"))
    assert moved.deployment == "dear"
    assert moved.decision.skipped == {"cheap": "the monthly budget of deployment cheap is spent"}
    await ai.save_budget(admin, {"scope": "workflow:wf-1", "period": "day", "limit": 0.001})
    await ai.route_request(ask("a", workflow_id="wf-1"))
    error = await refused(ai.route_request(ask("b", workflow_id="wf-1")))
    assert "the daily budget of workflow wf-1 is spent" in error.message
    assert (await ai.route_request(ask("c", workflow_id="wf-2"))).deployment == "dear"


async def test_calls_in_flight_hold_their_estimated_cost(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    # Each call is estimated at about 0.108 (8 tokens in, 100 out at $1 per 1k): with a
    # limit of 0.3, three may start; the rest are refused before anything is sent.
    await deploy(ai, admin, server, "gpt", price_input_per_1k=1.0, price_output_per_1k=1.0)
    await ai.save_budget(admin, {"scope": "global", "period": "day", "limit": 0.3})
    results = await asyncio.gather(
        *(ai.route_request(ask(f"q{i}", max_tokens=100)) for i in range(20)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    assert len(server.calls()) == 3
    (budget,) = await ai.list_budgets(admin)
    assert budget.held == 0.0 and 0 < budget.spent < 0.3  # actual cost, far below the holds


# -- schema -----------------------------------------------------------------------------------
def _differences(conn: Any) -> list[Any]:
    import_all_models()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "target_metadata": Base.metadata,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, Base.metadata)


async def test_migration_matches_the_models(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    try:
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        assert [d for d in differences if "ai_" in repr(d)] == []
    finally:
        await database.cleanup()
