"""Workflow nodes of the AI services: a prompt to a language model (optionally with output
checked against a JSON Schema), and the cognitive engine's intent, entities, sentiment,
summary and decision methods.

The nodes hold no model names or keys beyond a deployment or policy name: the AI catalogue
does, so switching a provider or rotating a key changes no workflow. Every model call
carries the workflow and run ids, so budgets and usage reports can attribute its cost.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.types import (
    Capability,
    ChatMessage,
    ModelRequest,
    ModelResponse,
)
from auterity_desktop.services.security.principal import SYSTEM
from auterity_desktop.services.workflows.node_context import NodeContext
from auterity_desktop.services.workflows.registry import NodeType, ParamSpec, PortSpec

AI = "AI"
MAX_PROBLEMS = 20  # validation errors quoted in a repair request or an error message
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?```\s*$", re.S)


def _json_schema(value: Any) -> str | None:
    from auterity_desktop.services.workflows.builtin_nodes import _json_schema as check

    return check(value)


def _iso_date(value: Any) -> str | None:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return f"{value!r} is not a date such as 2026-03-31"
    return None


def _kinds(value: Any) -> str | None:
    from auterity_desktop.services.ai.cognitive.spans import KINDS

    unknown = [str(k) for k in value if k not in KINDS]
    if unknown:
        return f"has unknown kinds {', '.join(unknown)}; known: {', '.join(KINDS)}"
    return None


def _text_param(description: str) -> ParamSpec:
    return ParamSpec("text", "string", required=True, description=description)


def _use_llm_param() -> ParamSpec:
    return ParamSpec(
        "use_llm",
        "string",
        description="Ask this AI deployment (or policy:NAME) instead of the offline "
        "method; empty: offline",
    )


OBJECT_OUT = (PortSpec("main", "object"),)

AI_TYPES = (
    NodeType(
        "ai_prompt",
        "AI prompt",
        AI,
        "Asks a language model; with a JSON Schema the reply is parsed, checked and repaired "
        "once if it does not match.",
        outputs=OBJECT_OUT,
        params=(
            ParamSpec(
                "prompt",
                "string",
                required=True,
                description="e.g. Write a reply to {{ $input.customer.name }} about …",
            ),
            ParamSpec("system", "string", description="Instructions that frame the prompt"),
            ParamSpec(
                "deployment",
                "string",
                description="A deployment to call; empty: the routing policy chooses",
            ),
            ParamSpec("policy", "string", description="A routing policy; empty: the default"),
            ParamSpec("max_tokens", "integer", minimum=1, maximum=1_000_000),
            ParamSpec("temperature", "number", minimum=0, maximum=2),
            ParamSpec(
                "json_schema",
                "object",
                expression=False,
                check=_json_schema,
                description="When set: the reply must be JSON matching this schema",
            ),
        ),
    ),
    NodeType(
        "ai_classify",
        "Classify intent",
        AI,
        "Names the intent of a text (a Switch node can branch on it).",
        outputs=OBJECT_OUT,
        params=(
            _text_param("e.g. {{ $input.email.body }}"),
            ParamSpec("intent_set", "string", default="dealership"),
            _use_llm_param(),
        ),
    ),
    NodeType(
        "ai_extract",
        "Extract entities",
        AI,
        "Finds names, dates, amounts, VINs, phone numbers and more in a text.",
        outputs=OBJECT_OUT,
        params=(
            _text_param("The text to read"),
            ParamSpec(
                "kinds",
                "list",
                check=_kinds,
                description="Only these: email, vin, money, date, time, phone, stock_number, "
                "plate; empty: all",
            ),
            ParamSpec(
                "reference_date",
                "string",
                check=_iso_date,
                description="What 'tomorrow' is relative to (YYYY-MM-DD); empty: today",
            ),
            _use_llm_param(),
        ),
    ),
    NodeType(
        "ai_sentiment",
        "Sentiment",
        AI,
        "Rates a text as positive, neutral or negative.",
        outputs=OBJECT_OUT,
        params=(_text_param("The text to rate"), _use_llm_param()),
    ),
    NodeType(
        "ai_summarize",
        "Summarise",
        AI,
        "Shortens a text to its most telling sentences.",
        outputs=OBJECT_OUT,
        params=(
            _text_param("The text to summarise"),
            ParamSpec("sentences", "integer", default=3, minimum=1, maximum=50),
            _use_llm_param(),
        ),
    ),
    NodeType(
        "ai_decide",
        "Decide / optimise",
        AI,
        "Ranks options by weighted criteria, or solves an optimisation problem; an "
        "infeasible problem fails the node with the report (route it with the error port).",
        outputs=OBJECT_OUT,
        params=(
            ParamSpec("mode", "enum", default="rank", choices=("rank", "optimise")),
            ParamSpec("options", "list", description="rank: the options, e.g. {{ $input.cars }}"),
            ParamSpec(
                "criteria",
                "list",
                description='rank: e.g. [{"name": "price", "weight": 2, "goal": "min"}]',
            ),
            ParamSpec(
                "problem",
                "object",
                description="optimise: sense, variables, objective, constraints",
            ),
        ),
    ),
)


def _service(ctx: NodeContext, key: str, what: str) -> Any:
    service = ctx.services.get(key)
    if service is None:
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            f"{what} is not available in this process",
            {"node_id": ctx.node_id},
        )
    return service


def _as_text(value: Any) -> str:
    """A parameter as prompt text: an expression may give an object, which the model reads
    as JSON rather than as Python's repr."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _parse(reply: ModelResponse) -> tuple[Any, list[str]]:
    """The reply's JSON, or the reason it has none. Models often wrap JSON in a code fence,
    which is not a reason to spend a repair call."""
    text = reply.text.strip()
    fenced = _FENCE.match(text)
    if fenced is not None:
        text = fenced.group(1).strip()
    try:
        return json.loads(text), []
    except ValueError as exc:
        return None, [f"(root): the reply is not JSON: {exc}"]


def _problems(value: Any, schema: dict[str, Any]) -> list[str]:
    from jsonschema import Draft202012Validator

    errors = sorted(
        Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path)
    )
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in errors[:MAX_PROBLEMS]
    ]


def _check(reply: ModelResponse, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    value, problems = _parse(reply)
    return value, (problems or _problems(value, schema))


def _repair_message(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "Your reply does not match the JSON Schema:\n"
        f"{listed}\n"
        "Reply again with only the corrected JSON, no other text."
    )


def _schema_instruction(schema: dict[str, Any]) -> str:
    return (
        "Reply with only a JSON value (no code fence, no other text) that matches this "
        f"JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}"
    )


async def _prompt(ctx: NodeContext) -> dict[str, Any]:
    ai = _service(ctx, "ai", "The AI model service")
    p = ctx.params
    schema = p.get("json_schema")
    if schema is not None and not isinstance(schema, dict):
        raise ServiceError(
            ErrorCode.INVALID_INPUT, "json_schema must be an object", {"node_id": ctx.node_id}
        )
    system = _as_text(p.get("system")).strip()
    if schema is not None:
        system = f"{system}\n\n{_schema_instruction(schema)}".strip()
    messages = [ChatMessage("system", system)] if system else []
    messages.append(ChatMessage("user", _as_text(p.get("prompt"))))

    def request(conversation: list[ChatMessage], deployment: Any, policy: Any) -> ModelRequest:
        # The schema is not handed to the orchestration as ``json_schema``: it would treat a
        # reply that misses the schema as a broken deployment (retried blindly, cooled
        # down). The node checks the reply itself and repairs it once with the reasons;
        # routing still picks only deployments that can produce JSON.
        return ModelRequest(
            list(conversation),
            deployment=deployment or None,
            policy=policy or None,
            max_tokens=p.get("max_tokens"),  # the service names the field if it is wrong
            temperature=p.get("temperature"),
            capabilities=frozenset({Capability.JSON}) if schema is not None else frozenset(),
            workflow_id=ctx.workflow_id,
            run_id=ctx.run_id,
            purpose="workflow",
        )

    first = await ai.route_request(request(messages, p.get("deployment"), p.get("policy")))
    replies: list[ModelResponse] = [first]
    value: Any = None
    if schema is not None:
        value, problems = _check(first, schema)
        if problems:  # one repair: show the model its reply and what is wrong with it
            messages += [
                ChatMessage("assistant", first.text),
                ChatMessage("user", _repair_message(problems)),
            ]
            # the deployment that wrote the reply fixes it; its policy's fallbacks still apply
            repair = request(messages, first.deployment, first.decision.policy)
            replies.append(await ai.route_request(repair))
            value, problems = _check(replies[-1], schema)
            if problems:
                raise ServiceError(
                    ErrorCode.VALIDATION_ERROR,
                    f"{ctx.node_name}: the model's reply does not match the JSON Schema, even "
                    f"after one repair attempt: {'; '.join(problems)}",
                    {
                        "node_id": ctx.node_id,
                        "problems": problems,
                        "reply": replies[-1].text[:2000],
                        "deployment": replies[-1].deployment,
                    },
                )
    return {"main": _prompt_output(replies, value, schema)}


def _prompt_output(
    replies: list[ModelResponse], value: Any, schema: dict[str, Any] | None
) -> dict[str, Any]:
    last = replies[-1]
    output: dict[str, Any] = {
        "text": last.text,
        "deployment": last.deployment,
        "model": last.model,
        "usage": {
            "input_tokens": sum(r.usage.input_tokens for r in replies),
            "output_tokens": sum(r.usage.output_tokens for r in replies),
        },
        "cost": sum(r.cost for r in replies),
        "latency_s": sum(r.latency_s for r in replies),
        "cached": all(r.cached for r in replies),
        "decision": {"chosen": last.decision.chosen, "reason": last.decision.reason},
    }
    if schema is not None:
        output["json"] = value
        output["repaired"] = len(replies) > 1
    return output


def _text(ctx: NodeContext) -> str:
    return _as_text(ctx.params.get("text"))


def _use_llm(ctx: NodeContext) -> str | None:
    name = ctx.params.get("use_llm")
    return str(name) if name else None


async def _classify(ctx: NodeContext) -> dict[str, Any]:
    cognitive = _service(ctx, "cognitive", "The cognitive engine")
    result = await cognitive.classify_intent(
        _text(ctx),
        intent_set=str(ctx.params.get("intent_set") or "dealership"),
        use_llm=_use_llm(ctx),
    )
    return {"main": result.to_dict()}


async def _extract(ctx: NodeContext) -> dict[str, Any]:
    cognitive = _service(ctx, "cognitive", "The cognitive engine")
    reference = ctx.params.get("reference_date")
    try:
        reference_date = date.fromisoformat(str(reference)) if reference else None
    except ValueError:
        raise ServiceError(
            ErrorCode.INVALID_INPUT,
            f"reference_date {reference!r} is not a date such as 2026-03-31",
            {"node_id": ctx.node_id},
        ) from None
    found = await cognitive.extract_entities(
        _text(ctx), reference_date=reference_date, use_llm=_use_llm(ctx)
    )
    kinds = ctx.params.get("kinds")
    wanted = {str(k) for k in kinds} if isinstance(kinds, list) and kinds else None
    entities = [e.to_dict() for e in found if wanted is None or e.kind in wanted]
    by_kind: dict[str, list[Any]] = {}
    for entity in entities:
        by_kind.setdefault(entity["kind"], []).append(entity["value"])
    return {"main": {"entities": entities, "by_kind": by_kind}}


async def _sentiment(ctx: NodeContext) -> dict[str, Any]:
    cognitive = _service(ctx, "cognitive", "The cognitive engine")
    result = await cognitive.analyze_sentiment(_text(ctx), use_llm=_use_llm(ctx))
    return {"main": result.to_dict()}


async def _summarize(ctx: NodeContext) -> dict[str, Any]:
    cognitive = _service(ctx, "cognitive", "The cognitive engine")
    result = await cognitive.summarize(
        _text(ctx), sentences=ctx.params.get("sentences") or 3, use_llm=_use_llm(ctx)
    )
    return {"main": {"summary": result.text, "sentences": result.sentences, "via": result.via}}


async def _decide(ctx: NodeContext) -> dict[str, Any]:
    cognitive = _service(ctx, "cognitive", "The cognitive engine")
    # The run was authorised when it started; its nodes act as the product, as scheduled
    # runs do, and the cognitive engine's guard sees the system principal.
    if ctx.params.get("mode", "rank") == "rank":
        return {"main": await _rank(ctx, cognitive)}
    return {"main": await _optimise(ctx, cognitive)}


async def _rank(ctx: NodeContext, cognitive: Any) -> dict[str, Any]:
    found = await cognitive.rank(SYSTEM, ctx.params.get("options"), ctx.params.get("criteria"))
    ranked = [r.to_dict() for r in found]
    eligible = [r for r in ranked if not r["excluded"]]
    if not eligible:  # nothing to choose: as infeasible as a program without a solution
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"{ctx.node_name}: no option meets the criteria's limits — "
            + "; ".join(f"option {r['index'] + 1}: {', '.join(r['reasons'])}" for r in ranked[:5]),
            {"node_id": ctx.node_id, "status": "infeasible", "ranked": ranked},
        )
    return {
        "ranked": ranked,
        "best": eligible[0]["option"],
        "best_score": eligible[0]["score"],
        "excluded": len(ranked) - len(eligible),
    }


async def _optimise(ctx: NodeContext, cognitive: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await cognitive.optimize(SYSTEM, ctx.params.get("problem"))).to_dict()
    status = result["status"]
    if status == "optimal" or (status == "time_limit" and result["values"]):
        return result
    code = {
        "infeasible": ErrorCode.VALIDATION_ERROR,
        "unbounded": ErrorCode.VALIDATION_ERROR,
        "time_limit": ErrorCode.TIMEOUT,
    }.get(status, ErrorCode.WORKFLOW_ERROR)
    raise ServiceError(
        code,
        f"{ctx.node_name}: {result['message']}",
        {
            "node_id": ctx.node_id,
            "status": status,
            "infeasibility": result.get("infeasibility"),
            "result": result,
        },
    )


AI_EXECUTORS = {
    "ai_prompt": _prompt,
    "ai_classify": _classify,
    "ai_extract": _extract,
    "ai_sentiment": _sentiment,
    "ai_summarize": _summarize,
    "ai_decide": _decide,
}
