from __future__ import annotations

import json
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.document import MAX_DOCUMENT_BYTES, parse_document
from auterity_desktop.services.workflows.registry import NodeRegistry, NodeType, ParamSpec, PortSpec
from auterity_desktop.services.workflows.validation import ensure_valid, validate

REGISTRY = builtin_registry()


def node(node_id: str, type_: str, name: str | None = None, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "name": name or node_id, "params": params}


def edge(
    edge_id: str, source: str, target: str, source_port: str = "main", target_port: str = "main"
) -> dict:
    return {
        "id": edge_id,
        "source": source,
        "source_port": source_port,
        "target": target,
        "target_port": target_port,
    }


GOOD = {
    "version": 1,
    "name": "Lead follow-up",
    "description": "Answer new leads within minutes",
    "nodes": [
        node("t", "manual_trigger", "Start"),
        node(
            "lookup",
            "http_request",
            "Lookup",
            url="https://crm.example/api/leads/{{ $input.lead_id }}",
        ),
        node("hot", "condition", "Hot lead?", condition="{{ $node['Lookup'].output.score > 80 }}"),
        node("mail", "log", "Notify", message="Call {{ $input.name }}"),
        node("skip", "log", "Skip"),
    ],
    "edges": [
        edge("e1", "t", "lookup"),
        edge("e2", "lookup", "hot"),
        edge("e3", "hot", "mail", source_port="true"),
        edge("e4", "hot", "skip", source_port="false"),
    ],
}


def problems(data: dict) -> list[tuple[str, str | None, str | None]]:
    found = [(p.code, p.node_id, p.edge_id) for p in validate(parse_document(data), REGISTRY)]
    return sorted(found, key=lambda t: tuple(x or "" for x in t))


def test_good_document_round_trips_and_validates() -> None:
    document = parse_document(json.dumps(GOOD))
    assert validate(document, REGISTRY) == []
    ensure_valid(document, REGISTRY)
    again = parse_document(document.to_json())
    assert again == document
    assert again.node("lookup").position.x == 0.0


def test_every_problem_is_reported_at_once_with_ids() -> None:
    bad = {
        "name": "Broken",
        "nodes": [
            node("a", "manual_trigger", "Start"),
            node("b", "http_request", "Call", method="FETCH", timeout=0, url="ftp://x"),
            node("b", "teleport", "Beam"),
            node("c", "delay", "Wait"),
            node("d", "set_fields", "Wait", fields="nope"),
            node("e", "log", "Log", message="{{ $node['Ghost'].output }}", colour="red"),
            node("f", "condition", "Loop1", condition="{{ 1 + }}"),
            node("g", "condition", "Loop2", condition="{{ true }}"),
        ],
        "edges": [
            edge("e1", "a", "zzz"),
            edge("e2", "f", "g", source_port="true"),
            edge("e3", "g", "f", source_port="true"),
            edge("e4", "c", "a"),
            edge("e5", "a", "c", source_port="nope"),
            edge("e6", "f", "e", source_port="true"),
            edge("e7", "g", "e", source_port="false"),
            edge("e7", "c", "d"),
        ],
    }
    found = problems(bad)
    codes = {code for code, _, _ in found}
    assert codes == {
        "DUPLICATE_ID",
        "DUPLICATE_NAME",
        "UNKNOWN_TYPE",
        "BAD_PARAM",
        "MISSING_PARAM",
        "UNKNOWN_PARAM",
        "UNKNOWN_REFERENCE",
        "BAD_EXPRESSION",
        "DANGLING_EDGE",
        "UNKNOWN_PORT",
        "CYCLE",
    }
    assert ("DANGLING_EDGE", None, "e1") in found
    assert ("CYCLE", "f", None) in found and ("CYCLE", "g", None) in found
    assert ("MISSING_PARAM", "c", None) in found
    assert ("UNKNOWN_PORT", "a", "e4") in found  # a trigger has no input
    assert ("UNKNOWN_PORT", "a", "e5") in found
    assert ("DUPLICATE_ID", None, "e7") in found
    messages = [p.message for p in validate(parse_document(bad), REGISTRY)]
    assert any("method must be one of GET" in m for m in messages)
    assert any("timeout must be at least 0.1" in m for m in messages)
    assert any("is not an http:// or https:// URL" in m for m in messages)
    assert any("fields must be an object, not str" in m for m in messages)
    with pytest.raises(ServiceError) as info:
        ensure_valid(parse_document(bad), REGISTRY)
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert len(info.value.details["problems"]) == len(found)


def test_no_trigger_incompatible_ports_and_single_input() -> None:
    registry = NodeRegistry(
        [
            *REGISTRY.all(),
            NodeType("numbers", "Numbers", "Test", "", outputs=(PortSpec("main", "number"),)),
            NodeType("texts", "Texts", "Test", "", inputs=(PortSpec("main", "string"),)),
        ]
    )
    data = {
        "name": "x",
        "nodes": [node("n", "numbers"), node("t", "texts"), node("o", "log")],
        "edges": [edge("e1", "n", "t"), edge("e2", "n", "o")],
    }
    found = [(p.code, p.node_id, p.edge_id) for p in validate(parse_document(data), registry)]
    assert ("INCOMPATIBLE_PORTS", "t", "e1") in found
    assert ("NO_TRIGGER", None, None) in found
    data2 = {
        "name": "y",
        "nodes": [
            node("a", "manual_trigger"),
            node("b", "manual_trigger", "B"),
            node("d", "delay", seconds=1),
        ],
        "edges": [edge("e1", "a", "d"), edge("e2", "b", "d")],
    }
    assert ("TOO_MANY_INPUTS", "d", "e2") in problems(data2)
    data3 = {
        "name": "z",
        "nodes": [
            node("a", "manual_trigger"),
            node("b", "manual_trigger", "B"),
            node("m", "merge"),
        ],
        "edges": [edge("e1", "a", "m"), edge("e2", "b", "m")],
    }
    assert problems(data3) == []


def test_switch_ports_follow_its_cases_and_schedule_params_are_checked() -> None:
    data = {
        "name": "s",
        "nodes": [
            node("t", "schedule_trigger", "Nightly", cron="0 2 * * *", timezone="America/Chicago"),
            node("s", "switch", "By make", value="{{ $input.make }}", cases=["Honda", "Ford"]),
            node("h", "log", "Honda"),
            node("f", "log", "Ford"),
            node("o", "log", "Other"),
        ],
        "edges": [
            edge("e1", "t", "s"),
            edge("e2", "s", "h", "case_0"),
            edge("e3", "s", "f", "case_1"),
            edge("e4", "s", "o", "default"),
        ],
    }
    assert problems(data) == []
    data["edges"].append(edge("e5", "s", "o", "case_2"))
    data["nodes"][0]["params"] = {
        "cron": "every night",
        "timezone": "Mars/Olympus",
        "missed_runs": "{{ 1 }}",
    }
    found = problems(data)
    assert ("UNKNOWN_PORT", "s", "e5") in found
    messages = [p.message for p in validate(parse_document(data), REGISTRY)]
    assert any("is not a cron expression" in m for m in messages)
    assert any("is not a time zone name" in m for m in messages)
    assert any("missed_runs cannot be an expression" in m for m in messages)


def test_json_schema_param_is_checked() -> None:
    data = {
        "name": "v",
        "nodes": [
            node("t", "manual_trigger"),
            node("v", "validate_data", schema={"type": "objekt"}),
        ],
        "edges": [edge("e1", "t", "v")],
    }
    messages = [p.message for p in validate(parse_document(data), REGISTRY)]
    assert any("not a valid JSON Schema" in m for m in messages)


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        ("{not json", ErrorCode.INVALID_INPUT, "not valid JSON"),
        ("[1, 2]", ErrorCode.INVALID_INPUT, "JSON object"),
        (b"\xff\xfe", ErrorCode.INVALID_INPUT, "not UTF-8"),
        (b"x" * (MAX_DOCUMENT_BYTES + 1), ErrorCode.PAYLOAD_TOO_LARGE, "larger than 10 MB"),
        ({"name": "", "nodes": "all of them"}, ErrorCode.VALIDATION_ERROR, "problem"),
        (
            {"name": "x", "nodes": [{"id": "a b", "type": "log", "name": "n", "params": []}]},
            ErrorCode.VALIDATION_ERROR,
            "nodes.0",
        ),
        ({"name": "x", "version": 99}, ErrorCode.VALIDATION_ERROR, "version"),
        ({"name": "x", "extra": True}, ErrorCode.VALIDATION_ERROR, "extra"),
    ],
)
def test_bad_files_give_clear_errors(payload: Any, code: ErrorCode, fragment: str) -> None:
    with pytest.raises(ServiceError) as info:
        parse_document(payload)
    assert info.value.code is code
    assert fragment in info.value.message


def test_shape_problems_name_the_node() -> None:
    with pytest.raises(ServiceError) as info:
        parse_document(
            {"name": "x", "nodes": [{"id": "n1", "type": "log", "name": "", "params": {}}]}
        )
    assert info.value.details["problems"][0]["node_id"] == "n1"


def test_registry_rules() -> None:
    registry = builtin_registry()
    assert {"Triggers", "Network", "Flow", "Data", "Human", "Output"} <= set(registry.categories())
    assert registry.get("manual_trigger").trigger
    with pytest.raises(ServiceError) as info:
        registry.register(registry.get("log"))
    assert info.value.code is ErrorCode.CONFLICT
    with pytest.raises(ValueError, match="unknown port type"):
        PortSpec("x", "pointer")
    with pytest.raises(ValueError, match="unknown parameter type"):
        ParamSpec("x", "blob")
