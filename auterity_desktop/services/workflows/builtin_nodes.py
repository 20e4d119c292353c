"""Declarations of the built-in node types (what they accept and offer).

Execution lives with the engine; here is only what the palette, validation and the engine
share: ports and parameter schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auterity_desktop.services.workflows.registry import NodeRegistry, NodeType, ParamSpec, PortSpec

TRIGGERS, DATA, FLOW, NETWORK, HUMAN, OUTPUT = (
    "Triggers",
    "Data",
    "Flow",
    "Network",
    "Human",
    "Output",
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _cron(value: Any) -> str | None:
    from croniter import croniter

    if not isinstance(value, str) or not croniter.is_valid(value):
        return f"{value!r} is not a cron expression (five fields: minute hour day month weekday)"
    return None


def _timezone(value: Any) -> str | None:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not a time zone name such as Europe/Berlin or America/Chicago"
    return None


def _url(value: Any) -> str | None:
    if isinstance(value, str) and not value.lower().startswith(("http://", "https://")):
        return f"{value!r} is not an http:// or https:// URL"
    return None


def _json_schema(value: Any) -> str | None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    return None


def _switch_outputs(params: Mapping[str, Any]) -> tuple[PortSpec, ...]:
    cases = params.get("cases")
    count = len(cases) if isinstance(cases, list) else 0
    return (*(PortSpec(f"case_{i}") for i in range(count)), PortSpec("default"))


MAIN_IN = (PortSpec("main"),)
DEFAULTS = ParamSpec(
    "defaults",
    "object",
    default={},
    expression=False,
    description="Run parameters used when the run does not give them",
)
NO_INPUT: tuple[PortSpec, ...] = ()

BUILTIN_TYPES = (
    NodeType(
        "manual_trigger",
        "Manual trigger",
        TRIGGERS,
        "Starts a run by hand or from the API, with the run's parameters as output.",
        inputs=NO_INPUT,
        outputs=(PortSpec("main", "object"),),
        trigger=True,
        params=(DEFAULTS,),
    ),
    NodeType(
        "schedule_trigger",
        "Schedule",
        TRIGGERS,
        "Starts runs on a cron schedule.",
        inputs=NO_INPUT,
        outputs=(PortSpec("main", "object"),),
        trigger=True,
        params=(
            ParamSpec(
                "cron",
                "string",
                required=True,
                expression=False,
                check=_cron,
                description="Five fields: minute hour day-of-month month day-of-week",
            ),
            ParamSpec("timezone", "string", default="UTC", expression=False, check=_timezone),
            ParamSpec(
                "missed_runs",
                "enum",
                default="run_once",
                choices=("skip", "run_once", "run_all"),
                expression=False,
                description="What to do about fires missed while closed",
            ),
            DEFAULTS,
        ),
    ),
    NodeType(
        "http_request",
        "HTTP request",
        NETWORK,
        "Calls a web API.",
        outputs=(PortSpec("main", "object"), PortSpec("error", "object")),
        params=(
            ParamSpec("method", "enum", default="GET", choices=HTTP_METHODS),
            ParamSpec("url", "string", required=True, check=_url),
            ParamSpec("headers", "object", default={}),
            ParamSpec("query", "object", default={}),
            ParamSpec("body", "any"),
            ParamSpec("timeout", "number", default=30, minimum=0.1, maximum=600),
            ParamSpec("response", "enum", default="json", choices=("json", "text", "binary")),
        ),
    ),
    NodeType(
        "set_fields",
        "Set fields",
        DATA,
        "Adds, changes or removes fields of the data.",
        outputs=(PortSpec("main", "object"),),
        params=(
            ParamSpec("fields", "object", required=True, description="name → value or expression"),
            ParamSpec("keep_input", "boolean", default=True),
            ParamSpec("remove", "list", default=[]),
        ),
    ),
    NodeType(
        "condition",
        "If",
        FLOW,
        "Routes the data to true or false.",
        outputs=(PortSpec("true"), PortSpec("false")),
        params=(
            ParamSpec(
                "condition", "any", required=True, description="An expression that is true or false"
            ),
        ),
    ),
    NodeType(
        "switch",
        "Switch",
        FLOW,
        "Routes the data by comparing a value with cases.",
        outputs=(PortSpec("default"),),
        dynamic_outputs=_switch_outputs,
        params=(
            ParamSpec("value", "any", required=True),
            ParamSpec("cases", "list", required=True, expression=False),
        ),
    ),
    NodeType(
        "merge",
        "Merge",
        FLOW,
        "Joins branches: wait for all, take the first, or append.",
        inputs=(PortSpec("main", multiple=True),),
        outputs=(PortSpec("main"),),
        params=(
            ParamSpec(
                "mode",
                "enum",
                default="wait_all",
                choices=("wait_all", "first", "append"),
                expression=False,
            ),
        ),
    ),
    NodeType(
        "for_each",
        "For each",
        FLOW,
        "Runs the nodes on its 'each' port once per item, a few at a time.",
        outputs=(PortSpec("each"), PortSpec("done", "list")),
        params=(
            ParamSpec("items", "list", required=True),
            ParamSpec(
                "concurrency", "integer", default=1, minimum=1, maximum=100, expression=False
            ),
        ),
    ),
    NodeType(
        "delay",
        "Delay",
        FLOW,
        "Waits before passing the data on.",
        params=(ParamSpec("seconds", "number", required=True, minimum=0, maximum=86_400),),
    ),
    NodeType(
        "validate_data",
        "Validate data",
        DATA,
        "Checks the data against a JSON Schema.",
        outputs=(PortSpec("valid"), PortSpec("invalid", "object")),
        params=(
            ParamSpec("schema", "object", required=True, expression=False, check=_json_schema),
        ),
    ),
    NodeType(
        "sub_workflow",
        "Sub-workflow",
        FLOW,
        "Runs another workflow and returns its result.",
        params=(
            ParamSpec("workflow_id", "string", required=True),
            ParamSpec("parameters", "object", default={}),
        ),
    ),
    NodeType(
        "approval",
        "Human approval",
        HUMAN,
        "Pauses the run until someone approves or rejects it.",
        outputs=(PortSpec("approved"), PortSpec("rejected")),
        params=(
            ParamSpec("message", "string", required=True),
            ParamSpec(
                "approvers", "list", default=[], description="User names; empty: any operator"
            ),
            ParamSpec("timeout_hours", "number", default=72, minimum=0.01, maximum=8760),
        ),
    ),
    NodeType(
        "error_handler",
        "Error handler",
        FLOW,
        "Receives failures routed from nodes' error ports.",
        inputs=(PortSpec("main", "object", multiple=True),),
        outputs=(PortSpec("main", "object"),),
    ),
    NodeType(
        "log",
        "Log / output",
        OUTPUT,
        "Records a message and makes its input the run's result.",
        inputs=(PortSpec("main", multiple=True),),
        params=(
            ParamSpec("message", "string", default=""),
            ParamSpec(
                "level", "enum", default="info", choices=("debug", "info", "warning", "error")
            ),
        ),
    ),
)


def builtin_registry() -> NodeRegistry:
    from auterity_desktop.services.workflows.ai_nodes import AI_TYPES
    from auterity_desktop.services.workflows.integration_nodes import INTEGRATION_TYPES
    from auterity_desktop.services.workflows.message_nodes import MESSAGE_TYPES

    return NodeRegistry((*BUILTIN_TYPES, *INTEGRATION_TYPES, *MESSAGE_TYPES, *AI_TYPES))
