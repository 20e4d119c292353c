"""Validation of a workflow graph: every problem at once, each with its node or edge id.

Problems found: duplicate node or edge ids, duplicate node names (``$node["Name"]`` must be
unambiguous), unknown node types, edges to missing nodes or ports, incompatible port types,
several edges into a single-input port, cycles, missing or ill-typed parameters, bad
expressions, references to nodes that do not exist, and a workflow without a trigger.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.document import WorkflowDocument
from auterity_desktop.services.workflows.expressions import check_syntax, is_template
from auterity_desktop.services.workflows.graph import LOOP_BODY_PORT, loop_bodies
from auterity_desktop.services.workflows.registry import (
    NodeRegistry,
    NodeType,
    ParamSpec,
    ports_compatible,
)

_NODE_REFERENCE = re.compile(
    r"""\$node\s*(?:\[\s*["']([^"']+)["']\s*\]|\.([A-Za-z_][A-Za-z0-9_]*))"""
)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    param: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "any": lambda v: True,
    "enum": lambda v: isinstance(v, str),
}


def _type_problem(spec: ParamSpec, value: Any) -> str | None:
    if value is None:
        return None
    if not _TYPE_CHECKS[spec.type](value):
        article = "an" if spec.type in ("integer", "object", "enum") else "a"
        return f"must be {article} {spec.type}, not {type(value).__name__}"
    if spec.type == "enum" and value not in spec.choices:
        return f"must be one of {', '.join(spec.choices)}"
    if spec.type in ("number", "integer"):
        if spec.minimum is not None and value < spec.minimum:
            return f"must be at least {spec.minimum:g}"
        if spec.maximum is not None and value > spec.maximum:
            return f"must be at most {spec.maximum:g}"
    if spec.check is not None:
        return spec.check(value)
    return None


def _param_problems(node_id: str, node_type: NodeType, params: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for spec in node_type.params:
        value = params.get(spec.name)
        if value is None or value == "":
            if spec.required:
                problems.append(
                    Problem("MISSING_PARAM", f"{spec.name} is required", node_id, param=spec.name)
                )
            continue
        if is_template(value) and isinstance(value, str):
            if not spec.expression:
                problems.append(
                    Problem(
                        "BAD_PARAM",
                        f"{spec.name} cannot be an expression",
                        node_id,
                        param=spec.name,
                    )
                )
            continue
        reason = _type_problem(spec, value)
        if reason:
            problems.append(Problem("BAD_PARAM", f"{spec.name} {reason}", node_id, param=spec.name))
    for name in params:
        if node_type.param(name) is None and name != "personal_fields":
            problems.append(
                Problem(
                    "UNKNOWN_PARAM",
                    f"{node_type.type} has no parameter {name!r}",
                    node_id,
                    param=name,
                )
            )
    for name, value in params.items():
        for error in check_syntax(value):
            problems.append(
                Problem("BAD_EXPRESSION", f"{name}: {error.message}", node_id, param=name)
            )
    return problems


def _cycles(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one node, or a self-loop (Tarjan)."""
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        if source in graph and target in graph:
            graph[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    result.append(sorted(component))
    return result


def validate(document: WorkflowDocument, registry: NodeRegistry) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for node in document.nodes:
        seen[node.id] = seen.get(node.id, 0) + 1
    for node_id, count in seen.items():
        if count > 1:
            problems.append(
                Problem("DUPLICATE_ID", f"{count} nodes have the id {node_id!r}", node_id)
            )
    names: dict[str, list[str]] = {}
    for node in document.nodes:
        names.setdefault(node.name, []).append(node.id)
    for name, ids in names.items():
        if len(ids) > 1:
            for node_id in ids:
                problems.append(
                    Problem(
                        "DUPLICATE_NAME", f"the name {name!r} is used by {len(ids)} nodes", node_id
                    )
                )
    edge_ids: dict[str, int] = {}
    for edge in document.edges:
        edge_ids[edge.id] = edge_ids.get(edge.id, 0) + 1
    for edge_id, count in edge_ids.items():
        if count > 1:
            problems.append(
                Problem("DUPLICATE_ID", f"{count} edges have the id {edge_id!r}", edge_id=edge_id)
            )

    nodes = {n.id: n for n in document.nodes}
    types: dict[str, NodeType] = {}
    for node in document.nodes:
        node_type = registry.get(node.type)
        if node_type is None:
            problems.append(
                Problem("UNKNOWN_TYPE", f"there is no node type {node.type!r}", node.id)
            )
            continue
        types[node.id] = node_type
        problems.extend(_param_problems(node.id, node_type, node.params))
        for match in _NODE_REFERENCE.finditer(str(node.params)):
            referenced = match.group(1) or match.group(2)
            if referenced not in names:
                problems.append(
                    Problem(
                        "UNKNOWN_REFERENCE",
                        f"refers to a node named {referenced!r} that does not exist",
                        node.id,
                    )
                )

    inbound: dict[tuple[str, str], list[str]] = {}
    for edge in document.edges:
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if source is None or target is None:
            missing = edge.source if source is None else edge.target
            problems.append(
                Problem(
                    "DANGLING_EDGE",
                    f"connects to a node {missing!r} that does not exist",
                    edge_id=edge.id,
                )
            )
            continue
        source_type, target_type = types.get(edge.source), types.get(edge.target)
        if source_type is None or target_type is None:
            continue
        out_port = source_type.output(edge.source_port, source.params)
        in_port = target_type.input(edge.target_port)
        if out_port is None:
            available = ", ".join(p.name for p in source_type.output_ports(source.params)) or "none"
            problems.append(
                Problem(
                    "UNKNOWN_PORT",
                    f"{source.name} has no output {edge.source_port!r} (outputs: {available})",
                    edge.source,
                    edge.id,
                )
            )
            continue
        if in_port is None:
            available = ", ".join(p.name for p in target_type.inputs) or "none: it is a trigger"
            problems.append(
                Problem(
                    "UNKNOWN_PORT",
                    f"{target.name} has no input {edge.target_port!r} (inputs: {available})",
                    edge.target,
                    edge.id,
                )
            )
            continue
        if not ports_compatible(out_port.type, in_port.type):
            problems.append(
                Problem(
                    "INCOMPATIBLE_PORTS",
                    f"{source.name}.{out_port.name} gives {out_port.type} but "
                    f"{target.name}.{in_port.name} takes {in_port.type}",
                    edge.target,
                    edge.id,
                )
            )
        inbound.setdefault((edge.target, edge.target_port), []).append(edge.id)
    for (node_id, port), edges in inbound.items():
        node_type = types[node_id]
        spec = node_type.input(port)
        if spec is not None and not spec.multiple and len(edges) > 1:
            problems.append(
                Problem(
                    "TOO_MANY_INPUTS",
                    f"input {port!r} takes one connection, not {len(edges)}; use a Merge node",
                    node_id,
                    edges[1],
                )
            )

    for component in _cycles(list(nodes), [(e.source, e.target) for e in document.edges]):
        for node_id in component:
            problems.append(
                Problem("CYCLE", "is part of a cycle: " + " → ".join(component), node_id)
            )

    problems.extend(_loop_problems(document, nodes))
    if document.nodes and not any(t.trigger for t in types.values()):
        problems.append(
            Problem("NO_TRIGGER", "the workflow has no trigger node, so it can never start")
        )
    if not document.nodes:
        problems.append(Problem("NO_TRIGGER", "the workflow is empty"))
    return problems


def _loop_problems(document: WorkflowDocument, nodes: dict[str, Any]) -> list[Problem]:
    """A loop body is entered only through its for-each's ``each`` port, and cannot pause
    for a human (a paused item would hold the whole loop)."""
    problems = []
    for loop_id, body in loop_bodies(document).items():
        for edge in document.edges:
            if edge.target not in body or edge.source in body:
                continue
            if edge.source == loop_id and edge.source_port == LOOP_BODY_PORT:
                continue
            problems.append(
                Problem(
                    "LOOP_ENTRY",
                    f"{nodes[edge.target].name} runs inside the loop "
                    f"{nodes[loop_id].name!r}, so it can only be fed from inside it",
                    edge.target,
                    edge.id,
                )
            )
        for node_id in sorted(body):
            if nodes[node_id].type == "approval":
                problems.append(
                    Problem(
                        "APPROVAL_IN_LOOP",
                        f"an approval cannot wait inside the loop {nodes[loop_id].name!r}; "
                        "put it before or after the loop",
                        node_id,
                    )
                )
    return problems


def ensure_valid(document: WorkflowDocument, registry: NodeRegistry) -> None:
    problems = validate(document, registry)
    if problems:
        raise ServiceError(
            ErrorCode.VALIDATION_ERROR,
            f"The workflow {document.name!r} has {len(problems)} problem(s): "
            + "; ".join(p.message for p in problems[:3]),
            {"problems": [p.to_dict() for p in problems]},
        )
