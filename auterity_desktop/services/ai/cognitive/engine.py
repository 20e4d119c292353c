"""``CognitiveEngine``: offline NLP for dealership messages — intent, entities, sentiment and
summaries — plus pattern recognition over workflow runs and decision optimisation.

Everything works without a network and without model downloads (see ``intent``,
``entities``, ``sentiment`` and ``summary`` for the methods and their measured accuracy).
Each analysis can instead be answered by a language model: ``use_llm`` names an AI
deployment, or a routing policy as ``"policy:NAME"``; the request goes through the AI
orchestration service (budgets, routing, accounting) with a JSON schema, the reply is
validated (see ``llm``), and the result's ``via`` says who answered.

The analyses (no ``actor``) are for trusted callers in the process — workflow nodes, the
GUI's own helpers; managing intent sets is guarded (resource ``ai``: read to list, write
to train and delete) and audited. Inputs are checked: a non-string text is INVALID_INPUT,
blank text VALIDATION_ERROR, more than ``MAX_TEXT_CHARS`` (200,000) characters
PAYLOAD_TOO_LARGE. CPU work runs in a worker thread so the event loop (and the GUI) stays
responsive with long texts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from auterity_desktop.core.db import Database
from auterity_desktop.core.events import EventBus
from auterity_desktop.core.metrics import MetricKind, MetricsCollector
from auterity_desktop.core.service import BaseService
from auterity_desktop.services.ai.cognitive import llm
from auterity_desktop.services.ai.cognitive.entities import EntityExtractor
from auterity_desktop.services.ai.cognitive.intent import (
    DEFAULT_FLOOR,
    IntentResult,
    automotive_concepts,
    builtin_sets,
    check_examples,
)
from auterity_desktop.services.ai.cognitive.intent_sets import (
    IntentSetInfo,
    IntentSets,
    check_set_name,
)
from auterity_desktop.services.ai.cognitive.sentiment import (
    SentimentResult,
    analyse,
    default_lexicon,
)
from auterity_desktop.services.ai.cognitive.spans import Entity, PlatePattern, region
from auterity_desktop.services.ai.cognitive.summary import SummaryResult, check_length, summarise
from auterity_desktop.services.ai.cognitive.text import check_text, invalid
from auterity_desktop.services.ai.cognitive.vehicles import (
    DEFAULT_PLATE_PATTERNS,
    check_plate_patterns,
)
from auterity_desktop.services.compliance.audit_trail import AuditTrail
from auterity_desktop.services.security.authorization import AuthorizationService, guarded
from auterity_desktop.services.security.principal import Principal

if TYPE_CHECKING:  # imported lazily at run time (they load pandas and scipy)
    from auterity_desktop.services.ai.cognitive.optimise import OptimisationResult, RankedOption
    from auterity_desktop.services.ai.cognitive.patterns import PatternReport

logger = logging.getLogger(__name__)

REQUESTS_TOTAL = "auterity_cognitive_requests_total"
SECONDS = "auterity_cognitive_seconds"


class CognitiveEngine(BaseService):
    name = "cognitive"
    dependencies = ("database", "audit", "security", "ai")

    def __init__(
        self,
        database: Database,
        audit: AuditTrail,
        authz: AuthorizationService,
        ai: llm.ModelRouter,
        events: EventBus | None = None,
        metrics: MetricsCollector | None = None,
        *,
        locale: str = "US",
        plate_patterns: Sequence[PlatePattern | dict[str, Any]] | None = None,
        confidence_floor: float = DEFAULT_FLOOR,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``locale``: the region whose conventions entity extraction assumes (numeric
        date order, national phone numbers, the currency of "$" and of a bare "15k"):
        US, CA, GB, IE, DE, AT, CH, FR, BE, NL, LU, IT, ES, PT, DK, NO, SE, FI, PL, CZ, AU.
        ``plate_patterns`` replace the default licence-plate formats.
        ``confidence_floor``: below this probability an intent is reported as unknown."""
        super().__init__()
        self.database = database
        self.audit = audit
        self.authz = authz
        self.ai = ai
        self.events = events
        self.collector = metrics
        self.clock = clock
        self.region = region(locale)
        patterns = (
            DEFAULT_PLATE_PATTERNS
            if plate_patterns is None
            else check_plate_patterns(plate_patterns)
        )
        self.extractor = EntityExtractor(patterns)
        if isinstance(confidence_floor, bool) or not 0 <= confidence_floor < 1:
            raise invalid("confidence_floor must be at least 0 and below 1", field="floor")
        self.confidence_floor = float(confidence_floor)
        self.intent_sets = IntentSets(database, clock)

    async def initialize(self) -> None:
        # Read the shipped resources now: a broken install fails at start, not mid-workflow.
        await asyncio.to_thread(lambda: (builtin_sets(), automotive_concepts(), default_lexicon()))
        if self.collector is not None:
            self.collector.describe(
                REQUESTS_TOTAL, MetricKind.COUNTER, "Cognitive engine calls, per task and via"
            )
            self.collector.describe(
                SECONDS, MetricKind.HISTOGRAM, "Seconds per cognitive engine call, per task"
            )

    def _count(self, task: str, via: str, began: float) -> None:
        if self.collector is not None:
            self.collector.increment(REQUESTS_TOTAL, 1.0, {"task": task, "via": via})
            self.collector.observe(SECONDS, time.perf_counter() - began, {"task": task})

    def _publish(self, name: str, payload: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(name, payload)

    # -- intent ---------------------------------------------------------------------------
    async def classify_intent(
        self, text: str, *, intent_set: str = "dealership", use_llm: str | None = None
    ) -> IntentResult:
        """The intent of ``text`` among the set's intents, or ``"unknown"``."""
        began = time.perf_counter()
        text = check_text(text)
        name = check_set_name(intent_set)
        if use_llm is not None:
            _, examples, descriptions = await self.intent_sets.examples(name)
            value, response = await llm.ask(
                self.ai,
                use_llm,
                "intent classification",
                llm.intent_prompt(text, examples, descriptions),
                llm.intent_schema(list(examples)),
                "classify",
            )
            result = llm.intent_result(value, response)
        else:
            model = await self.intent_sets.model(name)
            result = await asyncio.to_thread(model.classify, text, self.confidence_floor)
        self._count("intent", "local" if use_llm is None else "llm", began)
        return result

    # -- entities -------------------------------------------------------------------------
    def _reference(self, reference_date: Any) -> date:
        if reference_date is None:
            return datetime.fromtimestamp(self.clock()).date()
        if isinstance(reference_date, datetime):
            return reference_date.date()
        if isinstance(reference_date, date):
            return reference_date
        raise invalid(
            f"reference_date must be a date, not {type(reference_date).__name__}",
            field="reference_date",
        )

    async def extract_entities(
        self,
        text: str,
        *,
        reference_date: date | None = None,
        use_llm: str | None = None,
        locale: str | None = None,
    ) -> list[Entity]:
        """Dates, times, money, e-mail addresses, phone numbers, VINs, licence plates and
        stock numbers in ``text``, in order and without overlaps. Relative dates resolve
        against ``reference_date`` (default: today); ``locale`` overrides the engine's."""
        began = time.perf_counter()
        text = check_text(text)
        reference = self._reference(reference_date)
        where = self.region if locale is None else region(locale)
        if use_llm is not None:
            value, response = await llm.ask(
                self.ai,
                use_llm,
                "entity extraction",
                llm.entity_prompt(text, reference.isoformat(), where.code),
                llm.ENTITY_SCHEMA,
                "extract",
            )
            entities = llm.entity_results(value, text, response)
        else:
            entities = await asyncio.to_thread(self.extractor.extract, text, reference, where)
        self._count("entities", "local" if use_llm is None else "llm", began)
        return entities

    # -- sentiment ------------------------------------------------------------------------
    async def analyze_sentiment(self, text: str, *, use_llm: str | None = None) -> SentimentResult:
        """Positive, negative or neutral, with a compound score in [-1, 1]."""
        began = time.perf_counter()
        text = check_text(text)
        if use_llm is not None:
            value, response = await llm.ask(
                self.ai,
                use_llm,
                "sentiment analysis",
                llm.sentiment_prompt(text),
                llm.SENTIMENT_SCHEMA,
                "sentiment",
            )
            result = llm.sentiment_result(value, response)
        else:
            result = await asyncio.to_thread(analyse, text)
        self._count("sentiment", "local" if use_llm is None else "llm", began)
        return result

    # -- summary --------------------------------------------------------------------------
    async def summarize(
        self,
        text: str,
        *,
        sentences: int = 3,
        ratio: float | None = None,
        use_llm: str | None = None,
    ) -> SummaryResult:
        """The ``sentences`` most central sentences of ``text`` (or ``ratio`` of them), in
        their original order; with ``use_llm`` a model's summary of at most that many."""
        began = time.perf_counter()
        text = check_text(text)
        count, share = check_length(sentences, ratio)
        if use_llm is not None:
            value, response = await llm.ask(
                self.ai,
                use_llm,
                "summarising",
                llm.summary_prompt(text, count),
                llm.summary_schema(count),
                "summarize",
            )
            result = llm.summary_result(value, response)
        else:
            result = await asyncio.to_thread(summarise, text, count, share)
        self._count("summary", "local" if use_llm is None else "llm", began)
        return result

    # -- intent sets (guarded) ------------------------------------------------------------
    @guarded("ai", "read")
    async def list_intent_sets(self, actor: Principal) -> list[IntentSetInfo]:
        return await self.intent_sets.list()

    @guarded("ai", "read")
    async def intent_set_examples(self, actor: Principal, name: str) -> dict[str, list[str]]:
        """The labelled examples of a set, for editing and retraining."""
        _, examples, _ = await self.intent_sets.examples(check_set_name(name))
        return {k: list(v) for k, v in examples.items()}

    @guarded("ai", "write")
    async def train_intents(
        self, actor: Principal, name: str, examples: dict[str, list[str]]
    ) -> IntentSetInfo:
        """Train (or retrain) the intent set ``name`` from ``{intent: [example, ...]}``:
        at least 2 intents, each with at least one example (3–10 work well)."""
        name = check_set_name(name)
        checked = check_examples(examples)
        info, replaced = await self.intent_sets.save(name, checked, actor.username)
        await self.audit.record(
            actor.username,
            "ai.intent_set_trained",
            f"ai/intent_sets/{name}",
            "success",
            {"intents": len(checked), "examples": info.examples, "replaced": replaced},
        )
        self._publish("intent_set_trained", {"name": name, "revision": info.revision})
        return info

    @guarded("ai", "write")
    async def delete_intent_set(self, actor: Principal, name: str) -> None:
        """Delete a trained set; a set that replaced a built-in one reverts to it."""
        name = check_set_name(name)
        info = await self.intent_sets.delete(name)
        await self.audit.record(
            actor.username,
            "ai.intent_set_deleted",
            f"ai/intent_sets/{name}",
            "success",
            {"intents": len(info.intents), "examples": info.examples},
        )
        self._publish("intent_set_deleted", {"name": name})

    # -- patterns and decisions ------------------------------------------------------------
    # Written by the engineer of ``patterns.py`` and ``optimise.py``; imported lazily so
    # the language analyses do not load pandas or scipy.
    @guarded("runs", "read")
    async def recognize_patterns(
        self,
        actor: Principal,
        *,
        since: float | None = None,
        until: float | None = None,
        workflow_id: str | None = None,
    ) -> PatternReport:
        """Failure causes, slow nodes, duration anomalies and frequent paths of the runs
        created in ``[since, until)`` (see ``patterns``)."""
        from auterity_desktop.services.ai.cognitive import patterns

        return await patterns.recognize_patterns(
            self.database, since=since, until=until, workflow_id=workflow_id
        )

    @guarded("ai", "execute")
    async def rank(
        self, actor: Principal, options: list[dict[str, Any]], criteria: list[dict[str, Any]]
    ) -> list[RankedOption]:
        """Options ranked by weighted criteria (see ``optimise.rank_options``)."""
        from auterity_desktop.services.ai.cognitive import optimise

        return await asyncio.to_thread(optimise.rank_options, options, criteria)

    @guarded("ai", "execute")
    async def optimize(self, actor: Principal, problem: dict[str, Any]) -> OptimisationResult:
        """An LP/MILP decision problem solved (see ``optimise.solve``)."""
        from auterity_desktop.services.ai.cognitive import optimise

        return await asyncio.to_thread(optimise.solve, problem)
