"""The canvas with real mouse events: connecting by dragging, refusals that say why,
selection, moving as one undo step, group frames, insert-on-wire, tidy up, the minimap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtTest import QTest

from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.document import parse_document
from auterity_desktop.services.workflows.editable import EditableWorkflow
from auterity_desktop.ui.editor.commands import MoveItems, RemoveItems
from auterity_desktop.ui.editor.node_item import NodeItem
from auterity_desktop.ui.editor.scene import WorkflowScene
from auterity_desktop.ui.editor.view import MinimapView, WorkflowView
from tests.ui.editor.gestures import click, drag

REGISTRY = builtin_registry()


def document() -> Any:
    return parse_document(
        {
            "name": "Canvas",
            "nodes": [
                {"id": "t", "type": "manual_trigger", "name": "Start",
                 "position": {"x": 0, "y": 0}},
                {"id": "s", "type": "set_fields", "name": "Set", "position": {"x": 320, "y": 0}},
                {"id": "v", "type": "validate_data", "name": "Check",
                 "params": {"schema": {"type": "object"}}, "position": {"x": 320, "y": 200}},
                {"id": "o", "type": "log", "name": "Out", "position": {"x": 640, "y": 0}},
                {"id": "f", "type": "for_each", "name": "Each",
                 "params": {"items": []}, "position": {"x": 640, "y": 240}},
            ],
            "edges": [{"id": "e1", "source": "t", "target": "s"}],
        }
    )  # fmt: skip


class Canvas:
    def __init__(self) -> None:
        self.model = EditableWorkflow(document())
        self.stack = QUndoStack()
        self.scene = WorkflowScene(self.model, REGISTRY, self.stack)
        self.view = WorkflowView(self.scene)
        self.view.resize(1200, 800)
        self.view.show()
        self.view.set_zoom(1.0, QPointF(400, 150))
        self.messages: list[str] = []
        self.scene.sig_message.connect(self.messages.append)

    def port(self, node_id: str, name: str, output: bool) -> QPointF:
        port = self.scene.node_items[node_id].port(name, output)
        assert port is not None
        return port.anchor()

    def node_centre(self, node_id: str) -> QPointF:
        return self.scene.node_items[node_id].sceneBoundingRect().center()


@pytest.fixture
def canvas(qtbot: Any) -> Iterator[Canvas]:
    built = Canvas()
    qtbot.addWidget(built.view)
    yield built
    built.scene.detach()


def test_drag_from_output_to_input_connects_and_undo_removes(canvas: Canvas) -> None:
    drag(canvas.view, canvas.port("s", "main", True), canvas.port("o", "main", False))
    edges = [(e.source, e.target) for e in canvas.model.edges.values()]
    assert ("s", "o") in edges
    assert len(canvas.scene.edge_items) == 2
    canvas.stack.undo()
    assert len(canvas.model.edges) == 1
    assert len(canvas.scene.edge_items) == 1
    # dragging from the input end works too
    drag(canvas.view, canvas.port("o", "main", False), canvas.port("s", "main", True))
    assert ("s", "o") in [(e.source, e.target) for e in canvas.model.edges.values()]


def test_refused_connections_say_why(canvas: Canvas) -> None:
    drag(canvas.view, canvas.port("s", "main", True), canvas.port("t", "main", True))
    assert canvas.messages[-1].startswith("Two outputs cannot be connected")
    drag(canvas.view, canvas.port("s", "main", True), canvas.port("s", "main", False))
    assert canvas.messages[-1] == "Set cannot feed itself"
    # validate_data's "invalid" output gives an object; for_each takes any: allowed
    drag(canvas.view, canvas.port("v", "invalid", True), canvas.port("f", "main", False))
    assert ("v", "f") in [(e.source, e.target) for e in canvas.model.edges.values()]
    drag(canvas.view, canvas.port("t", "main", True), canvas.port("s", "main", False))
    assert canvas.messages[-1] == "These ports are already connected"
    # a second wire into a single input
    drag(canvas.view, canvas.port("v", "valid", True), canvas.port("s", "main", False))
    assert "takes one connection" in canvas.messages[-1]
    # a loop
    drag(canvas.view, canvas.port("s", "main", True), canvas.port("v", "main", False))
    drag(canvas.view, canvas.port("f", "done", True), canvas.port("v", "main", False))
    assert "takes one connection" in canvas.messages[-1] or "loop" in canvas.messages[-1]
    count = len(canvas.model.edges)
    drag(canvas.view, canvas.port("f", "done", True), canvas.port("s", "main", False))
    assert len(canvas.model.edges) == count


def test_click_ctrl_click_and_rubber_band_selection(canvas: Canvas) -> None:
    click(canvas.view, canvas.node_centre("s"))
    assert canvas.scene.selected_ids()[0] == ["s"]
    click(canvas.view, canvas.node_centre("o"), Qt.KeyboardModifier.ControlModifier)
    assert canvas.scene.selected_ids()[0] == ["s", "o"]
    click(canvas.view, QPointF(-200, 500))  # empty canvas clears
    assert canvas.scene.selected_ids()[0] == []
    drag(canvas.view, QPointF(-40, -40), QPointF(560, 330))  # a band around t, s and v
    assert canvas.scene.selected_ids()[0] == ["t", "s", "v"]


def test_moving_several_nodes_is_one_undo_step(canvas: Canvas) -> None:
    canvas.scene.select(["s", "o"])
    drag(canvas.view, canvas.node_centre("s"), canvas.node_centre("s") + QPointF(100, 60))
    assert (canvas.model.nodes["s"].position.x, canvas.model.nodes["s"].position.y) == (420, 60)
    assert (canvas.model.nodes["o"].position.x, canvas.model.nodes["o"].position.y) == (740, 60)
    wire = canvas.scene.edge_items["e1"]
    assert wire.path().pointAtPercent(1) == canvas.port("s", "main", False)  # wire followed
    assert canvas.stack.count() == 1
    canvas.stack.undo()
    assert canvas.model.nodes["s"].position.x == 320
    assert canvas.scene.node_items["o"].pos() == QPointF(640, 0)


def test_snap_to_grid(canvas: Canvas) -> None:
    canvas.scene.snap_to_grid = True
    drag(canvas.view, canvas.node_centre("o"), canvas.node_centre("o") + QPointF(33, 17))
    position = canvas.model.nodes["o"].position
    assert (position.x % 20, position.y % 20) == (0, 0)


def test_group_frame_carries_its_nodes(canvas: Canvas) -> None:
    canvas.scene.select(["s", "v"])
    group = canvas.scene.add_annotation("group", QPointF(0, 0), "Scoring")
    frame = canvas.scene.annotation_items[group]
    assert frame.sceneBoundingRect().contains(canvas.scene.node_items["v"].sceneBoundingRect())
    canvas.scene.clearSelection()
    title = frame.sceneBoundingRect().topLeft() + QPointF(60, 15)
    drag(canvas.view, title, title + QPointF(0, 300))
    assert canvas.model.nodes["s"].position.y == 300
    assert canvas.model.nodes["v"].position.y == 500
    assert canvas.model.nodes["o"].position.y == 0  # outside: stays
    canvas.stack.undo()
    assert canvas.model.nodes["v"].position.y == 200


def test_dropping_a_node_on_a_wire_inserts_it(canvas: Canvas) -> None:
    middle = canvas.scene.edge_items["e1"].path().pointAtPercent(0.5)
    node_id = canvas.view.drop_node("delay", middle)
    assert node_id is not None
    pairs = {(e.source, e.target) for e in canvas.model.edges.values()}
    assert pairs == {("t", node_id), (node_id, "s")}
    canvas.stack.undo()
    assert [(e.source, e.target) for e in canvas.model.edges.values()] == [("t", "s")]
    assert node_id not in canvas.model.nodes


def test_tidy_up_leaves_no_overlap_and_runs_left_to_right(canvas: Canvas) -> None:
    for node_id in ("s", "v", "o", "f"):
        canvas.stack.push(MoveItems(canvas.model, {node_id: (5.0, 5.0)}))  # all on one spot
    canvas.scene.auto_layout()
    rects = {
        n: QRectF(i.pos(), i.boundingRect().size()) for n, i in canvas.scene.node_items.items()
    }
    names = list(rects)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not rects[a].intersects(rects[b]), (a, b)
    assert rects["t"].right() < rects["s"].left()
    canvas.stack.undo()
    assert canvas.model.nodes["f"].position.x == 5.0


def test_minimap_click_moves_the_view(canvas: Canvas) -> None:
    minimap = MinimapView(canvas.view)
    minimap.show()
    minimap.refit()
    minimap.grab()  # paints: the picture and its scale are known
    target = QPointF(640, 240)
    at = minimap._transform().map(target)
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=at.toPoint())
    centre = canvas.view.mapToScene(canvas.view.viewport().rect().center())
    assert abs(centre.x() - target.x()) < 40 and abs(centre.y() - target.y()) < 40


def test_zoom_fit_and_hundred_percent(canvas: Canvas) -> None:
    canvas.view.fit_all()
    assert canvas.view.zoom() <= 1.0
    visible = canvas.view.mapToScene(canvas.view.viewport().rect()).boundingRect()
    for item in canvas.scene.node_items.values():
        assert visible.contains(item.sceneBoundingRect())
    canvas.view.zoom_by(2.0)
    canvas.view.set_zoom(1.0)
    assert canvas.view.zoom() == 1.0


def test_problem_badges_and_run_states_paint_on_nodes(canvas: Canvas) -> None:
    canvas.scene.set_problems({"s": ["fields is required"]})
    canvas.scene.set_run_states({"t": "succeeded", "s": "failed"})
    canvas.scene.set_edge_counts({"e1": 3})
    item: NodeItem = canvas.scene.node_items["s"]
    assert item.problems == ["fields is required"]
    assert item.run_status == "failed"
    assert canvas.scene.edge_items["e1"].count == 3
    image = canvas.view.grab()  # paints every item at full detail without errors
    assert not image.isNull()


def test_wires_are_found_near_the_visible_area_only(canvas: Canvas) -> None:
    grid = canvas.scene.edge_layer.grid
    wire = canvas.scene.edge_items["e1"]
    assert wire in grid.near(QRectF(0, 0, 300, 100))
    assert wire not in grid.near(QRectF(20_000, 20_000, 500, 500))
    canvas.stack.push(MoveItems(canvas.model, {"t": (20_000.0, 20_000.0)}))
    assert wire in grid.near(QRectF(20_000, 20_000, 500, 500))  # followed its node
    canvas.stack.push(RemoveItems(canvas.model, "remove", edge_ids=["e1"]))
    assert wire not in grid.near(QRectF(20_000, 20_000, 500, 500))


def test_double_click_on_empty_canvas_opens_quick_add(canvas: Canvas) -> None:
    asked: list[QPointF] = []
    canvas.view.sig_quick_add.connect(lambda _global, scene_pos: asked.append(scene_pos))
    point = canvas.view.mapFromScene(QPointF(100, 500))
    QTest.mouseDClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert len(asked) == 1 and abs(asked[0].y() - 500) < 2
    QTest.mouseDClick(
        canvas.view.viewport(), Qt.MouseButton.LeftButton,
        pos=canvas.view.mapFromScene(canvas.node_centre("s")),
    )  # fmt: skip
    assert len(asked) == 1  # on a node it renames instead
