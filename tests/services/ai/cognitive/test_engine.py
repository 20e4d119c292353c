"""The cognitive engine as a service: the four analyses, intent sets stored in the
database (trained, listed, shared between consoles, deleted), who may do what, every bad
input, metrics, the pass-throughs to patterns and optimisation, and the migration."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.core.metrics import MetricsCollector
from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models
from auterity_desktop.services.ai.cognitive.engine import REQUESTS_TOTAL, CognitiveEngine
from auterity_desktop.services.ai.cognitive.intent import UNKNOWN
from auterity_desktop.services.ai.cognitive.text import MAX_TEXT_CHARS
from auterity_desktop.services.ai.orchestration import AIModelOrchestrationService
from auterity_desktop.services.compliance.audit_trail import AuditFilter
from auterity_desktop.services.security.principal import SYSTEM
from tests.services.ai.cognitive.conftest import REFERENCE
from tests.services.conftest import Stack

LEADS = {
    "new_lead": [
        "I'm interested in buying a new car",
        "Please have a salesperson contact me about the Camry",
        "I saw your ad and want more information",
        "Looking to purchase an SUV this month",
    ],
    "existing_customer": [
        "I bought my car from you last year",
        "I'm already a customer, question about my purchase",
        "My salesperson was Mike, I bought the Tacoma from him",
        "I purchased here in 2022 and have a question",
    ],
    "spam": [
        "Cheap SEO services for your website",
        "Buy followers now, limited offer",
        "Congratulations you won a prize, click here",
        "We can rank your site first on Google",
    ],
}


async def test_the_four_analyses(cognitive: CognitiveEngine) -> None:
    intent = await cognitive.classify_intent("Can I take the new RAV4 for a test drive Saturday?")
    assert (intent.intent, intent.via) == ("test_drive", "local")
    entities = await cognitive.extract_entities(
        "Call me at (312) 555-0142 tomorrow after 5pm", reference_date=REFERENCE
    )
    assert [(e.kind, e.value) for e in entities] == [
        ("phone", "+13125550142"), ("date", "2026-03-11"), ("time", "17:00")
    ]  # fmt: skip
    sentiment = await cognitive.analyze_sentiment("Thanks, the service was excellent!")
    assert (sentiment.label, sentiment.via) == ("positive", "local")
    summary = await cognitive.summarize(
        "The car is ready. It needed new brake pads and rotors. The bill is $489. "
        "Pick-up is until 6 pm. The weather is nice.",
        sentences=2,
    )
    assert summary.via == "local" and len(summary.sentences) == 2


async def test_reference_date_defaults_to_today_and_locale_can_change(
    cognitive: CognitiveEngine, stack: Stack
) -> None:
    today = datetime.fromtimestamp(stack.clock()).date()
    (entity,) = await cognitive.extract_entities("see you tomorrow")
    assert entity.value == date.fromordinal(today.toordinal() + 1).isoformat()
    (us,) = await cognitive.extract_entities("on 03/04/2026", reference_date=REFERENCE)
    (gb,) = await cognitive.extract_entities("on 03/04/2026", reference_date=REFERENCE, locale="GB")
    assert (us.value, gb.value) == ("2026-03-04", "2026-04-03")
    moment = datetime(2026, 3, 10, 15, 30)
    (entity,) = await cognitive.extract_entities("tomorrow", reference_date=moment)
    assert entity.value == "2026-03-11"


async def test_train_list_use_and_delete_an_intent_set(
    cognitive: CognitiveEngine, stack: Stack
) -> None:
    admin = await stack.admin()
    seen: list[Event] = []
    stack.events.subscribe("intent_set_trained", seen.append)
    stack.events.subscribe("intent_set_deleted", seen.append)
    info = await cognitive.train_intents(admin, "leads", LEADS)
    assert info.name == "leads" and not info.builtin and not info.replaces_builtin
    assert info.intents == list(LEADS)
    assert info.examples == 12 and info.per_intent == {k: 4 for k in LEADS}
    assert info.created_by == admin.username and info.created_at == stack.clock()
    sets = {s.name: s for s in await cognitive.list_intent_sets(admin)}
    assert set(sets) == {"dealership", "leads"}
    assert sets["dealership"].builtin and sets["dealership"].examples >= 9 * 3
    result = await cognitive.classify_intent(
        "Please send me info, I want to buy a car", intent_set="leads"
    )
    assert result.intent == "new_lead"
    assert set(result.scores) == set(LEADS)
    spam = await cognitive.classify_intent("Click here to claim your prize", intent_set="leads")
    assert spam.intent == "spam"
    assert await cognitive.intent_set_examples(admin, "leads") == LEADS
    await cognitive.delete_intent_set(admin, "leads")
    assert [s.name for s in await cognitive.list_intent_sets(admin)] == ["dealership"]
    with pytest.raises(ServiceError) as info_missing:
        await cognitive.classify_intent("hello", intent_set="leads")
    assert info_missing.value.code is ErrorCode.NOT_FOUND
    await stack.events.drain()
    assert [e.name for e in seen] == ["intent_set_trained", "intent_set_deleted"]
    (trained,) = (await stack.audit.page(AuditFilter(action="ai.intent_set_trained"))).entries
    (deleted,) = (await stack.audit.page(AuditFilter(action="ai.intent_set_deleted"))).entries
    assert deleted.details == {"intents": 3, "examples": 12}
    assert trained.resource == "ai/intent_sets/leads"
    assert trained.details == {"intents": 3, "examples": 12, "replaced": False}


async def test_a_trained_set_can_replace_the_builtin_one_until_deleted(
    cognitive: CognitiveEngine, stack: Stack
) -> None:
    admin = await stack.admin()
    before = await cognitive.classify_intent("I want to buy a car, please contact me")
    assert before.intent != "new_lead"
    info = await cognitive.train_intents(admin, "dealership", LEADS)
    assert info.replaces_builtin and not info.builtin
    after = await cognitive.classify_intent("I want to buy a car, please contact me")
    assert after.intent == "new_lead"
    await cognitive.delete_intent_set(admin, "dealership")
    again = await cognitive.classify_intent("I want to buy a car, please contact me")
    assert again == before
    with pytest.raises(ServiceError) as info_builtin:
        await cognitive.delete_intent_set(admin, "dealership")
    assert info_builtin.value.code is ErrorCode.VALIDATION_ERROR
    with pytest.raises(ServiceError) as info_missing:
        await cognitive.delete_intent_set(admin, "nothing-here")
    assert info_missing.value.code is ErrorCode.NOT_FOUND


async def test_consoles_sharing_a_database_see_each_others_training(
    cognitive: CognitiveEngine, stack: Stack, ai: AIModelOrchestrationService
) -> None:
    admin = await stack.admin()
    other = CognitiveEngine(stack.database, stack.audit, stack.security.authz, ai)
    await other.initialize()
    await cognitive.train_intents(admin, "leads", LEADS)
    text = "Congratulations, you won a prize"
    assert (await other.classify_intent(text, intent_set="leads")).intent == "spam"
    retrained = {**LEADS, "spam": ["I bought my car from you and love it"],
                 "existing_customer": ["Congratulations, you won a prize!"]}  # fmt: skip
    await cognitive.train_intents(admin, "leads", retrained)
    assert (await other.classify_intent(text, intent_set="leads")).intent == "existing_customer"
    listed = {s.name: s for s in await other.list_intent_sets(admin)}
    assert listed["leads"].per_intent == {"new_lead": 4, "existing_customer": 1, "spam": 1}


async def test_who_may_do_what(cognitive: CognitiveEngine, stack: Stack) -> None:
    viewer = await stack.user("vera", "viewer")
    operator = await stack.user("otto", "operator")
    assert [s.name for s in await cognitive.list_intent_sets(viewer)] == ["dealership"]
    for actor in (viewer, operator):
        with pytest.raises(ServiceError) as info:
            await cognitive.train_intents(actor, "leads", LEADS)
        assert info.value.code is ErrorCode.UNAUTHORIZED
        with pytest.raises(ServiceError) as info:
            await cognitive.delete_intent_set(actor, "dealership")
        assert info.value.code is ErrorCode.UNAUTHORIZED
    with pytest.raises(ServiceError) as info:
        await cognitive.rank(viewer, [{"price": 1}], [{"name": "price", "weight": 1,
                                                       "goal": "min"}])  # fmt: skip
    assert info.value.code is ErrorCode.UNAUTHORIZED
    with pytest.raises(ServiceError) as info:
        await cognitive.list_intent_sets("alice")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.UNAUTHENTICATED
    denied = (await stack.audit.page(AuditFilter(action="authorization.denied"))).entries
    assert {e.actor for e in denied} == {"vera", "otto"}


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.classify_intent(42), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent(None), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent(b"bytes"), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent(""), ErrorCode.VALIDATION_ERROR),
        (lambda c: c.classify_intent(" \n\t "), ErrorCode.VALIDATION_ERROR),
        (lambda c: c.classify_intent("x" * (MAX_TEXT_CHARS + 1)), ErrorCode.PAYLOAD_TOO_LARGE),
        (lambda c: c.classify_intent("hi", intent_set="../etc"), ErrorCode.VALIDATION_ERROR),
        (lambda c: c.classify_intent("hi", intent_set=3), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent("hi", intent_set="nope"), ErrorCode.NOT_FOUND),
        (lambda c: c.classify_intent("hi", use_llm=""), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent("hi", use_llm=7), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent("hi", use_llm="policy:"), ErrorCode.INVALID_INPUT),
        (lambda c: c.classify_intent("hi", use_llm="x" * 81), ErrorCode.INVALID_INPUT),
        (lambda c: c.extract_entities(["a"]), ErrorCode.INVALID_INPUT),
        (lambda c: c.extract_entities("hi", reference_date="2026-03-10"), ErrorCode.INVALID_INPUT),
        (lambda c: c.extract_entities("hi", locale="Mars"), ErrorCode.INVALID_INPUT),
        (lambda c: c.analyze_sentiment({"text": "hi"}), ErrorCode.INVALID_INPUT),
        (lambda c: c.analyze_sentiment("a\x00b"), ErrorCode.INVALID_INPUT),
        (lambda c: c.summarize("Hi. There.", sentences=0), ErrorCode.INVALID_INPUT),
        (lambda c: c.summarize("Hi. There.", ratio=2), ErrorCode.INVALID_INPUT),
        (lambda c: c.summarize("y" * (MAX_TEXT_CHARS + 1)), ErrorCode.PAYLOAD_TOO_LARGE),
    ],
)
async def test_bad_input(cognitive: CognitiveEngine, call: Any, code: ErrorCode) -> None:
    with pytest.raises(ServiceError) as info:
        await call(cognitive)
    assert info.value.code is code
    assert info.value.message
    assert isinstance(info.value.details, dict)


@pytest.mark.parametrize(
    ("name", "examples", "code"),
    [
        ("leads", {"only": ["one intent"]}, ErrorCode.VALIDATION_ERROR),
        ("leads", {"a": ["x"], "b": []}, ErrorCode.VALIDATION_ERROR),
        ("leads", [("a", ["x"])], ErrorCode.INVALID_INPUT),
        ("leads", {"a": ["x"], "b": [None]}, ErrorCode.INVALID_INPUT),
        ("Bad Name", LEADS, ErrorCode.VALIDATION_ERROR),
        ("", LEADS, ErrorCode.VALIDATION_ERROR),
        (None, LEADS, ErrorCode.INVALID_INPUT),
        ("x" * 65, LEADS, ErrorCode.VALIDATION_ERROR),
    ],
)
async def test_bad_training_input(
    cognitive: CognitiveEngine, stack: Stack, name: Any, examples: Any, code: ErrorCode
) -> None:
    admin = await stack.admin()
    with pytest.raises(ServiceError) as info:
        await cognitive.train_intents(admin, name, examples)
    assert info.value.code is code
    assert [s.name for s in await cognitive.list_intent_sets(admin)] == ["dealership"]


async def test_the_longest_allowed_text_works(cognitive: CognitiveEngine) -> None:
    text = ("Please cancel my appointment on Friday at 2pm. " * 5000)[:MAX_TEXT_CHARS]
    assert (await cognitive.classify_intent(text)).intent == "cancel_appointment"
    assert len(await cognitive.extract_entities(text, reference_date=REFERENCE)) > 1000
    assert (await cognitive.analyze_sentiment(text)).label in ("positive", "negative", "neutral")
    assert len((await cognitive.summarize(text)).sentences) == 3


async def test_concurrent_calls_and_metrics(cognitive: CognitiveEngine) -> None:
    texts = ["Is my car ready?", "Cancel my appointment", "What are your hours?"] * 10
    results = await asyncio.gather(*(cognitive.classify_intent(t) for t in texts))
    assert [r.intent for r in results[:3]] == [
        "service_status", "cancel_appointment", "general_question"
    ]  # fmt: skip
    assert results[3:6] == results[:3]
    await cognitive.analyze_sentiment("great")
    collector = cognitive.collector
    assert isinstance(collector, MetricsCollector)
    assert collector.value(REQUESTS_TOTAL, {"task": "intent", "via": "local"}) == 30
    assert collector.value(REQUESTS_TOTAL, {"task": "sentiment", "via": "local"}) == 1


async def test_unknown_is_reported_for_off_topic_text(cognitive: CognitiveEngine) -> None:
    result = await cognitive.classify_intent("What's the capital of Australia?")
    assert result.intent == UNKNOWN
    assert result.confidence < 0.5


async def test_confidence_floor_is_configurable(
    stack: Stack, ai: AIModelOrchestrationService
) -> None:
    strict = CognitiveEngine(
        stack.database, stack.audit, stack.security.authz, ai, confidence_floor=0.95
    )
    assert (await strict.classify_intent("Is my car ready?")).intent == UNKNOWN
    with pytest.raises(ServiceError):
        CognitiveEngine(stack.database, stack.audit, stack.security.authz, ai,
                        confidence_floor=1.5)  # fmt: skip
    with pytest.raises(ServiceError):
        CognitiveEngine(stack.database, stack.audit, stack.security.authz, ai, locale="ZZ")
    fleet = CognitiveEngine(
        stack.database, stack.audit, stack.security.authz, ai,
        plate_patterns=[{"name": "fleet", "pattern": r"FLT-\d{3}"}],
    )  # fmt: skip
    found = await fleet.extract_entities("Car FLT-042, ABC-1234", reference_date=REFERENCE)
    assert [(e.kind, e.value) for e in found] == [("plate", "FLT042")]


# -- patterns and decisions (the other modules' engine methods) -----------------------------
async def test_rank_optimize_and_patterns_pass_through(
    cognitive: CognitiveEngine, stack: Stack
) -> None:
    admin = await stack.admin()
    ranked = await cognitive.rank(
        SYSTEM,
        [{"name": "a", "price": 20_000}, {"name": "b", "price": 18_000}],
        [{"name": "price", "weight": 1, "goal": "min"}],
    )
    assert [r.option["name"] for r in ranked] == ["b", "a"]
    result = await cognitive.optimize(
        admin,
        {
            "sense": "max",
            "variables": [{"name": "x"}, {"name": "y"}],
            "objective": {"x": 3, "y": 5},
            "constraints": [{"terms": {"x": 1}, "op": "<=", "rhs": 4},
                            {"terms": {"y": 2}, "op": "<=", "rhs": 12},
                            {"terms": {"x": 3, "y": 2}, "op": "<=", "rhs": 18}],
        },
    )  # fmt: skip
    assert result.status == "optimal" and result.objective == pytest.approx(36)
    report = await cognitive.recognize_patterns(admin, since=0.0)
    assert report.empty
    viewer = await stack.user("vic", "viewer")
    assert (await cognitive.recognize_patterns(viewer)).empty  # runs: read


# -- schema ---------------------------------------------------------------------------------
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


async def test_migration_matches_the_model(any_database_url: str) -> None:
    database = Database(any_database_url)
    await database.initialize()
    try:
        assert await database.current_revision() is not None
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        assert [d for d in differences if "cognitive" in repr(d)] == []
    finally:
        await database.cleanup()
