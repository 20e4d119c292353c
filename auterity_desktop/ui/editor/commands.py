"""Every edit of the editor as one ``QUndoCommand`` that calls ``EditableWorkflow`` methods.

Commands hold plain data (node and edge models, positions), never graphics items: the scene
rebuilds its items from the model's announcements, so undo works however the items came
and went. Multi-item edits are one command (or a macro), so one Ctrl+Z undoes them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from auterity_desktop.services.workflows.document import Annotation, WorkflowEdge, WorkflowNode
from auterity_desktop.services.workflows.editable import EditableWorkflow

MOVE_ID = 1  # consecutive nudges of the same selection merge into one undo step


class AddItems(QUndoCommand):
    """Add nodes, edges and annotations (new node, paste, duplicate, connect)."""

    def __init__(
        self,
        model: EditableWorkflow,
        text: str,
        nodes: list[WorkflowNode] = (),  # type: ignore[assignment]
        edges: list[WorkflowEdge] = (),  # type: ignore[assignment]
        annotations: list[Annotation] = (),  # type: ignore[assignment]
    ) -> None:
        super().__init__(text)
        self.model = model
        self.nodes = list(nodes)
        self.edges = list(edges)
        self.annotations = list(annotations)

    def redo(self) -> None:
        for annotation in self.annotations:
            self.model.add_annotation(annotation)
        for node in self.nodes:
            self.model.add_node(node)
        for edge in self.edges:
            self.model.add_edge(edge)

    def undo(self) -> None:
        for edge in reversed(self.edges):
            self.model.remove_edge(edge.id)
        for node in reversed(self.nodes):
            self.model.remove_node(node.id)
        for annotation in reversed(self.annotations):
            self.model.remove_annotation(annotation.id)


class RemoveItems(QUndoCommand):
    """Delete nodes (with their edges), edges and annotations; undo puts each back at its
    place in the document."""

    def __init__(
        self,
        model: EditableWorkflow,
        text: str,
        node_ids: list[str] = (),  # type: ignore[assignment]
        edge_ids: list[str] = (),  # type: ignore[assignment]
        annotation_ids: list[str] = (),  # type: ignore[assignment]
    ) -> None:
        super().__init__(text)
        self.model = model
        self.node_ids = [n for n in dict.fromkeys(node_ids) if n in model.nodes]
        wanted = set(edge_ids) | set(model.edges_of(self.node_ids))
        self.edge_ids = [e for e in model.edges if e in wanted]  # document order
        self.annotation_ids = [a for a in dict.fromkeys(annotation_ids) if a in model.annotations]
        self._removed: dict[str, list[tuple[Any, int]]] = {}

    def redo(self) -> None:
        # Remove from the back so the recorded indexes stay valid for undo in reverse.
        edges = [self.model.remove_edge(e) for e in reversed(self.edge_ids)]
        order = list(self.model.nodes)
        nodes_ = sorted(self.node_ids, key=order.index, reverse=True)
        nodes = [self.model.remove_node(n) for n in nodes_]
        order = list(self.model.annotations)
        notes_ = sorted(self.annotation_ids, key=order.index, reverse=True)
        notes = [self.model.remove_annotation(a) for a in notes_]
        self._removed = {"edges": edges, "nodes": nodes, "annotations": notes}

    def undo(self) -> None:
        for annotation, index in reversed(self._removed["annotations"]):
            self.model.add_annotation(annotation, index)
        for node, index in reversed(self._removed["nodes"]):
            self.model.add_node(node, index)
        for edge, index in reversed(self._removed["edges"]):
            self.model.add_edge(edge, index)


class UpdateNode(QUndoCommand):
    """Change fields of one node (rename, parameters, disable, settings)."""

    def __init__(
        self, model: EditableWorkflow, node_id: str, fields: dict[str, Any], text: str
    ) -> None:
        super().__init__(text)
        self.model = model
        self.node_id = node_id
        self.new = fields
        self.old: dict[str, Any] = {}

    def redo(self) -> None:
        self.old = self.model.update_node(self.node_id, **self.new)

    def undo(self) -> None:
        self.model.update_node(self.node_id, **self.old)


class UpdateAnnotation(QUndoCommand):
    def __init__(
        self, model: EditableWorkflow, annotation_id: str, fields: dict[str, Any], text: str
    ) -> None:
        super().__init__(text)
        self.model = model
        self.annotation_id = annotation_id
        self.new = fields
        self.old: dict[str, Any] = {}

    def redo(self) -> None:
        self.old = self.model.update_annotation(self.annotation_id, **self.new)

    def undo(self) -> None:
        self.model.update_annotation(self.annotation_id, **self.old)


class MoveItems(QUndoCommand):
    """Move nodes and annotations (drag, nudge, align, distribute, auto-layout)."""

    def __init__(
        self,
        model: EditableWorkflow,
        positions: dict[str, tuple[float, float]],
        text: str = "Move",
        old: dict[str, tuple[float, float]] | None = None,
        merge: bool = False,
    ) -> None:
        super().__init__(text)
        self.model = model
        self.new = dict(positions)
        self.old = dict(old) if old is not None else None
        self.merge = merge

    def redo(self) -> None:
        before = self.model.move(self.new)
        if self.old is None:
            self.old = before

    def undo(self) -> None:
        assert self.old is not None
        self.model.move(self.old)

    def id(self) -> int:
        return MOVE_ID if self.merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveItems) or set(other.new) != set(self.new):
            return False
        self.new = other.new
        return True


class SetExecution(QUndoCommand):
    """Run here or hand runs to team workers: undoable like any other edit."""

    def __init__(self, model: EditableWorkflow, execution: str) -> None:
        super().__init__("Run on team workers" if execution == "workers" else "Run here")
        self.model = model
        self.new, self.old = execution, model.execution

    def redo(self) -> None:
        self.model.set_execution(self.new)

    def undo(self) -> None:
        self.model.set_execution(self.old)


class SetHeader(QUndoCommand):
    def __init__(self, model: EditableWorkflow, name: str, description: str) -> None:
        super().__init__("Rename workflow")
        self.model = model
        self.new = (name, description)
        self.old = (model.name, model.description)

    def redo(self) -> None:
        self.model.set_header(*self.new)

    def undo(self) -> None:
        self.model.set_header(*self.old)
