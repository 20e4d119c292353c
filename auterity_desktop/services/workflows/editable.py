"""A workflow document being edited: small mutations, each announced to observers.

The editor's scene observes this model and the undo commands call its methods; the model
knows nothing of either (and nothing of Qt), so edits can be tested, replayed and undone
without a window. Items keep their document order — undo puts a removed node back where it
was — so undoing every edit gives back the document exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from auterity_desktop.services.workflows.document import (
    Annotation,
    Position,
    WorkflowDocument,
    WorkflowEdge,
    WorkflowNode,
)

Listener = Callable[[str, str], None]  # (event, item id)

# Events: node_added, node_removed, node_changed, node_moved, edge_added, edge_removed,
# annotation_added, annotation_removed, annotation_changed, document_changed (id "").

NODE_FIELDS = frozenset(
    {"name", "params", "position", "disabled", "notes", "retry", "timeout", "on_error"}
)
ANNOTATION_FIELDS = frozenset({"text", "position", "size", "color", "kind"})


class EditableWorkflow:
    def __init__(self, document: WorkflowDocument) -> None:
        doc = document.model_copy(deep=True)
        self.name = doc.name
        self.description = doc.description
        self._header = doc.model_dump(
            mode="json", exclude={"nodes", "edges", "annotations", "name", "description"}
        )
        self.nodes: dict[str, WorkflowNode] = {n.id: n for n in doc.nodes}
        self.edges: dict[str, WorkflowEdge] = {e.id: e for e in doc.edges}
        self.annotations: dict[str, Annotation] = {a.id: a for a in doc.annotations}
        self._listeners: list[Listener] = []

    # -- observers ----------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: str, item_id: str) -> None:
        for listener in list(self._listeners):
            listener(event, item_id)

    # -- reading ------------------------------------------------------------------------
    def to_document(self) -> WorkflowDocument:
        return WorkflowDocument.model_validate(
            {
                **self._header,
                "name": self.name,
                "description": self.description,
                "nodes": [n.model_dump(mode="json") for n in self.nodes.values()],
                "edges": [e.model_dump(mode="json") for e in self.edges.values()],
                "annotations": [a.model_dump(mode="json") for a in self.annotations.values()],
            }
        )

    def edges_of(self, node_ids: Iterable[str]) -> list[str]:
        """Edges touching any of the nodes, in document order."""
        wanted = set(node_ids)
        return [e.id for e in self.edges.values() if e.source in wanted or e.target in wanted]

    def new_id(self, prefix: str) -> str:
        taken = self.nodes.keys() | self.edges.keys() | self.annotations.keys()
        clean = "".join(c if c.isalnum() or c in "_-" else "_" for c in prefix)[:60] or "item"
        for n in itertools.count(1):
            candidate = f"{clean}_{n}"
            if candidate not in taken:
                return candidate
        raise AssertionError("unreachable")

    def new_name(self, base: str) -> str:
        taken = {n.name for n in self.nodes.values()}
        if base not in taken:
            return base
        for n in itertools.count(2):
            if f"{base} {n}" not in taken:
                return f"{base} {n}"
        raise AssertionError("unreachable")

    # -- mutations (each announces itself) ------------------------------------------------
    def add_node(self, node: WorkflowNode, index: int | None = None) -> None:
        self.nodes = _insert(self.nodes, node.id, node, index)
        self._emit("node_added", node.id)

    def remove_node(self, node_id: str) -> tuple[WorkflowNode, int]:
        """Remove a node (its edges must already be gone); returns it and where it was."""
        index = list(self.nodes).index(node_id)
        node = self.nodes.pop(node_id)
        self._emit("node_removed", node_id)
        return node, index

    def update_node(self, node_id: str, **fields: Any) -> dict[str, Any]:
        """Change some fields; returns their previous values (for undo)."""
        unknown = set(fields) - NODE_FIELDS
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        node = self.nodes[node_id]
        old = {k: _plain(getattr(node, k)) for k in fields}
        updated = WorkflowNode.model_validate({**node.model_dump(mode="json"), **_plain(fields)})
        self.nodes[node_id] = updated
        self._emit("node_changed", node_id)
        return old

    def move(self, positions: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """Move nodes and annotations at once (dragging hundreds must stay instant);
        returns where they were."""
        old = {}
        for item_id, (x, y) in positions.items():
            item = self.nodes.get(item_id) or self.annotations[item_id]
            old[item_id] = (item.position.x, item.position.y)
            item.position = Position(x=float(x), y=float(y))
        for item_id in positions:
            self._emit("node_moved" if item_id in self.nodes else "annotation_changed", item_id)
        return old

    def add_edge(self, edge: WorkflowEdge, index: int | None = None) -> None:
        self.edges = _insert(self.edges, edge.id, edge, index)
        self._emit("edge_added", edge.id)

    def remove_edge(self, edge_id: str) -> tuple[WorkflowEdge, int]:
        index = list(self.edges).index(edge_id)
        edge = self.edges.pop(edge_id)
        self._emit("edge_removed", edge_id)
        return edge, index

    def add_annotation(self, annotation: Annotation, index: int | None = None) -> None:
        self.annotations = _insert(self.annotations, annotation.id, annotation, index)
        self._emit("annotation_added", annotation.id)

    def remove_annotation(self, annotation_id: str) -> tuple[Annotation, int]:
        index = list(self.annotations).index(annotation_id)
        annotation = self.annotations.pop(annotation_id)
        self._emit("annotation_removed", annotation_id)
        return annotation, index

    def update_annotation(self, annotation_id: str, **fields: Any) -> dict[str, Any]:
        unknown = set(fields) - ANNOTATION_FIELDS
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        item = self.annotations[annotation_id]
        old = {k: _plain(getattr(item, k)) for k in fields}
        self.annotations[annotation_id] = Annotation.model_validate(
            {**item.model_dump(mode="json"), **_plain(fields)}
        )
        self._emit("annotation_changed", annotation_id)
        return old

    @property
    def execution(self) -> str:
        """Where runs go: "local" (this console) or "workers" (team workers)."""
        return str((self._header.get("settings") or {}).get("execution") or "local")

    def set_execution(self, execution: str) -> None:
        settings = dict(self._header.get("settings") or {})
        if execution == "local":
            settings.pop("execution", None)
        else:
            settings["execution"] = execution
        self._header["settings"] = settings
        self._emit("document_changed", "")

    def set_header(self, name: str | None = None, description: str | None = None) -> None:
        if name is not None:
            self.name = name
        if description is not None:
            self.description = description
        self._emit("document_changed", "")


def _insert(items: dict[str, Any], key: str, value: Any, index: int | None) -> dict[str, Any]:
    if key in items:
        raise ValueError(f"{key!r} already exists")
    if index is None or index >= len(items):
        items[key] = value
        return items
    pairs = list(items.items())
    pairs.insert(index, (key, value))
    return dict(pairs)


def _plain(value: Any) -> Any:
    """Pydantic values as plain JSON-like data, so old and new values compare and copy."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
