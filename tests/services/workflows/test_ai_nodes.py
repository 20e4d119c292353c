"""AI workflow nodes run by the real engine: the prompt node through the real orchestration
service to a loopback OpenAI-compatible server (templating, accounting, JSON output checked
against a schema and repaired once), and the real cognitive engine's offline intent,
entities, sentiment, summary, ranking and optimisation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.secret_store import SecretStore
from auterity_desktop.services.ai.cognitive.engine import CognitiveEngine
from auterity_desktop.services.ai.models import AIRequestRow
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.compliance.policies import DEFAULT_POLICIES, evaluate
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.document import parse_document
from auterity_desktop.services.workflows.engine import WorkflowEngine
from auterity_desktop.services.workflows.validation import validate
from tests.services.conftest import Stack
from tests.services.workflows.conftest import T, new_engine, wf
from tests.services.workflows.llm_server import (
    COMPLETION_TOKENS,
    PROMPT_TOKENS,
    LLMServer,
    llm_server,
)

PRICE_IN, PRICE_OUT = 0.5, 1.5  # per 1k tokens
LEAD_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "budget": {"type": "number"},
        "intent": {"enum": ["test_drive", "trade_in", "service"]},
    },
    "required": ["name", "budget", "intent"],
    "additionalProperties": False,
}


@dataclass
class World:
    stack: Stack
    engine: WorkflowEngine
    ai: AIModelOrchestrationService
    cognitive: CognitiveEngine
    llm: LLMServer

    async def run(self, document: dict[str, Any], params: dict[str, Any] | None = None) -> Any:
        admin = await self.stack.admin()
        saved = await self.engine.store.create(admin, document)
        run_id = await self.engine.execute_workflow(admin, saved.id, params or {})
        status = await self.engine.wait(run_id)
        status["workflow_id"] = saved.id
        return status


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with llm_server() as running:
        yield running


@pytest.fixture
async def world(stack: Stack, llm: LLMServer) -> AsyncIterator[World]:
    ai = AIModelOrchestrationService(
        stack.database, stack.audit, stack.security.authz, SecretStore(), stack.events,
        MetricsCollector(), request_timeout=10.0, sync_interval=0, log_delay=0.05,
    )  # fmt: skip
    await ai.initialize()
    ai._mark_started(True)
    cognitive = CognitiveEngine(stack.database, stack.audit, stack.security.authz, ai)
    await cognitive.initialize()
    cognitive._mark_started(True)
    engine = new_engine(stack)
    engine.services["ai"] = ai  # as the platform wires them
    engine.services["cognitive"] = cognitive
    await engine.initialize()
    admin = await stack.admin()
    await ai.save_deployment(
        admin,
        {"name": "local-gpt", "provider": "openai", "model": "gpt-test", "api_base": llm.url,
         "price_input_per_1k": PRICE_IN, "price_output_per_1k": PRICE_OUT,
         "capabilities": ["json"]},
    )  # fmt: skip
    yield World(stack, engine, ai, cognitive, llm)
    await engine.cleanup()
    await cognitive.cleanup()
    await ai.cleanup()


def output(status: dict[str, Any], node: str) -> Any:
    assert status["nodes"][node]["status"] == "succeeded", status["nodes"][node]["error"]
    return status["nodes"][node]["output"]["main"]


def prompt_node(**params: Any) -> dict[str, Any]:
    return {"id": "ask", "type": "ai_prompt", "params": {"deployment": "local-gpt", **params}}


# -- the prompt node ---------------------------------------------------------------------------
async def test_prompt_is_templated_sent_and_accounted(world: World) -> None:
    doc = wf(
        T,
        prompt_node(
            prompt="Thank {{ $input.customer.name }} for buying a {{ $params.car }}.",
            system="You write for Riverside Motors.",
            max_tokens=200,
            temperature=0.2,
        ),
        edges=[("t", "ask")],
    )
    status = await world.run(doc, {"customer": {"name": "Mara Lopez"}, "car": "Tiguan"})
    assert status["status"] == "succeeded", status["error"]
    result = output(status, "ask")
    assert result["text"] == "echo: Thank Mara Lopez for buying a Tiguan."
    assert (result["deployment"], result["model"], result["cached"]) == (
        "local-gpt",
        "gpt-test",
        False,
    )
    assert result["usage"] == {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS}
    expected_cost = PROMPT_TOKENS / 1000 * PRICE_IN + COMPLETION_TOKENS / 1000 * PRICE_OUT
    assert result["cost"] == pytest.approx(expected_cost)
    assert result["latency_s"] > 0
    assert result["decision"]["chosen"] == "local-gpt"
    assert "json" not in result  # no schema asked for
    [sent] = world.llm.requests
    assert sent["messages"] == [
        {"role": "system", "content": "You write for Riverside Motors."},
        {"role": "user", "content": "Thank Mara Lopez for buying a Tiguan."},
    ]
    assert (sent["max_tokens"], sent["temperature"]) == (200, 0.2)
    # the request is booked to the workflow and the run, for budgets and usage reports
    await world.ai.log.flush()
    async with world.stack.database.session() as db:
        [row] = (await db.execute(select(AIRequestRow))).scalars().all()
    assert (row.workflow_id, row.run_id, row.purpose) == (
        status["workflow_id"],
        status["run_id"],
        "workflow",
    )


async def test_json_output_is_checked_and_repaired_once(world: World) -> None:
    world.llm.replies = [
        '{"name": "Mara", "budget": "about 30k"}',  # a string budget and no intent
        '```json\n{"name": "Mara", "budget": 30000, "intent": "test_drive"}\n```',
    ]
    doc = wf(
        T,
        prompt_node(prompt="Read this lead: {{ $params.note }}", json_schema=LEAD_SCHEMA),
        {"id": "budget", "type": "condition",
         "params": {"condition": "{{ $input.json.budget >= 25000 }}"}},
        {"id": "big", "type": "log"},
        edges=[("t", "ask"), ("ask", "budget"), ("budget", "big", "true")],
    )  # fmt: skip
    status = await world.run(doc, {"note": "Mara wants to test drive an SUV, budget ~30k"})
    assert status["status"] == "succeeded", status["error"]
    result = output(status, "ask")
    assert result["json"] == {"name": "Mara", "budget": 30000, "intent": "test_drive"}
    assert result["repaired"] is True
    assert result["usage"] == {
        "input_tokens": 2 * PROMPT_TOKENS,
        "output_tokens": 2 * COMPLETION_TOKENS,
    }
    assert status["nodes"]["big"]["status"] == "succeeded"  # later nodes read the JSON
    first, repair = world.llm.requests
    assert '"required": ["name", "budget", "intent"]' in first["messages"][0]["content"]
    assert first["messages"][-1]["content"] == (
        "Read this lead: Mara wants to test drive an SUV, budget ~30k"
    )
    # the repair shows the model its own reply and exactly what is wrong with it
    assert repair["messages"][:2] == first["messages"]
    assert repair["messages"][2] == {
        "role": "assistant",
        "content": '{"name": "Mara", "budget": "about 30k"}',
    }
    errors = repair["messages"][3]["content"]
    assert "budget: 'about 30k' is not of type 'number'" in errors
    assert "(root): 'intent' is a required property" in errors


async def test_json_still_invalid_after_the_repair_fails_the_node(world: World) -> None:
    world.llm.replies = ["Sure! The lead is Mara.", '{"name": "Mara", "budget": 1, "vip": true}']
    doc = wf(
        T,
        prompt_node(prompt="Read this lead: {{ $params.note }}", json_schema=LEAD_SCHEMA),
        edges=[("t", "ask")],
    )
    status = await world.run(doc, {"note": "Mara, VIP"})
    assert status["status"] == "failed"
    error = status["nodes"]["ask"]["error"]
    assert "does not match the JSON Schema, even after one repair attempt" in error
    assert "'intent' is a required property" in error
    assert "Additional properties are not allowed ('vip' was unexpected)" in error
    assert len(world.llm.requests) == 2  # one repair, not more
    assert "the reply is not JSON" in world.llm.requests[1]["messages"][-1]["content"]


# -- cognitive nodes ---------------------------------------------------------------------------
INBOX = {
    "test_drive": "Hello, I'd love to test drive the new Tiguan this Saturday morning if a car "
    "is free. Thanks, Mara",
    "book_service": "My Golf is due for its oil change and inspection, can you book it in for "
    "service next week?",
}


async def test_classified_email_branches_through_a_switch(world: World) -> None:
    doc = wf(
        T,
        {"id": "intent", "type": "ai_classify", "params": {"text": "{{ $params.body }}"}},
        {"id": "route", "type": "switch",
         "params": {"value": "{{ $input.intent }}", "cases": ["test_drive", "book_service"]}},
        {"id": "sales", "type": "log"},
        {"id": "workshop", "type": "log"},
        {"id": "inbox", "type": "log"},
        edges=[("t", "intent"), ("intent", "route"), ("route", "sales", "case_0"),
               ("route", "workshop", "case_1"), ("route", "inbox", "default")],
    )  # fmt: skip
    for expected, branch in (("test_drive", "sales"), ("book_service", "workshop")):
        status = await world.run(doc, {"body": INBOX[expected]})
        assert status["status"] == "succeeded", status["error"]
        result = output(status, "intent")
        assert result["intent"] == expected
        assert result["via"] == "local"
        assert 0 < result["confidence"] <= 1
        assert result["scores"][expected] == result["confidence"]
        nodes = status["nodes"]
        taken = {n for n in ("sales", "workshop", "inbox") if nodes[n]["status"] == "succeeded"}
        assert taken == {branch}
    assert world.llm.requests == []  # offline


async def test_entities_sentiment_and_summary(world: World) -> None:
    email = (
        "Hi, this is Mara Lopez. The service team was fantastic last time, thank you! "
        "Could I bring my car, VIN 1HGCM82633A004352, in tomorrow at 9:30? "
        "You can reach me at mara@example.com. The quote said $1,250 for the brakes. "
        "Please call if anything changes."
    )
    doc = wf(
        T,
        {"id": "all", "type": "ai_extract",
         "params": {"text": "{{ $params.email }}", "reference_date": "2026-03-10"}},
        {"id": "some", "type": "ai_extract",
         "params": {"text": "{{ $params.email }}", "kinds": ["vin", "email"]}},
        {"id": "mood", "type": "ai_sentiment", "params": {"text": "{{ $params.email }}"}},
        {"id": "short", "type": "ai_summarize",
         "params": {"text": "{{ $params.email }}", "sentences": 2}},
        edges=[("t", "all"), ("t", "some"), ("t", "mood"), ("t", "short")],
    )  # fmt: skip
    status = await world.run(doc, {"email": email})
    assert status["status"] == "succeeded", status["error"]
    found = output(status, "all")
    assert found["by_kind"]["vin"] == ["1HGCM82633A004352"]
    assert found["by_kind"]["email"] == ["mara@example.com"]
    assert found["by_kind"]["date"] == ["2026-03-11"]  # tomorrow, from the reference date
    assert found["by_kind"]["time"] == ["09:30"]
    assert found["by_kind"]["money"] == [{"amount": 1250, "currency": "USD"}]
    vin = next(e for e in found["entities"] if e["kind"] == "vin")
    assert email[vin["start"] : vin["end"]] == vin["text"]
    some = output(status, "some")
    assert set(some["by_kind"]) == {"vin", "email"}
    assert {e["kind"] for e in some["entities"]} == {"vin", "email"}
    mood = output(status, "mood")
    assert (mood["label"], mood["via"]) == ("positive", "local")
    assert 0 < mood["score"] <= 1
    short = output(status, "short")
    assert len(short["sentences"]) == 2
    assert short["summary"] == " ".join(short["sentences"])
    assert all(s in email for s in short["sentences"])
    assert short["via"] == "local"


async def test_cognitive_node_can_ask_a_model_instead(world: World) -> None:
    world.llm.replies = ['{"label": "negative", "score": -0.7}']
    doc = wf(
        T,
        {"id": "mood", "type": "ai_sentiment",
         "params": {"text": "{{ $params.text }}", "use_llm": "local-gpt"}},
        edges=[("t", "mood")],
    )  # fmt: skip
    status = await world.run(doc, {"text": "Third time the same rattle. Not happy."})
    assert output(status, "mood") == {"label": "negative", "score": -0.7, "via": "local-gpt"}
    assert "Not happy." in str(world.llm.requests[0]["messages"])


# -- decisions ---------------------------------------------------------------------------------
CARS = [
    {"vin": "WVW1", "price": 31_900, "mpg": 30},
    {"vin": "WVW2", "price": 24_500, "mpg": 34},
    {"vin": "WVW3", "price": 41_000, "mpg": 40},
]
CRITERIA = [
    {"name": "price", "weight": 2, "goal": "min", "max": 35_000},
    {"name": "mpg", "weight": 1, "goal": "max"},
]


async def test_rank_picks_the_best_option(world: World) -> None:
    doc = wf(
        T,
        {"id": "pick", "type": "ai_decide",
         "params": {"mode": "rank", "options": "{{ $params.cars }}", "criteria": CRITERIA}},
        {"id": "offer", "type": "set_fields",
         "params": {"fields": {"vin": "{{ $input.best.vin }}"}, "keep_input": False}},
        edges=[("t", "pick"), ("pick", "offer")],
    )  # fmt: skip
    status = await world.run(doc, {"cars": CARS})
    assert status["status"] == "succeeded", status["error"]
    picked = output(status, "pick")
    assert picked["best"] == CARS[1]
    assert picked["best_score"] == pytest.approx(1.0)
    assert [r["option"]["vin"] for r in picked["ranked"]] == ["WVW2", "WVW1", "WVW3"]
    assert [r["rank"] for r in picked["ranked"]] == [1, 2, None]
    assert picked["ranked"][2]["reasons"] == ["price 41000 is above the maximum 35000"]
    assert picked["excluded"] == 1
    assert output(status, "offer") == {"vin": "WVW2"}

    none_fit = await world.run(doc, {"cars": [CARS[2]]})
    assert none_fit["status"] == "failed"
    assert "no option meets the criteria's limits" in none_fit["nodes"]["pick"]["error"]


def stock_problem(suv_commitment: int) -> dict[str, Any]:
    """Which cars to put on a lot with 30 spaces (an SUV takes 1.5)."""
    return {
        "sense": "max",
        "variables": [
            {"name": "sedans", "type": "integer"},
            {"name": "suvs", "type": "integer"},
        ],
        "objective": {"sedans": 1000, "suvs": 1800},
        "constraints": [
            {"name": "lot_space", "terms": {"sedans": 1, "suvs": 1.5}, "op": "<=", "rhs": 30},
            {"name": "suv_commitment", "terms": {"suvs": 1}, "op": ">=", "rhs": suv_commitment},
        ],
    }


async def test_optimise_and_an_infeasible_problem_on_the_error_route(world: World) -> None:
    doc = wf(
        T,
        {"id": "plan", "type": "ai_decide", "on_error": "route",
         "params": {"mode": "optimise", "problem": "{{ $params.problem }}"}},
        {"id": "stock", "type": "log"},
        {"id": "escalate", "type": "error_handler"},
        edges=[("t", "plan"), ("plan", "stock"), ("plan", "escalate", "error")],
    )  # fmt: skip
    status = await world.run(doc, {"problem": stock_problem(10)})
    assert status["status"] == "succeeded", status["error"]
    plan = output(status, "plan")
    assert (plan["status"], plan["values"], plan["objective"]) == (
        "optimal",
        {"sedans": 0, "suvs": 20},
        pytest.approx(36_000),
    )
    assert status["nodes"]["escalate"]["status"] != "succeeded"

    infeasible = await world.run(doc, {"problem": stock_problem(25)})
    assert infeasible["status"] == "succeeded", infeasible["error"]  # the route handled it
    assert infeasible["nodes"]["stock"]["status"] != "succeeded"
    routed = output(infeasible, "escalate")
    assert "No solution satisfies every constraint" in routed["error"]
    report = routed["details"]["infeasibility"]
    assert sorted(report["conflict"]) == ["lot_space", "suv_commitment"]
    assert report["conflict_is_minimal"] is True
    assert report["total_violation"] > 0
    assert routed["details"]["status"] == "infeasible"


# -- design-time checks ------------------------------------------------------------------------
def test_validator_checks_the_ai_parameters() -> None:
    doc = parse_document(
        wf(
            T,
            {"id": "a", "type": "ai_prompt", "params": {"json_schema": ["name"]}},
            {"id": "b", "type": "ai_prompt",
             "params": {"prompt": "x", "json_schema": {"type": "banana"}, "temperature": 3}},
            {"id": "c", "type": "ai_prompt",
             "params": {"prompt": "x", "json_schema": "{{ $params.schema }}"}},
            {"id": "d", "type": "ai_extract",
             "params": {"text": "x", "kinds": ["vin", "shoe_size"], "reference_date": "soon"}},
            {"id": "e", "type": "ai_decide", "params": {"mode": "guess", "options": {"a": 1}}},
            {"id": "f", "type": "ai_summarize", "params": {"text": "x", "sentences": 0}},
            edges=[("t", n) for n in "abcdef"],
        )
    )  # fmt: skip
    problems = {(p.node_id, p.param, p.message) for p in validate(doc, builtin_registry())}
    assert problems == {
        ("a", "prompt", "prompt is required"),
        ("a", "json_schema", "json_schema must be an object, not list"),
        ("b", "json_schema",
         "json_schema not a valid JSON Schema: 'banana' is not valid under any of the given "
         "schemas"),
        ("b", "temperature", "temperature must be at most 2"),
        ("c", "json_schema", "json_schema cannot be an expression"),
        ("d", "kinds",
         "kinds has unknown kinds shoe_size; known: email, vin, money, date, time, phone, "
         "stock_number, plate"),
        ("d", "reference_date", "reference_date 'soon' is not a date such as 2026-03-31"),
        ("e", "mode", "mode must be one of rank, optimise"),
        ("e", "options", "options must be a list, not dict"),
        ("f", "sentences", "sentences must be at least 1"),
    }  # fmt: skip


def test_ai_nodes_are_in_the_registry_under_ai() -> None:
    registry = builtin_registry()
    assert [t.type for t in registry.categories()["AI"]] == [
        "ai_prompt", "ai_classify", "ai_extract", "ai_sentiment", "ai_summarize", "ai_decide",
    ]  # fmt: skip


def test_personal_data_in_a_prompt_breaks_the_egress_policy() -> None:
    [policy] = [p for p in DEFAULT_POLICIES if p.id == "no-personal-data-egress"]
    doc = wf(
        T,
        prompt_node(prompt="Write to {{ $input.phone }} about the recall."),
        {"id": "mood", "type": "ai_sentiment", "params": {"text": "{{ $input.phone }}"}},
        edges=[("t", "ask"), ("t", "mood")],
    )
    violations = evaluate(policy, {**doc, "personal_fields": ["phone"]})
    assert [(v.node_id, v.message) for v in violations] == [
        ("ask", "Node ask sends personal data outside: phone")  # offline analysis stays in
    ]
