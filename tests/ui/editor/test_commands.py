"""Undo commands over the editable model: random edit sequences undo back to the exact
original document, redo forward to the exact edited one, and the canvas follows both."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack

from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.document import (
    Annotation,
    Position,
    WorkflowEdge,
    WorkflowNode,
    parse_document,
)
from auterity_desktop.services.workflows.editable import EditableWorkflow
from auterity_desktop.ui.editor.commands import (
    AddItems,
    MoveItems,
    RemoveItems,
    UpdateAnnotation,
    UpdateNode,
)
from auterity_desktop.ui.editor.scene import WorkflowScene

REGISTRY = builtin_registry()
ORIGINAL = parse_document(
    {
        "name": "Lead follow-up",
        "nodes": [
            {"id": "t", "type": "manual_trigger", "name": "Start", "position": {"x": 0, "y": 0}},
            {"id": "s", "type": "set_fields", "name": "Set", "params": {"fields": {"a": 1}}},
            {"id": "c", "type": "condition", "name": "Hot?", "params": {"condition": "{{ 1 }}"}},
            {"id": "o", "type": "log", "name": "Out"},
        ],
        "edges": [
            {"id": "e1", "source": "t", "target": "s"},
            {"id": "e2", "source": "s", "target": "c"},
            {"id": "e3", "source": "c", "source_port": "true", "target": "o"},
        ],
        "annotations": [{"id": "n1", "kind": "note", "text": "Call within 2 h"}],
    }
)

edit = st.tuples(
    st.sampled_from(["add", "remove", "connect", "disconnect", "update", "move", "note"]),
    st.integers(min_value=0, max_value=1000),
    st.integers(min_value=0, max_value=1000),
)


def apply(model: EditableWorkflow, stack: QUndoStack, op: str, a: int, b: int) -> None:
    nodes = list(model.nodes)
    edges = list(model.edges)
    if op == "add":
        node = WorkflowNode(
            id=model.new_id("log"),
            type="log",
            name=model.new_name("Log"),
            position=Position(x=a, y=b),
        )
        stack.push(AddItems(model, "add", nodes=[node]))
    elif op == "remove" and nodes:
        chosen = [nodes[a % len(nodes)], nodes[b % len(nodes)]]
        stack.push(RemoveItems(model, "remove", node_ids=chosen))
    elif op == "connect" and len(nodes) > 1:
        edge = WorkflowEdge(
            id=model.new_id("e"), source=nodes[a % len(nodes)], target=nodes[b % len(nodes)]
        )
        stack.push(AddItems(model, "connect", edges=[edge]))
    elif op == "disconnect" and edges:
        stack.push(RemoveItems(model, "disconnect", edge_ids=[edges[a % len(edges)]]))
    elif op == "update" and nodes:
        node_id = nodes[a % len(nodes)]
        fields: dict[str, Any] = [
            {"name": model.new_name(f"N{b}")},
            {"disabled": not model.nodes[node_id].disabled},
            {"params": {"message": f"m{b}"}},
            {"notes": "x" * (b % 5), "on_error": "continue"},
        ][b % 4]
        stack.push(UpdateNode(model, node_id, fields, "update"))
    elif op == "move" and nodes:
        stack.push(MoveItems(model, {nodes[a % len(nodes)]: (a, -b)}, merge=b % 2 == 0))
    elif op == "note":
        notes = list(model.annotations)
        if notes and b % 2:
            stack.push(UpdateAnnotation(model, notes[a % len(notes)], {"text": f"t{a}"}, "text"))
        else:
            note = Annotation(id=model.new_id("note"), text=str(a))
            stack.push(AddItems(model, "note", annotations=[note]))


def dump(model: EditableWorkflow) -> dict[str, Any]:
    return model.to_document().model_dump(mode="json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edit, min_size=1, max_size=40))
def test_random_edits_undo_to_the_exact_original(qapp: Any, edits: list[Any]) -> None:
    model = EditableWorkflow(ORIGINAL)
    stack = QUndoStack()
    scene = WorkflowScene(model, REGISTRY, stack)
    before = dump(model)
    for op, a, b in edits:
        apply(model, stack, op, a, b)
        assert set(scene.node_items) == set(model.nodes)
        assert set(scene.annotation_items) == set(model.annotations)
    after = dump(model)
    while stack.canUndo():
        stack.undo()
    assert dump(model) == before
    assert set(scene.node_items) == set(model.nodes)
    assert set(scene.edge_items) == set(model.edges)
    while stack.canRedo():
        stack.redo()
    assert dump(model) == after
    assert set(scene.node_items) == set(model.nodes)
    for node_id, item in scene.node_items.items():
        position = model.nodes[node_id].position
        assert (item.pos().x(), item.pos().y()) == (position.x, position.y)
    scene.detach()


def test_removing_a_node_removes_its_wires_and_undo_restores_order(qapp: Any) -> None:
    model = EditableWorkflow(ORIGINAL)
    stack = QUndoStack()
    scene = WorkflowScene(model, REGISTRY, stack)
    stack.push(RemoveItems(model, "remove", node_ids=["s"]))
    assert list(model.nodes) == ["t", "c", "o"]
    assert list(model.edges) == ["e3"]
    assert set(scene.edge_items) == {"e3"}
    stack.undo()
    assert dump(model) == ORIGINAL.model_dump(mode="json")
    assert set(scene.edge_items) == {"e1", "e2", "e3"}


def test_consecutive_nudges_merge_into_one_undo_step(qapp: Any) -> None:
    model = EditableWorkflow(ORIGINAL)
    stack = QUndoStack()
    for step in range(1, 6):
        stack.push(MoveItems(model, {"t": (step * 10.0, 0.0)}, "Nudge", merge=True))
    assert stack.count() == 1
    stack.undo()
    assert model.nodes["t"].position.x == 0
