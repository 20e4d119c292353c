"""Routing through the service against the loopback server: strategies, what makes a
deployment unfit, retries with backoff and Retry-After, fallback chains, cooldowns and
waiting for them, and the decision every response carries."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.core.retry import RetryPolicy
from auterity_desktop.services.ai.catalogue import PolicySpec
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.ai.router import HealthBook
from auterity_desktop.services.ai.types import ChatMessage, ModelRequest, Strategy
from auterity_desktop.services.security.principal import Principal
from tests.fakes import FakeClock
from tests.services.ai.conftest import Sleeper, build, deploy, started
from tests.services.ai.provider_server import ProviderServer, Step
from tests.services.conftest import Stack

LONG = "word " * 2000  # about 2,500 tokens by the estimate


async def refused(coro: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        await coro
    return info.value


def ask(prompt: str = "hi", **options: Any) -> dict[str, Any]:
    options.setdefault("cache", False)
    return {"prompt": prompt, **options}


# -- strategies -------------------------------------------------------------------------------
async def test_cost_picks_the_cheapest_deployment_that_can_serve(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "premium", price_input_per_1k=5.0, price_output_per_1k=15,
                 capabilities=["json"], context_window=128_000)  # fmt: skip
    await deploy(ai, admin, server, "budget", price_input_per_1k=0.1, price_output_per_1k=0.4)
    await deploy(ai, admin, server, "small", price_input_per_1k=0.5, price_output_per_1k=1,
                 capabilities=["json"], context_window=1024)  # fmt: skip
    cheap = await ai.route_request(ask())
    assert cheap.deployment == "budget"
    assert cheap.decision.policy == "default" and cheap.decision.strategy is Strategy.COST
    assert cheap.decision.reason.startswith("cheapest of 3 candidates")
    schema = {"type": "object"}
    picky = await ai.route_request(ask(LONG, json_schema=schema, max_tokens=100))
    assert picky.deployment == "premium"
    assert picky.decision.skipped == {
        "budget": "lacks json",
        "small": "context 1,024 < needed 2,607",
    }
    assert picky.decision.reason == "premium was the only candidate"
    assert picky.json == {"reply": "premium says hello"}
    assert server.calls("premium")[0].body["response_format"]["json_schema"]["schema"] == schema


async def test_order_takes_the_first_usable_one(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "b")
    await deploy(ai, admin, server, "a", enabled=False)
    await deploy(ai, admin, server, "c")
    await ai.save_policy(admin, {"name": "in-order", "strategy": "order",
                                 "deployments": ["a", "c", "b"]})  # fmt: skip
    reply = await ai.route_request(ask(policy="in-order"))
    assert reply.deployment == "c"
    assert reply.decision.skipped == {"a": "disabled"}
    assert reply.decision.reason == "first usable of 2 candidates in the policy's order"


async def test_latency_measures_new_ones_then_prefers_the_fastest(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "slow")
    await deploy(ai, admin, server, "fast")
    await ai.save_policy(admin, {"name": "quick", "strategy": "latency",
                                 "deployments": ["slow", "fast"]})  # fmt: skip
    server.plan("slow", Step(delay=0.08), Step(delay=0.08))
    first = await ai.route_request(ask(policy="quick"))
    second = await ai.route_request(ask(policy="quick"))
    assert (first.deployment, second.deployment) == ("slow", "fast")
    assert "no recent latency yet" in second.decision.reason
    third = await ai.route_request(ask(policy="quick"))
    assert third.deployment == "fast"
    assert third.decision.reason.startswith("fastest of 2 candidates (median ")


async def test_least_busy_avoids_the_deployment_with_calls_in_flight(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a")
    await deploy(ai, admin, server, "b")
    await ai.save_policy(admin, {"name": "spread", "strategy": "least_busy",
                                 "deployments": ["a", "b"]})  # fmt: skip
    server.plan("a", Step(delay=0.3))
    busy = asyncio.create_task(ai.route_request(ask(deployment="a")))
    assert await asyncio.to_thread(server.wait_for_call, "a")
    reply = await ai.route_request(ask(policy="spread"))
    assert reply.deployment == "b"
    assert reply.decision.reason == "least busy of 2 candidates (0 calls in flight)"
    assert (await busy).deployment == "a"


async def test_weighted_shuffle_follows_the_weights(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "big", weight=3)
    await deploy(ai, admin, server, "small", weight=1)
    await deploy(ai, admin, server, "off", weight=0)
    await ai.save_policy(admin, {"name": "w", "strategy": "weighted",
                                 "deployments": ["big", "small", "off"]})  # fmt: skip
    replies = [await ai.route_request(ask(policy="w")) for _ in range(200)]
    counts = Counter(r.deployment for r in replies)
    assert counts["off"] == 0
    assert 0.65 < counts["big"] / 200 < 0.85


# -- a deployment asked for by name -----------------------------------------------------------
async def test_a_named_deployment_and_the_policy_fallbacks_it_may_bring(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a")
    await deploy(ai, admin, server, "b")
    named = await ai.route_request(ask(deployment="b"))
    assert named.deployment == "b"
    assert (named.decision.policy, named.decision.strategy) == (None, None)
    assert named.decision.reason == "asked for by name (b)"
    await ai.save_policy(admin, {"name": "safe", "deployments": ["a"], "fallbacks": ["a"],
                                 "num_retries": 0})  # fmt: skip
    await ai.save_policy(admin, {"name": "safe", "fallbacks": []})
    await ai.save_policy(admin, {"name": "rescue", "deployments": ["b"], "fallbacks": ["a"],
                                 "num_retries": 0})  # fmt: skip
    server.plan("b", Step(status=500))
    rescued = await ai.route_request(ask(deployment="b", policy="rescue"))
    assert rescued.deployment == "a"
    assert [a.outcome for a in rescued.decision.attempts] == ["server_error", "ok"]
    unknown = await refused(ai.route_request(ask(deployment="nope")))
    assert unknown.code is ErrorCode.NOT_FOUND and unknown.details["deployments"] == ["a", "b"]
    no_policy = await refused(ai.route_request(ask(policy="nope")))
    assert no_policy.code is ErrorCode.NOT_FOUND


# -- nothing fits -----------------------------------------------------------------------------
async def test_requests_that_nothing_can_serve_say_why(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    empty = await refused(ai.route_request(ask()))
    assert empty.code is ErrorCode.VALIDATION_ERROR
    assert empty.message == "The policy default has no enabled deployments; add one on the AI page"
    await deploy(ai, admin, server, "plain")
    await ai.save_deployment(admin, {"name": "claude", "provider": "anthropic", "model": "c",
                                     "api_base": server.url})  # fmt: skip
    error = await refused(ai.route_request(ask(capabilities=["vision"])))
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert error.message == (
        "No deployment of policy default can serve this request: claude: no API key; "
        "plain: lacks vision"
    )
    assert error.details["decision"]["skipped"] == {"claude": "no API key", "plain": "lacks vision"}
    assert server.calls() == []


# -- retries ----------------------------------------------------------------------------------
async def test_retry_waits_as_long_as_retry_after_says(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    await deploy(ai, admin, server, "gpt")
    server.plan("gpt", Step(status=429, retry_after="2", message="Rate limit reached"))
    reply = await ai.route_request(ask())
    assert reply.deployment == "gpt"
    assert sleeper.waits == [2.0]
    first, second = reply.decision.attempts
    assert (first.outcome, first.status, first.retry_after_s) == ("rate_limited", 429, 2.0)
    assert "Rate limit reached" in (first.error or "")
    assert second.outcome == "ok"
    assert [c.at for c in server.calls("gpt")][1] - server.calls("gpt")[0].at == 2.0


async def test_retries_back_off_exponentially_then_give_up(
    ai: AIModelOrchestrationService,
    admin: Principal,
    stack: Stack,
    server: ProviderServer,
    sleeper: Sleeper,
) -> None:
    await deploy(ai, admin, server, "gpt")
    server.plan("gpt", Step(status=500), Step(status=502), Step(status=503))
    error = await refused(ai.route_request(ask()))
    assert error.code is ErrorCode.SERVICE_UNAVAILABLE
    assert sleeper.waits == [0.5, 1.0]  # num_retries 2: three attempts in all
    assert error.message.endswith("(after 3 attempts on gpt)")
    outcomes = [a["outcome"] for a in error.details["decision"]["attempts"]]
    assert outcomes == ["server_error"] * 3
    assert error.details["policy"] == "default"
    stack.clock.now += 61  # three failures in a minute were allowed; a fourth would cool it
    server.plan("gpt", Step(status=500))
    assert (await ai.route_request(ask())).decision.attempts[0].status == 500


async def test_timeouts_and_malformed_replies_are_retried(
    stack: Stack, admin: Principal, server: ProviderServer
) -> None:
    # Waiting for retries counts against the request's timeout too: keep the backoff short.
    quick = RetryPolicy(base_delay=0.02, max_delay=0.05, jitter=0.0)
    ai = await started(build(stack, request_timeout=0.2, retry=quick))
    try:
        await deploy(ai, admin, server, "gpt")
        server.plan("gpt", Step(delay=0.6), Step(raw="{nope"))
        reply = await ai.route_request(ask())
        assert [a.outcome for a in reply.decision.attempts] == ["timeout", "bad_response", "ok"]
    finally:
        await ai.cleanup()


async def test_a_refused_key_is_not_retried_but_another_deployment_is_tried(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    await deploy(ai, admin, server, "claude", "anthropic", api_key="wrong", price_input_per_1k=0.1)
    await deploy(ai, admin, server, "gpt", price_input_per_1k=1)
    reply = await ai.route_request(ask())
    assert reply.deployment == "gpt" and sleeper.waits == []
    assert [(a.deployment, a.outcome) for a in reply.decision.attempts] == [
        ("claude", "auth_failed"), ("gpt", "ok"),
    ]  # fmt: skip
    assert reply.decision.skipped == {"claude": "failed: auth_failed"}


async def test_a_bad_request_is_not_held_against_the_deployment(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt")
    await ai.save_policy(admin, {"name": "default", "allowed_fails": 0})
    server.plan("gpt", Step(status=400, message="max_tokens is too large"))
    error = await refused(ai.route_request(ask()))
    assert error.code is ErrorCode.INVALID_INPUT and "max_tokens is too large" in error.message
    (info,) = await ai.list_deployments(admin)
    assert info.state != "cooling_down"


# -- fallbacks --------------------------------------------------------------------------------
async def test_fallback_chain_of_policies_and_deployments(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    for name in ("local", "cloud", "last"):
        await deploy(ai, admin, server, name)
    await ai.save_policy(admin, {"name": "cloud-tier", "deployments": ["cloud"],
                                 "fallbacks": ["last"], "num_retries": 0})  # fmt: skip
    await ai.save_policy(admin, {"name": "local-first", "deployments": ["local"],
                                 "fallbacks": ["cloud-tier"], "num_retries": 1})  # fmt: skip
    server.plan("local", Step(status=500), Step(status=500))
    server.plan("cloud", Step(status=503))
    reply = await ai.route_request(ask(policy="local-first"))
    assert reply.deployment == "last"
    assert [(a.deployment, a.outcome) for a in reply.decision.attempts] == [
        ("local", "server_error"), ("local", "server_error"), ("cloud", "server_error"),
        ("last", "ok"),
    ]  # fmt: skip
    assert sleeper.waits == [0.5]  # the local retry came before falling back
    assert reply.decision.reason == (
        "fallback deployment last: last was the only candidate, after policy local-first "
        "could not answer"
    )
    assert reply.decision.policy == "local-first"


async def test_fallback_loops_are_cut(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a")
    await deploy(ai, admin, server, "b")
    await ai.save_policy(admin, {"name": "pa", "deployments": ["a"], "num_retries": 0})
    await ai.save_policy(admin, {"name": "pb", "deployments": ["b"], "fallbacks": ["pa"],
                                 "num_retries": 0})  # fmt: skip
    await ai.save_policy(admin, {"name": "pa", "fallbacks": ["pb", "a", "b"]})
    server.plan("a", Step(status=500))
    server.plan("b", Step(status=500))
    error = await refused(ai.route_request(ask(policy="pa")))
    assert [a["deployment"] for a in error.details["decision"]["attempts"]] == ["a", "b"]
    assert len(server.calls()) == 2


async def test_a_rate_limited_deployment_sends_the_call_to_the_fallback_at_once(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    await deploy(ai, admin, server, "main")
    await deploy(ai, admin, server, "spare")
    await ai.save_policy(admin, {"name": "p", "deployments": ["main"], "fallbacks": ["spare"]})
    server.plan("main", Step(status=429, retry_after="20"))
    reply = await ai.route_request(ask(policy="p"))
    assert reply.deployment == "spare" and sleeper.waits == []
    assert reply.decision.skipped["main"].startswith("rate limited by its provider until ")
    # Every caller respects the provider's wait, not only the one that was told.
    again = await ai.route_request(ask(policy="p"))
    assert again.deployment == "spare" and len(server.calls("main")) == 1


# -- cooldowns --------------------------------------------------------------------------------
async def test_cooldown_after_allowed_fails_and_its_end(
    ai: AIModelOrchestrationService,
    admin: Principal,
    stack: Stack,
    server: ProviderServer,
) -> None:
    cooling: list[Event] = []
    stack.events.subscribe("ai_deployment_cooling", cooling.append)
    await deploy(ai, admin, server, "flaky", price_input_per_1k=0.1)
    await deploy(ai, admin, server, "steady", price_input_per_1k=1)
    await ai.save_policy(admin, {"name": "default", "allowed_fails": 1, "num_retries": 0,
                                 "cooldown_seconds": 30})  # fmt: skip
    server.plan("flaky", Step(status=500), Step(status=500))
    first = await ai.route_request(ask())
    assert [a.deployment for a in first.decision.attempts] == ["flaky", "steady"]
    assert cooling == []  # one failure is allowed
    second = await ai.route_request(ask())
    assert [a.deployment for a in second.decision.attempts] == ["flaky", "steady"]
    assert [e.payload["deployment"] for e in cooling] == ["flaky"]
    assert cooling[0].payload["until"] == stack.clock.now + 30
    third = await ai.route_request(ask())
    assert third.decision.attempts[0].deployment == "steady"
    assert third.decision.skipped["flaky"].startswith("cooling down until ")
    assert len(server.calls("flaky")) == 2
    stack.clock.now += 31
    fourth = await ai.route_request(ask())
    assert fourth.deployment == "flaky"


async def test_cooldown_zero_never_cools(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt")
    await ai.save_policy(admin, {"name": "default", "allowed_fails": 0, "num_retries": 0,
                                 "cooldown_seconds": 0})  # fmt: skip
    for _ in range(3):
        server.plan("gpt", Step(status=500))
        await refused(ai.route_request(ask()))
    assert (await ai.route_request(ask())).deployment == "gpt"


async def test_a_lone_deployment_cooling_down_is_waited_for_when_it_ends_in_time(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer, sleeper: Sleeper
) -> None:
    await deploy(ai, admin, server, "solo")
    await ai.save_policy(admin, {"name": "default", "allowed_fails": 0, "num_retries": 0,
                                 "cooldown_seconds": 2})  # fmt: skip
    server.plan("solo", Step(status=500))
    await refused(ai.route_request(ask()))
    reply = await ai.route_request(ask())
    assert reply.deployment == "solo" and sleeper.waits == [2.0]
    await ai.save_policy(admin, {"name": "default", "cooldown_seconds": 600})
    server.plan("solo", Step(status=500))
    await refused(ai.route_request(ask()))
    busy = await refused(ai.route_request(ask()))
    assert busy.code is ErrorCode.RATE_LIMITED
    assert busy.message.startswith(
        "No deployment of policy default could take the request within its timeout: "
        "solo: cooling down until "
    )
    assert busy.details["retry_after"] == 600.0
    assert len(server.calls("solo")) == 3


def test_cooling_again_extends_and_old_failures_expire() -> None:
    clock = FakeClock(1000.0)
    book = HealthBook(clock)
    policy = PolicySpec("p", allowed_fails=1, cooldown_seconds=30)
    assert book.failure("x", policy, "boom") is None
    clock.now += 61  # the first failure left the minute window
    assert book.failure("x", policy, "boom") is None
    assert book.failure("x", policy, "boom") == 1091.0
    clock.now += 10
    book.failure("x", policy, "boom")
    assert book.failure("x", policy, "boom") == 1101.0  # later, never sooner
    book.failure("x", PolicySpec("q", allowed_fails=0, cooldown_seconds=5), "boom")
    assert book.ready_at("x") == 1101.0  # a shorter cooldown does not shorten it
    book.success("x", 0.1)
    assert book.state("x").failures == type(book.state("x").failures)()


# -- the request itself -----------------------------------------------------------------------
async def test_json_replies_are_parsed_and_checked(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt", capabilities=["json"])
    schema = {"type": "object", "properties": {"intent": {"type": "string"}},
              "required": ["intent"]}  # fmt: skip
    server.plan("gpt", Step(text='```json\n{"intent": "trade_in"}\n```'))
    reply = await ai.route_request(ask(json_schema=schema))
    assert reply.json == {"intent": "trade_in"}
    server.plan("gpt", Step(text='{"mood": 1}'), Step(text="Sure! Here it is."),
                Step(text='{"intent": "service"}'))  # fmt: skip
    retried = await ai.route_request(ask(json_schema=schema))
    assert retried.json == {"intent": "service"}
    errors = [a.error for a in retried.decision.attempts[:2]]
    assert errors == [
        "gpt replied with JSON that does not match the schema at the reply: "
        "'intent' is a required property",
        "gpt sent a malformed JSON reply (the text is not JSON)",
    ]


async def test_the_request_timeout_option_and_a_model_request_object(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt")
    await ai.save_policy(admin, {"name": "default", "num_retries": 0})
    server.plan("gpt", Step(delay=0.5))
    request = ModelRequest([ChatMessage("user", "hi")], timeout=0.1, cache=False)
    error = await refused(ai.route_request(request))
    assert error.code is ErrorCode.TIMEOUT and error.message == "gpt did not answer within 0.1 s"


@pytest.mark.parametrize("seed", [1, 2])
async def test_fifty_concurrent_requests_with_failures_all_end(
    stack: Stack, admin: Principal, server: ProviderServer, seed: int
) -> None:
    ai = await started(build(stack, rng=random.Random(seed)))
    try:
        for name in ("a", "b", "c"):
            await deploy(ai, admin, server, name)
        await ai.save_policy(admin, {"name": "default", "strategy": "weighted"})
        rng = random.Random(seed)
        for name in ("a", "b", "c"):
            server.plan(name, *(Step(status=rng.choice([200, 500, 429]), retry_after="1")
                                for _ in range(30)))  # fmt: skip
        results = await asyncio.gather(
            *(ai.route_request(ask(f"q{i}")) for i in range(50)), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(r, ServiceError) and "decision" in r.details for r in failed)
        assert len(failed) < 50
        assert all(ai.health_book.in_flight(n) == 0 for n in ("a", "b", "c"))
    finally:
        await ai.cleanup()
