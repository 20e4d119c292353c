"""The canvas: graphics items that mirror an ``EditableWorkflow``, and the gestures that
turn into undo commands.

The scene never changes the model directly. A gesture (drag a wire, move nodes, delete)
pushes a command; the command changes the model; the model announces the change; the
scene updates its items. So undo and redo need no special cases here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QUndoStack
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
)

from auterity_desktop.services.workflows.document import (
    Annotation,
    Position,
    Size,
    WorkflowEdge,
    WorkflowNode,
)
from auterity_desktop.services.workflows.editable import EditableWorkflow
from auterity_desktop.services.workflows.registry import NodeRegistry, ports_compatible
from auterity_desktop.ui.editor.annotation_item import AnnotationItem
from auterity_desktop.ui.editor.auto_layout import layered_layout
from auterity_desktop.ui.editor.commands import AddItems, MoveItems, RemoveItems, UpdateNode
from auterity_desktop.ui.editor.edge_item import EdgeItem, EdgeLayerItem, wire_path
from auterity_desktop.ui.editor.node_item import GRID, NodeItem, PortItem
from auterity_desktop.ui.editor.overview_item import OVERVIEW_BELOW, NodeOverviewItem
from auterity_desktop.ui.theme import load_palette

CLIPBOARD_FORMAT = "auterity-workflow-fragment"
SHARP_ABOVE = 1.05  # zoom past which cached node pictures would look soft
PASTE_OFFSET = 40.0


class WorkflowScene(QGraphicsScene):
    sig_message = Signal(str)  # why a gesture was refused, or what happened
    sig_node_activated = Signal(str)  # a node was double-clicked
    sig_annotation_activated = Signal(str)  # a note or group was double-clicked

    def __init__(
        self,
        model: EditableWorkflow,
        registry: NodeRegistry,
        stack: QUndoStack,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.registry = registry
        self.stack = stack
        self.colors: dict[str, str] = load_palette("light")
        self.snap_to_grid = False
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[str, EdgeItem] = {}
        self.annotation_items: dict[str, AnnotationItem] = {}
        self._wire: QGraphicsPathItem | None = None
        self._wire_from: PortItem | None = None
        self._drag_start: dict[str, tuple[float, float]] = {}
        self._carried: dict[str, list[QGraphicsItem]] = {}  # group id → nodes it carries
        self.edge_layer = EdgeLayerItem()
        self.addItem(self.edge_layer)
        self.overview = NodeOverviewItem(lambda: self.node_items.values(), lambda: self.colors)
        self.node_cache = QGraphicsItem.CacheMode.ItemCoordinateCache
        self.addItem(self.overview)
        self.selectionChanged.connect(self._selection_changed)
        self.build()
        model.subscribe(self._on_model)

    # -- building items from the model ----------------------------------------------------
    def build(self) -> None:
        for annotation in self.model.annotations.values():
            self._add_annotation_item(annotation)
        for node in self.model.nodes.values():
            self._add_node_item(node)
        for edge in self.model.edges.values():
            self._add_edge_item(edge)

    def detach(self) -> None:
        self.model.unsubscribe(self._on_model)

    def reset(self, model: EditableWorkflow) -> None:
        """Show another document: drop every item and build from the new model."""
        self.detach()
        for edge in list(self.edge_items.values()):
            edge.detach()
        for item in [
            *self.edge_items.values(),
            *self.node_items.values(),
            *self.annotation_items.values(),
        ]:
            self.removeItem(item)
        self.edge_items.clear()
        self.node_items.clear()
        self.annotation_items.clear()
        self.model = model
        self.build()
        model.subscribe(self._on_model)

    def _add_node_item(self, node: WorkflowNode) -> None:
        item = NodeItem(node, self.registry.get(node.type))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, self.overview.active)
        item.setCacheMode(self.node_cache)
        self.node_items[node.id] = item
        self.addItem(item)

    def _add_edge_item(self, edge: WorkflowEdge) -> None:
        source = self.node_items.get(edge.source)
        target = self.node_items.get(edge.target)
        src = source.port(edge.source_port, True) if source else None
        dst = target.port(edge.target_port, False) if target else None
        if src is None or dst is None:
            return  # a dangling edge stays in the document and in the problems list
        item = EdgeItem(edge.id, src, dst, self.edge_layer)
        self.edge_items[edge.id] = item
        self.addItem(item)

    def _add_annotation_item(self, annotation: Annotation) -> None:
        item = AnnotationItem(annotation)
        self.annotation_items[annotation.id] = item
        self.addItem(item)

    def _remove_edge_item(self, edge_id: str) -> None:
        item = self.edge_items.pop(edge_id, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def _selection_changed(self) -> None:
        if shiboken6.isValid(self.overview):  # the scene is not being torn down
            self.overview.mark_dirty()

    def set_zoom_level(self, zoom: float) -> None:
        """Far out, nodes become blocks drawn by one overview item (they stay selectable);
        up to 100 % each node is a cached picture; zoomed in, nodes are painted sharp."""
        overview = zoom < OVERVIEW_BELOW
        cache = (
            QGraphicsItem.CacheMode.ItemCoordinateCache
            if zoom <= SHARP_ABOVE
            else QGraphicsItem.CacheMode.DeviceCoordinateCache
        )
        if overview != self.overview.active:
            self.overview.active = overview
            for item in self.node_items.values():
                item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, overview)
            self.overview.mark_dirty()
            self.overview.update()
        if cache != self.node_cache:
            self.node_cache = cache
            for item in self.node_items.values():
                item.setCacheMode(cache)

    def _on_model(self, event: str, item_id: str) -> None:
        if event.startswith("node_"):
            self.overview.mark_dirty()
        if event == "node_added":
            self._add_node_item(self.model.nodes[item_id])
        elif event == "node_removed":
            item = self.node_items.pop(item_id)
            for edge in list(item.edges):
                self._remove_edge_item(edge.edge_id)
            self.removeItem(item)
        elif event == "node_moved":
            position = self.model.nodes[item_id].position
            self.node_items[item_id].setPos(position.x, position.y)
        elif event == "node_changed":
            item = self.node_items[item_id]
            ports = (list(item.inputs), list(item.outputs))
            item.apply(self.model.nodes[item_id])
            if ports != (list(item.inputs), list(item.outputs)):  # e.g. switch cases changed
                for edge in list(item.edges):
                    self._remove_edge_item(edge.edge_id)
                for edge_id in self.model.edges_of([item_id]):
                    self._add_edge_item(self.model.edges[edge_id])
        elif event == "edge_added":
            self._add_edge_item(self.model.edges[item_id])
        elif event == "edge_removed":
            self._remove_edge_item(item_id)
        elif event == "annotation_added":
            self._add_annotation_item(self.model.annotations[item_id])
        elif event == "annotation_removed":
            self.removeItem(self.annotation_items.pop(item_id))
        elif event == "annotation_changed":
            self.annotation_items[item_id].apply(self.model.annotations[item_id])

    # -- selection ------------------------------------------------------------------------
    def selected_ids(self) -> tuple[list[str], list[str], list[str]]:
        """Selected nodes, edges and annotations, each in document order."""
        chosen = {id(i) for i in self.selectedItems()}
        nodes = [n for n, i in self.node_items.items() if id(i) in chosen]
        edges = [e for e, i in self.edge_items.items() if id(i) in chosen]
        notes = [a for a, i in self.annotation_items.items() if id(i) in chosen]
        order = {k: i for i, k in enumerate(self.model.nodes)}
        return sorted(nodes, key=order.__getitem__), edges, notes

    def select(self, node_ids: Iterable[str], clear: bool = True) -> None:
        if clear:
            self.clearSelection()
        for node_id in node_ids:
            if node_id in self.node_items:
                self.node_items[node_id].setSelected(True)

    # -- editing operations (each one undo step) ----------------------------------------
    def add_node(self, type_name: str, at: QPointF) -> str | None:
        node_type = self.registry.get(type_name)
        if node_type is None:
            self.sig_message.emit(f"There is no node type {type_name!r}")
            return None
        node = self._new_node(node_type.type, node_type.title, at)
        self.stack.push(AddItems(self.model, f"Add {node_type.title}", nodes=[node]))
        self.select([node.id])
        return node.id

    def _new_node(self, type_name: str, title: str, at: QPointF) -> WorkflowNode:
        node_type = self.registry.get(type_name)
        params = {
            p.name: copy.deepcopy(p.default)
            for p in (node_type.params if node_type else ())
            if p.default is not None
        }
        x, y = self._snap(at.x(), at.y())
        return WorkflowNode(
            id=self.model.new_id(type_name),
            type=type_name,
            name=self.model.new_name(title),
            params=params,
            position=Position(x=x, y=y),
        )

    def _snap(self, x: float, y: float) -> tuple[float, float]:
        if self.snap_to_grid:
            return round(x / GRID) * GRID, round(y / GRID) * GRID
        return x, y

    def insert_on_edge(self, type_name: str, edge_id: str, at: QPointF) -> str | None:
        """Drop a new node on a wire: the wire now runs through it (one undo step)."""
        edge = self.model.edges.get(edge_id)
        node_type = self.registry.get(type_name)
        if edge is None or node_type is None:
            return None
        node = self._new_node(type_name, node_type.title, at)
        source = self.registry.get(self.model.nodes[edge.source].type)
        target = self.registry.get(self.model.nodes[edge.target].type)
        out_spec = (
            source.output(edge.source_port, self.model.nodes[edge.source].params)
            if source
            else None
        )
        in_spec = target.input(edge.target_port) if target else None
        first_in = node_type.inputs[0] if node_type.inputs else None
        first_out = next(iter(node_type.output_ports(node.params)), None)
        fits = (
            first_in is not None
            and first_out is not None
            and out_spec is not None
            and in_spec is not None
            and ports_compatible(out_spec.type, first_in.type)
            and ports_compatible(first_out.type, in_spec.type)
        )
        if not fits:
            self.sig_message.emit(f"{node_type.title} cannot sit on this wire; added beside it")
            return self.add_node(type_name, at)
        assert first_in is not None and first_out is not None
        self.stack.beginMacro(f"Insert {node_type.title}")
        self.stack.push(RemoveItems(self.model, "Remove wire", edge_ids=[edge_id]))
        edges = [
            WorkflowEdge(
                id=self.model.new_id("e"),
                source=edge.source,
                source_port=edge.source_port,
                target=node.id,
                target_port=first_in.name,
            )
        ]
        self.stack.push(AddItems(self.model, "Add node", nodes=[node], edges=edges))
        self.stack.push(
            AddItems(
                self.model,
                "Connect",
                edges=[
                    WorkflowEdge(
                        id=self.model.new_id("e"),
                        source=node.id,
                        source_port=first_out.name,
                        target=edge.target,
                        target_port=edge.target_port,
                    )
                ],
            )
        )
        self.stack.endMacro()
        self.select([node.id])
        return node.id

    def connection_problem(self, a: PortItem, b: PortItem) -> str | None:
        """Why the two ports cannot be connected, or None if they can."""
        if a.output == b.output:
            kind = "outputs" if a.output else "inputs"
            return f"Two {kind} cannot be connected: drag from an output to an input"
        src, dst = (a, b) if a.output else (b, a)
        if src.node is dst.node:
            return f"{src.node.name} cannot feed itself"
        if not ports_compatible(src.spec.type, dst.spec.type):
            return (
                f"{src.node.name}.{src.name} gives {src.spec.type} but "
                f"{dst.node.name}.{dst.name} takes {dst.spec.type}"
            )
        existing = [
            e
            for e in self.model.edges.values()
            if e.target == dst.node.node_id and e.target_port == dst.name
        ]
        if any(e.source == src.node.node_id and e.source_port == src.name for e in existing):
            return "These ports are already connected"
        if existing and not dst.spec.multiple:
            return (
                f"Input {dst.name!r} of {dst.node.name} takes one connection; "
                "use a Merge node to join branches"
            )
        if self._leads_to(dst.node.node_id, src.node.node_id):
            return f"That would make a loop: {dst.node.name} already leads to {src.node.name}"
        return None

    def _leads_to(self, start: str, goal: str) -> bool:
        outgoing: dict[str, list[str]] = {}
        for edge in self.model.edges.values():
            outgoing.setdefault(edge.source, []).append(edge.target)
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for nxt in outgoing.get(current, []):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def connect_ports(self, a: PortItem, b: PortItem) -> str | None:
        """Connect two ports; returns the new edge id, or None (the reason is announced)."""
        problem = self.connection_problem(a, b)
        if problem:
            self.sig_message.emit(problem)
            return None
        src, dst = (a, b) if a.output else (b, a)
        edge = WorkflowEdge(
            id=self.model.new_id("e"),
            source=src.node.node_id,
            source_port=src.name,
            target=dst.node.node_id,
            target_port=dst.name,
        )
        self.stack.push(AddItems(self.model, "Connect", edges=[edge]))
        return edge.id

    def delete_selection(self) -> bool:
        nodes, edges, notes = self.selected_ids()
        if not (nodes or edges or notes):
            return False
        count = len(nodes) + len(edges) + len(notes)
        self.stack.push(RemoveItems(self.model, f"Delete {count} item(s)", nodes, edges, notes))
        return True

    def toggle_disabled(self) -> None:
        nodes = self.selected_ids()[0]
        if not nodes:
            return
        disable = not all(self.model.nodes[n].disabled for n in nodes)
        self.stack.beginMacro("Disable nodes" if disable else "Enable nodes")
        for node_id in nodes:
            if self.model.nodes[node_id].disabled != disable:
                self.stack.push(UpdateNode(self.model, node_id, {"disabled": disable}, "Disable"))
        self.stack.endMacro()

    def rename(self, node_id: str, name: str) -> str | None:
        name = name.strip()
        if not name:
            return "A node needs a name"
        if any(n.name == name and n.id != node_id for n in self.model.nodes.values()):
            return f"Another node is already called {name!r}"
        if self.model.nodes[node_id].name != name:
            self.stack.push(UpdateNode(self.model, node_id, {"name": name}, "Rename"))
        return None

    def add_annotation(self, kind: str, at: QPointF, text: str = "") -> str:
        nodes = self.selected_ids()[0] if kind == "group" else []
        if nodes:  # a group around the selection
            rect = QRectF()
            for node_id in nodes:
                rect = rect.united(self.node_items[node_id].sceneBoundingRect())
            rect = rect.adjusted(-30, -50, 30, 30)
        else:
            rect = QRectF(
                at, at + QPointF(260 if kind == "note" else 420, 140 if kind == "note" else 260)
            )
        annotation = Annotation(
            id=self.model.new_id(kind),
            kind=kind,  # type: ignore[arg-type]
            text=text or ("Note" if kind == "note" else "Group"),
            position=Position(x=rect.x(), y=rect.y()),
            size=Size(width=rect.width(), height=rect.height()),
        )
        self.stack.push(AddItems(self.model, f"Add {kind}", annotations=[annotation]))
        return annotation.id

    def resized(self, item: AnnotationItem, old: tuple[float, float] | None) -> None:
        from auterity_desktop.ui.editor.commands import UpdateAnnotation

        if old is None:
            return
        new = {"size": {"width": item.width, "height": item.height}}
        command = UpdateAnnotation(self.model, item.annotation_id, new, "Resize")
        command.old = {"size": {"width": old[0], "height": old[1]}}
        self.stack.push(command)

    # -- moving ---------------------------------------------------------------------------
    def move_by(self, dx: float, dy: float) -> None:
        """Nudge the selection (arrow keys); consecutive nudges are one undo step."""
        nodes, _, notes = self.selected_ids()
        positions = {}
        for item_id in [*nodes, *notes]:
            model_item = self.model.nodes.get(item_id) or self.model.annotations[item_id]
            positions[item_id] = (model_item.position.x + dx, model_item.position.y + dy)
        if positions:
            self.stack.push(MoveItems(self.model, positions, "Nudge", merge=True))

    def place(self, positions: dict[str, tuple[float, float]], text: str) -> None:
        changed = {
            k: v
            for k, v in positions.items()
            if (self.model.nodes[k].position.x, self.model.nodes[k].position.y) != v
        }
        if changed:
            self.stack.push(MoveItems(self.model, changed, text))

    def align(self, edge: str) -> None:
        """Line up the selected nodes on one side or centre (``left``, ``right``, ``top``,
        ``bottom``, ``middle``, ``center``)."""
        nodes = self.selected_ids()[0]
        if len(nodes) < 2:
            self.sig_message.emit("Select two or more nodes to align them")
            return
        rects = {n: self.node_items[n].sceneBoundingRect() for n in nodes}
        positions = {}
        for node_id, r in rects.items():
            x, y = self.node_items[node_id].pos().x(), self.node_items[node_id].pos().y()
            if edge == "left":
                x = min(q.left() for q in rects.values()) + (x - r.left())
            elif edge == "right":
                x = max(q.right() for q in rects.values()) - r.width() + (x - r.left())
            elif edge == "top":
                y = min(q.top() for q in rects.values()) + (y - r.top())
            elif edge == "bottom":
                y = max(q.bottom() for q in rects.values()) - r.height() + (y - r.top())
            elif edge == "middle":
                y = (
                    sum(q.center().y() for q in rects.values()) / len(rects)
                    - r.height() / 2
                    + (y - r.top())
                )
            elif edge == "center":
                x = (
                    sum(q.center().x() for q in rects.values()) / len(rects)
                    - r.width() / 2
                    + (x - r.left())
                )
            positions[node_id] = (x, y)
        self.place(positions, f"Align {edge}")

    def distribute(self, axis: str) -> None:
        """Spread the selected nodes evenly between the outermost two (``horizontal`` or
        ``vertical``)."""
        nodes = self.selected_ids()[0]
        if len(nodes) < 3:
            self.sig_message.emit("Select three or more nodes to distribute them")
            return
        horizontal = axis == "horizontal"
        items = sorted(
            (self.node_items[n] for n in nodes),
            key=lambda i: i.pos().x() if horizontal else i.pos().y(),
        )
        first = items[0].pos().x() if horizontal else items[0].pos().y()
        last = items[-1].pos().x() if horizontal else items[-1].pos().y()
        step = (last - first) / (len(items) - 1)
        positions = {}
        for index, item in enumerate(items):
            value = first + step * index
            positions[item.node_id] = (
                (value, item.pos().y()) if horizontal else (item.pos().x(), value)
            )
        self.place(positions, f"Distribute {axis}")

    def auto_layout(self, only_selected: bool = False) -> None:
        chosen = self.selected_ids()[0] if only_selected else list(self.model.nodes)
        if not chosen:
            return
        members = set(chosen)
        sizes = {n: self.node_items[n].size() for n in chosen}
        edges = [
            (e.source, e.target)
            for e in self.model.edges.values()
            if e.source in members and e.target in members
        ]
        top_left = (
            min((self.model.nodes[n].position.x for n in chosen), default=0.0),
            min((self.model.nodes[n].position.y for n in chosen), default=0.0),
        )
        positions = layered_layout(chosen, edges, sizes, origin=top_left)
        self.place(positions, "Tidy up")

    # -- clipboard ------------------------------------------------------------------------
    def copy_selection(self) -> dict[str, Any] | None:
        nodes, _edges, notes = self.selected_ids()
        if not (nodes or notes):
            return None
        chosen = set(nodes)
        inner = [
            e.model_dump(mode="json")
            for e in self.model.edges.values()
            if e.source in chosen and e.target in chosen
        ]
        return {
            "format": CLIPBOARD_FORMAT,
            "nodes": [self.model.nodes[n].model_dump(mode="json") for n in nodes],
            "edges": inner,
            "annotations": [self.model.annotations[a].model_dump(mode="json") for a in notes],
        }

    def paste(
        self, payload: dict[str, Any], at: QPointF | None = None, text: str = "Paste"
    ) -> list[str]:
        """Add a copied fragment with fresh ids and names; returns the new node ids."""
        if not isinstance(payload, dict) or payload.get("format") != CLIPBOARD_FORMAT:
            self.sig_message.emit("The clipboard holds no workflow nodes")
            return []
        try:
            nodes = [WorkflowNode.model_validate(n) for n in payload.get("nodes", [])]
            edges = [WorkflowEdge.model_validate(e) for e in payload.get("edges", [])]
            notes = [Annotation.model_validate(a) for a in payload.get("annotations", [])]
        except ValueError as exc:
            self.sig_message.emit(f"The clipboard's nodes are damaged: {str(exc).splitlines()[0]}")
            return []
        everything = [*(n.position for n in nodes), *(a.position for a in notes)]
        if not everything:
            return []
        left = min(p.x for p in everything)
        top = min(p.y for p in everything)
        dx, dy = (at.x() - left, at.y() - top) if at is not None else (PASTE_OFFSET, PASTE_OFFSET)
        renamed: dict[str, str] = {}
        new_nodes = []
        names = {n.name for n in self.model.nodes.values()}
        for node in nodes:
            new_id = self.model.new_id(node.type)
            while new_id in renamed.values():
                new_id = f"{new_id}x"
            renamed[node.id] = new_id
            name = node.name
            if name in names:
                name = self.model.new_name(name)
                while name in names:
                    name += "'"
            names.add(name)
            new_nodes.append(
                node.model_copy(
                    update={
                        "id": new_id,
                        "name": name,
                        "position": Position(x=node.position.x + dx, y=node.position.y + dy),
                    }
                )
            )
        new_edges = []
        taken: set[str] = set()
        for edge in edges:
            if edge.source not in renamed or edge.target not in renamed:
                continue
            new_id = self.model.new_id("e")
            while new_id in taken:
                new_id += "x"
            taken.add(new_id)
            new_edges.append(
                edge.model_copy(
                    update={
                        "id": new_id,
                        "source": renamed[edge.source],
                        "target": renamed[edge.target],
                    }
                )
            )
        new_notes = []
        for note in notes:
            new_id = self.model.new_id(note.kind)
            while new_id in taken:
                new_id += "x"
            taken.add(new_id)
            new_notes.append(
                note.model_copy(
                    update={
                        "id": new_id,
                        "position": Position(x=note.position.x + dx, y=note.position.y + dy),
                    }
                )
            )
        self.stack.push(AddItems(self.model, text, new_nodes, new_edges, new_notes))
        self.select([n.id for n in new_nodes])
        for note in new_notes:
            self.annotation_items[note.id].setSelected(True)
        return [n.id for n in new_nodes]

    def duplicate_selection(self) -> list[str]:
        payload = self.copy_selection()
        return self.paste(payload, text="Duplicate") if payload else []

    # -- run and validation overlays ------------------------------------------------------
    def set_colors(self, colors: dict[str, str]) -> None:
        """The theme changed: repaint everything in its colours."""
        self.colors = dict(colors)
        for item in self.items():
            item.update()
        self.overview.mark_dirty()
        for view in self.views():
            view.resetCachedContent()
        self.update()

    def set_problems(self, problems: dict[str, list[str]]) -> None:
        for node_id, item in self.node_items.items():
            item.set_problems(problems.get(node_id, []))
        self.overview.mark_dirty()

    def set_run_states(self, states: dict[str, str]) -> None:
        for node_id, item in self.node_items.items():
            item.set_run_status(states.get(node_id))
        self.overview.mark_dirty()

    def set_edge_counts(self, counts: dict[str, int]) -> None:
        for edge_id, item in self.edge_items.items():
            item.set_count(counts.get(edge_id))

    # -- gestures -------------------------------------------------------------------------
    def port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def edge_at(self, pos: QPointF) -> EdgeItem | None:
        for item in self.items(pos):
            if isinstance(item, EdgeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            port = self.port_at(event.scenePos())
            if port is not None:
                self._wire_from = port
                self._wire = QGraphicsPathItem()
                self._wire.setPen(QPen(QColor(self.colors["accent"]), 2, Qt.PenStyle.DashLine))
                self._wire.setZValue(5)
                self.addItem(self._wire)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._remember_drag_start()

    def _remember_drag_start(self) -> None:
        self._drag_start = {}
        self._carried = {}
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                self._drag_start[item.node_id] = (item.pos().x(), item.pos().y())
            elif isinstance(item, AnnotationItem):
                self._drag_start[item.annotation_id] = (item.pos().x(), item.pos().y())
                if item.kind == "group":
                    frame = item.sceneBoundingRect()
                    inside = [
                        n
                        for n in self.node_items.values()
                        if frame.contains(n.sceneBoundingRect()) and not n.isSelected()
                    ]
                    self._carried[item.annotation_id] = list(inside)
                    for node in inside:
                        self._drag_start[node.node_id] = (node.pos().x(), node.pos().y())

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None and self._wire_from is not None:
            start = self._wire_from.anchor()
            end = event.scenePos()
            path = wire_path(start, end) if self._wire_from.output else wire_path(end, start)
            self._wire.setPath(path)
            return
        super().mouseMoveEvent(event)
        for group_id, nodes in self._carried.items():
            group = self.annotation_items.get(group_id)
            if group is None:
                continue
            start = self._drag_start[group_id]
            dx, dy = group.pos().x() - start[0], group.pos().y() - start[1]
            for node in nodes:
                origin = self._drag_start[node.node_id]
                node.setPos(origin[0] + dx, origin[1] + dy)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None and self._wire_from is not None:
            self.removeItem(self._wire)
            self._wire = None
            origin, self._wire_from = self._wire_from, None
            target = self.port_at(event.scenePos())
            if target is not None and target is not origin:
                self.connect_ports(origin, target)
            elif QLineF(origin.anchor(), event.scenePos()).length() > 20:
                self.sig_message.emit("Drop the wire on a port to connect")
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._commit_drag()

    def _commit_drag(self) -> None:
        if not self._drag_start:
            return
        old, new = {}, {}
        for item_id, (x, y) in self._drag_start.items():
            item = self.node_items.get(item_id) or self.annotation_items.get(item_id)
            if item is None:
                continue
            now = (item.pos().x(), item.pos().y())
            if now != (x, y):
                old[item_id], new[item_id] = (x, y), now
        self._drag_start, self._carried = {}, {}
        if new:
            self.stack.push(MoveItems(self.model, new, "Move", old=old))

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        for item in self.items(event.scenePos()):
            if isinstance(item, NodeItem):
                self.sig_node_activated.emit(item.node_id)
                event.accept()
                return
            if isinstance(item, AnnotationItem):
                self.sig_annotation_activated.emit(item.annotation_id)
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def set_annotation_text(self, annotation_id: str, text: str) -> None:
        from auterity_desktop.ui.editor.commands import UpdateAnnotation

        if self.model.annotations[annotation_id].text != text:
            command = UpdateAnnotation(self.model, annotation_id, {"text": text}, "Edit text")
            self.stack.push(command)

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(self.colors["window"]))
        scale = painter.worldTransform().m11()
        if scale < 0.4:
            return  # a dotted grid this dense is noise
        painter.setPen(QPen(QColor(self.colors["border"]), 1.5 / max(scale, 0.01)))
        left = int(rect.left() // GRID) * GRID
        top = int(rect.top() // GRID) * GRID
        points = []
        y = top
        while y < rect.bottom():
            x = left
            while x < rect.right():
                points.append(QPointF(x, y))
                x += GRID
            y += GRID
        painter.drawPoints(points)
