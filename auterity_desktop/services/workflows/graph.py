"""The shape of a workflow as the engine walks it: adjacency, and the scopes that for-each
loops create.

The nodes reachable from a for-each node's ``each`` port are its *body*: they run once per
item inside the loop and belong to no other scope; its ``done`` port continues in the scope
the loop itself is in. Loops nest. Computed once per workflow version and cached, because a
large graph would otherwise be re-analysed on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auterity_desktop.services.workflows.document import (
    WorkflowDocument,
    WorkflowEdge,
    WorkflowNode,
)

LOOP_TYPE = "for_each"
LOOP_BODY_PORT = "each"


@dataclass
class RunGraph:
    nodes: dict[str, WorkflowNode]
    incoming: dict[str, list[WorkflowEdge]]
    outgoing: dict[str, list[str]]
    bodies: dict[str, set[str]]  # for-each node id → every node of its body (nested too)
    owner: dict[str, str | None]  # node id → the innermost loop it belongs to (None: main)
    scopes: dict[str | None, list[str]] = field(default_factory=dict)  # owner → its nodes
    leaves: dict[str | None, list[str]] = field(default_factory=dict)  # no outgoing edges

    @classmethod
    def build(cls, document: WorkflowDocument) -> RunGraph:
        nodes = {n.id: n for n in document.nodes}
        incoming: dict[str, list[WorkflowEdge]] = {n: [] for n in nodes}
        outgoing: dict[str, list[str]] = {n: [] for n in nodes}
        for edge in document.edges:
            if edge.source in nodes and edge.target in nodes:
                incoming[edge.target].append(edge)
                outgoing[edge.source].append(edge.target)
        bodies = loop_bodies(document)
        owner: dict[str, str | None] = dict.fromkeys(nodes)
        for loop_id in sorted(bodies, key=lambda loop: len(bodies[loop]), reverse=True):
            for node_id in bodies[loop_id]:  # smaller (inner) bodies overwrite outer ones
                owner[node_id] = loop_id
        scopes: dict[str | None, list[str]] = {None: []}
        for loop_id in bodies:
            scopes[loop_id] = []
        for node_id in nodes:
            scopes[owner[node_id]].append(node_id)
        # A leaf gives nothing on to its own scope (a loop feeding only its body is one).
        leaves = {
            scope: [n for n in members if all(owner[t] != scope for t in outgoing[n])]
            for scope, members in scopes.items()
        }
        return cls(nodes, incoming, outgoing, bodies, owner, scopes, leaves)

    def reachable(self, start: list[str]) -> set[str]:
        seen, stack = set(start), list(start)
        while stack:
            for target in self.outgoing[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen


def loop_bodies(document: WorkflowDocument) -> dict[str, set[str]]:
    """For each for-each node, the nodes reachable from its ``each`` port."""
    outgoing: dict[str, list[str]] = {}
    for edge in document.edges:
        outgoing.setdefault(edge.source, []).append(edge.target)
    bodies: dict[str, set[str]] = {}
    for node in document.nodes:
        if node.type != LOOP_TYPE:
            continue
        stack = [
            e.target
            for e in document.edges
            if e.source == node.id and e.source_port == LOOP_BODY_PORT
        ]
        body: set[str] = set()
        while stack:
            current = stack.pop()
            if current in body or current == node.id:
                continue
            body.add(current)
            stack.extend(outgoing.get(current, []))
        bodies[node.id] = body
    return bodies
