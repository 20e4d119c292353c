"""The catalogue through the service: deployments with their keys in the real keyring,
routing policies, budgets, who may change what, what is audited and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.ai.catalogue import DeploymentSpec, needs_key
from auterity_desktop.services.ai.models import AIDeploymentRow
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.ai.types import ProviderKind, Strategy
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.security.principal import Principal
from tests.services.ai.conftest import build, deploy, started
from tests.services.ai.provider_server import ANTHROPIC_KEY, ProviderServer, Step
from tests.services.conftest import Stack


async def refused(coro: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        await coro
    return info.value


# -- deployments ------------------------------------------------------------------------------
async def test_a_new_service_has_the_default_policy_and_no_deployments(
    ai: AIModelOrchestrationService, admin: Principal
) -> None:
    assert await ai.list_deployments(admin) == []
    (policy,) = await ai.list_policies(admin)
    assert (policy.name, policy.strategy, policy.is_default) == ("default", Strategy.COST, True)
    assert policy.deployments == () and policy.fallbacks == ()
    assert (policy.num_retries, policy.allowed_fails, policy.cooldown_seconds) == (2, 3, 30.0)


async def test_save_deployment_keeps_the_key_in_the_keyring_only(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    seen: list[Event] = []
    stack.events.subscribe("ai_catalogue_changed", seen.append)
    info = await ai.save_deployment(
        admin,
        {"name": "claude", "provider": "anthropic", "model": "claude-haiku-4",
         "api_base": server.url + "/", "price_input_per_1k": 0.0008,
         "price_output_per_1k": 0.004, "context_window": 200_000,
         "capabilities": ["tools", "vision"], "rpm": 50},
        api_key=ANTHROPIC_KEY,
    )  # fmt: skip
    assert info.name == "claude" and info.provider is ProviderKind.ANTHROPIC
    assert info.api_base == server.url  # the trailing slash goes
    assert info.capabilities == ("tools", "vision")
    assert (info.rpm, info.tpm, info.weight, info.enabled) == (50, None, 1.0, True)
    assert info.has_key and (info.status, info.state) == ("never used", "never_used")
    assert await SecretStore().get("ai/claude/api_key") == ANTHROPIC_KEY
    async with stack.database.session() as db:
        row = (await db.execute(select(AIDeploymentRow))).scalar_one()
        assert row.key_ref == "ai/claude/api_key"
        dump = " ".join(
            str(v) for v in (await db.execute(text("SELECT * FROM ai_deployments"))).one()
        )
    assert ANTHROPIC_KEY not in dump
    entries = (await stack.audit.page(AuditFilter(action="ai.deployment_created"))).entries
    assert entries[0].resource == "ai/deployments/claude"
    assert entries[0].details["key_change"] == "set"
    assert ANTHROPIC_KEY not in repr(entries[0].details)
    assert [e.payload for e in seen] == [{"kind": "deployment", "name": "claude"}]


async def test_update_keeps_what_is_left_out_and_rotates_or_removes_the_key(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt", price_input_per_1k=0.5, rpm=10, api_key="sk-1")
    updated = await ai.save_deployment(admin, {"name": "gpt", "price_output_per_1k": 1.5})
    assert (updated.price_input_per_1k, updated.price_output_per_1k, updated.rpm) == (0.5, 1.5, 10)
    assert updated.has_key and await SecretStore().get("ai/gpt/api_key") == "sk-1"
    # A key inside the spec works like the argument (the deployment form sends it so).
    await ai.save_deployment(admin, {"name": "gpt", "api_key": "sk-2", "rpm": None})
    assert await SecretStore().get("ai/gpt/api_key") == "sk-2"
    removed = await ai.save_deployment(admin, {"name": "gpt"}, api_key="")
    assert not removed.has_key and removed.rpm is None
    assert await SecretStore().get("ai/gpt/api_key") is None
    entries = (await stack.audit.page(AuditFilter(action="ai.deployment_updated"))).entries
    assert [e.details["key_change"] for e in entries] == ["removed", "set", "kept"]
    assert entries[-1].details["fields"] == ["price_output_per_1k"]


async def test_delete_deployment_removes_its_key_and_its_place_in_policies(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a", api_key="sk-a")
    await deploy(ai, admin, server, "b")
    await ai.save_policy(admin, {"name": "pair", "deployments": ["a", "b"], "fallbacks": ["a"]})
    await ai.save_policy(admin, {"name": "only-a", "deployments": ["a"]})
    error = await refused(ai.delete_deployment(admin, "a"))
    assert error.code is ErrorCode.CONFLICT and error.details["policies"] == ["only-a"]
    await ai.delete_policy(admin, "only-a")
    await ai.delete_deployment(admin, "a")
    assert [d.name for d in await ai.list_deployments(admin)] == ["b"]
    pair = next(p for p in await ai.list_policies(admin) if p.name == "pair")
    assert (pair.deployments, pair.fallbacks) == (("b",), ())
    assert await SecretStore().get("ai/a/api_key") is None
    entry = (await stack.audit.page(AuditFilter(action="ai.deployment_deleted"))).entries[0]
    assert entry.details == {"key_removed": True, "removed_from_policies": ["pair"]}
    assert (await refused(ai.delete_deployment(admin, "a"))).code is ErrorCode.NOT_FOUND


async def test_deployment_forms_are_checked_field_by_field(
    ai: AIModelOrchestrationService, admin: Principal
) -> None:
    error = await refused(
        ai.save_deployment(
            admin,
            {
                "name": "bad name!",
                "provider": "cohere",
                "model": "",
                "api_base": "ftp://x",
                "price_input_per_1k": -1,
                "context_window": 10,
                "capabilities": ["telepathy"],
                "weight": "heavy",
                "enabled": "yes",
            },
        )
    )
    assert error.code is ErrorCode.VALIDATION_ERROR
    fields = [p["field"] for p in error.details["problems"]]
    assert fields == ["name", "provider", "model", "api_base", "price_input_per_1k",
                      "context_window", "weight", "capabilities", "enabled"]  # fmt: skip
    assert error.details["field"] == "name"
    unknown = await refused(ai.save_deployment(admin, {"name": "x", "temperature": 1}))
    assert unknown.code is ErrorCode.INVALID_INPUT and unknown.details["field"] == "temperature"
    assert (await refused(ai.save_deployment(admin, ["x"]))).code is ErrorCode.INVALID_INPUT  # type: ignore[arg-type]
    missing = await refused(ai.save_deployment(admin, {"name": "x"}))
    assert {p["field"] for p in missing.details["problems"]} == {"provider", "model", "api_base"}


async def test_defaults_per_provider(ai: AIModelOrchestrationService, admin: Principal) -> None:
    info = await ai.save_deployment(
        admin, {"name": "local", "provider": "ollama", "model": "llama3.2:3b"}
    )
    assert info.api_base == "http://localhost:11434"
    assert (info.context_window, info.max_output_tokens, info.price_input_per_1k) == (8192, 1024, 0)
    assert info.status == "never used"  # Ollama needs no key
    cloud = await ai.save_deployment(
        admin, {"name": "cloud", "provider": "openai", "model": "gpt-4o"}
    )
    assert cloud.api_base == "https://api.openai.com/v1"
    assert (cloud.status, cloud.state) == ("no API key", "no_key")


def test_which_deployments_need_a_key() -> None:
    def spec(provider: str, base: str) -> DeploymentSpec:
        return DeploymentSpec("x", ProviderKind(provider), "m", base)

    assert needs_key(spec("anthropic", "http://127.0.0.1:1"))
    assert needs_key(spec("openai", "https://api.openai.com/v1"))
    assert not needs_key(spec("openai", "http://127.0.0.1:8000/v1"))
    assert not needs_key(spec("openai", "http://192.168.1.20:1234/v1"))
    assert not needs_key(spec("openai", "http://lmstudio.local:1234/v1"))
    assert not needs_key(spec("ollama", "https://ollama.example.com"))


async def test_names_are_shared_between_policies_and_deployments(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "fast")
    assert (await refused(ai.save_policy(admin, {"name": "fast"}))).code is ErrorCode.CONFLICT
    assert (await refused(deploy(ai, admin, server, "default"))).code is ErrorCode.CONFLICT


# -- policies ---------------------------------------------------------------------------------
async def test_policies_are_checked_against_the_catalogue(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "a")
    await deploy(ai, admin, server, "b")
    saved = await ai.save_policy(
        admin,
        {"name": "cheap-first", "strategy": "cost", "deployments": ["a", "b"],
         "fallbacks": ["default"], "num_retries": 1, "allowed_fails": 0,
         "cooldown_seconds": 0, "description": "Local, then the cloud"},
    )  # fmt: skip
    assert (saved.strategy, saved.deployments, saved.fallbacks) == (
        Strategy.COST,
        ("a", "b"),
        ("default",),
    )
    assert (saved.num_retries, saved.allowed_fails, saved.cooldown_seconds) == (1, 0, 0.0)
    changed = await ai.save_policy(admin, {"name": "cheap-first", "strategy": "latency"})
    assert changed.deployments == ("a", "b") and changed.strategy is Strategy.LATENCY
    error = await refused(
        ai.save_policy(
            admin,
            {
                "name": "x",
                "strategy": "fastest",
                "deployments": ["a", "nope"],
                "fallbacks": ["x", "ghost"],
                "num_retries": 99,
                "cooldown_seconds": -1,
            },
        )
    )
    messages = [p["message"] for p in error.details["problems"]]
    assert messages == [
        "The strategy must be one of cost, latency, least_busy, weighted, order",
        "No deployment called nope",
        "A policy cannot fall back to itself",
        "No policy or deployment called x, ghost",
        "Retries must be from 0 to 10",
        "The cooldown must be from 0 to 86400",
    ]
    unknown = await refused(ai.save_policy(admin, {"name": "x", "retries": 2}))
    assert unknown.code is ErrorCode.INVALID_INPUT and "num_retries" in unknown.details["known"]
    default = await refused(ai.delete_policy(admin, "default"))
    assert default.code is ErrorCode.CONFLICT
    await ai.save_policy(admin, {"name": "other", "fallbacks": ["cheap-first"]})
    await ai.delete_policy(admin, "cheap-first")
    other = next(p for p in await ai.list_policies(admin) if p.name == "other")
    assert other.fallbacks == ()
    actions = [
        e.action
        for e in (await stack.audit.page(AuditFilter())).entries
        if e.resource.startswith("ai/policies/")
    ]
    assert actions == ["ai.policy_deleted", "ai.policy_created", "ai.policy_updated",
                       "ai.policy_created"]  # fmt: skip


# -- budgets ----------------------------------------------------------------------------------
async def test_budgets_by_scope_and_period(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt")
    day = await ai.save_budget(admin, {"scope": "global", "period": "day", "limit": 5})
    assert (day.scope, day.period, day.limit, day.spent, day.remaining) == (
        "global",
        "day",
        5.0,
        0.0,
        5.0,
    )
    assert day.label == "the global daily budget"
    assert day.resets_at - day.period_start == 86400
    month = await ai.save_budget(admin, {"scope": "deployment:gpt", "period": "month", "limit": 50})
    assert month.label == "the monthly budget of deployment gpt"
    await ai.save_budget(admin, {"scope": "workflow:wf-42", "period": "day", "limit": 1})
    clash = await refused(ai.save_budget(admin, {"scope": "global", "period": "day", "limit": 9}))
    assert clash.code is ErrorCode.CONFLICT
    raised = await ai.save_budget(admin, {"id": day.id, "limit": 7.5})
    assert (raised.id, raised.limit, raised.scope) == (day.id, 7.5, "global")
    listed = await ai.list_budgets(admin)
    assert sorted(b.scope for b in listed) == ["deployment:gpt", "global", "workflow:wf-42"]
    bad = await refused(ai.save_budget(admin, {"scope": "team:x", "period": "week", "limit": 0}))
    assert [p["field"] for p in bad.details["problems"]] == ["scope", "period", "limit"]
    ghost = await refused(
        ai.save_budget(admin, {"scope": "deployment:ghost", "period": "day", "limit": 1})
    )
    assert ghost.details["problems"][0]["message"] == "No deployment called ghost"
    assert (
        await refused(ai.save_budget(admin, {"id": "nope", "limit": 1}))
    ).code is ErrorCode.NOT_FOUND
    await ai.delete_budget(admin, month.id)
    assert len(await ai.list_budgets(admin)) == 2
    assert (await refused(ai.delete_budget(admin, month.id))).code is ErrorCode.NOT_FOUND
    entries = [
        e
        for e in (await stack.audit.page(AuditFilter())).entries
        if e.action.startswith("ai.budget")
    ]
    assert entries[0].action == "ai.budget_deleted" and entries[0].details == {
        "scope": "deployment:gpt"
    }


# -- who may do what --------------------------------------------------------------------------
async def test_roles(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt")
    viewer = await stack.user("vic", "viewer")
    operator = await stack.user("olga", "operator")
    assert [d.name for d in await ai.list_deployments(viewer)] == ["gpt"]
    assert await ai.usage(viewer, 0, 1) == []
    for call in (
        ai.save_deployment(viewer, {"name": "x"}),
        ai.chat(viewer, {"prompt": "hi"}),
        ai.delete_deployment(operator, "gpt"),
        ai.save_policy(operator, {"name": "p"}),
        ai.save_budget(operator, {"scope": "global", "period": "day", "limit": 1}),
    ):
        assert (await refused(call)).code is ErrorCode.UNAUTHORIZED
    with pytest.raises(ServiceError) as info:
        async for _ in ai.chat_stream(viewer, {"prompt": "hi"}):
            pass
    assert info.value.code is ErrorCode.UNAUTHORIZED
    assert server.calls() == []  # refused before anything was sent
    reply = await ai.chat(operator, {"prompt": "hi", "purpose": "playground"})
    assert reply.text == "gpt says: hi"
    denied = (await stack.audit.page(AuditFilter(action="authorization.denied"))).entries
    assert len(denied) == 6
    with pytest.raises(ServiceError) as anonymous:
        await ai.chat("someone", {"prompt": "hi"})  # type: ignore[arg-type]
    assert anonymous.value.code is ErrorCode.UNAUTHENTICATED


# -- testing and local models -----------------------------------------------------------------
async def test_test_deployment_reports_success_and_failure(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "claude", "anthropic", price_input_per_1k=1.0)
    ok = await ai.test_deployment(admin, "claude")
    assert ok.ok and ok.reply == "claude says: Reply with the single word OK."
    assert ok.model == "claude" and ok.latency_s is not None and ok.cost > 0
    assert server.calls("claude")[0].body["max_tokens"] == 16
    await ai.save_deployment(admin, {"name": "claude"}, api_key="wrong")
    bad = await ai.test_deployment(admin, "claude")
    assert not bad.ok and bad.error_code == "CONFIG_INVALID"
    assert bad.error == "claude was refused with HTTP 401: invalid x-api-key"
    (info,) = await ai.list_deployments(admin)
    assert info.state == "failing" and "invalid x-api-key" in info.status
    outcomes = [
        e.outcome
        for e in (await stack.audit.page(AuditFilter(action="ai.deployment_tested"))).entries
    ]
    assert outcomes == ["failure", "success"]
    assert (await refused(ai.test_deployment(admin, "nope"))).code is ErrorCode.NOT_FOUND


async def test_a_good_test_ends_a_cooldown(
    ai: AIModelOrchestrationService, admin: Principal, server: ProviderServer
) -> None:
    await deploy(ai, admin, server, "gpt")
    await ai.save_policy(admin, {"name": "default", "allowed_fails": 0, "num_retries": 0})
    server.plan("gpt", Step(status=500))
    with pytest.raises(ServiceError):
        await ai.route_request({"prompt": "hi"})
    (info,) = await ai.list_deployments(admin)
    assert info.state == "cooling_down" and info.status.startswith("cooling down until ")
    assert (await ai.test_deployment(admin, "gpt")).ok
    (info,) = await ai.list_deployments(admin)
    assert (info.state, info.status) == ("ready", "ready")


async def test_list_local_models(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    assert await ai.list_local_models(admin, server.url) == ["llama3.2:3b", "qwen2.5:7b"]
    bad = await refused(ai.list_local_models(admin, "not a url"))
    assert bad.code is ErrorCode.VALIDATION_ERROR and bad.details["field"] == "api_base"
    viewer = await stack.user("vic", "viewer")
    assert (await refused(ai.list_local_models(viewer, server.url))).code is ErrorCode.UNAUTHORIZED


async def test_a_second_console_sees_the_catalogue(
    ai: AIModelOrchestrationService, admin: Principal, stack: Stack, server: ProviderServer
) -> None:
    other = await started(build(stack))
    try:
        await deploy(ai, admin, server, "gpt")
        assert [d.name for d in await other.list_deployments(admin)] == ["gpt"]
        assert (await other.route_request({"prompt": "hi"})).deployment == "gpt"
    finally:
        await other.cleanup()
