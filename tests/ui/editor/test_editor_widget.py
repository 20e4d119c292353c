"""The editor widget with real keys and the system clipboard: shortcuts, quick-add, rename
in place, copy and paste between two editors, inspector edits that undo, live validation,
and drafts that survive a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.document import parse_document
from auterity_desktop.ui.editor.editor_widget import CLIPBOARD_MIME, WorkflowEditorWidget
from auterity_desktop.ui.editor.palette import NODE_TYPE_MIME
from auterity_desktop.ui.widgets.records_table import RecordsTableView

REGISTRY = builtin_registry()
DOC = {
    "name": "Leads",
    "nodes": [
        {"id": "t", "type": "manual_trigger", "name": "Start", "position": {"x": 0, "y": 0}},
        {"id": "s", "type": "set_fields", "name": "Score", "position": {"x": 300, "y": 0},
         "params": {"fields": {"score": 80}}},
        {"id": "o", "type": "log", "name": "Out", "position": {"x": 600, "y": 0}},
    ],
    "edges": [{"id": "e1", "source": "t", "target": "s"},
              {"id": "e2", "source": "s", "target": "o"}],
}  # fmt: skip


def make(qtbot: Any, tmp_path: Path, name: str = "a") -> WorkflowEditorWidget:
    settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
    editor = WorkflowEditorWidget(REGISTRY, settings, tmp_path / "drafts")
    qtbot.addWidget(editor)
    editor.resize(1300, 800)
    editor.show()
    editor.set_document(parse_document(DOC), f"wf-{name}", 1)
    QApplication.processEvents()
    return editor


def key(editor: WorkflowEditorWidget, sequence: str) -> None:
    """Type keys on the canvas, with its window active (shortcuts follow the active one)."""
    editor.activateWindow()
    QApplication.processEvents()
    editor.view.setFocus()
    QTest.keySequence(editor.view, sequence)


def test_delete_undo_redo_and_the_modified_mark(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    marks: list[bool] = []
    editor.sig_modified.connect(marks.append)
    editor.scene.select(["s"])
    key(editor, "Del")
    assert "s" not in editor.model.nodes
    assert editor.modified and marks == [True]
    assert editor.title.text().endswith("•")
    key(editor, "Ctrl+Z")
    assert editor.model.to_document() == parse_document(DOC)
    assert not editor.modified and marks == [True, False]
    key(editor, "Ctrl+Shift+Z")
    assert "s" not in editor.model.nodes


def test_tab_quick_add_places_a_node_at_the_cursor(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    key(editor, "Tab")
    assert editor.quick_add.isVisible()
    QTest.keyClicks(editor.quick_add.search, "delay")
    QTest.keyClick(editor.quick_add.search, Qt.Key.Key_Return)
    added = [n for n in editor.model.nodes.values() if n.type == "delay"]
    assert len(added) == 1
    assert editor.scene.selected_ids()[0] == [added[0].id]
    assert any(p.node_id == added[0].id for p in editor.revalidate())  # seconds is required


def test_palette_drop_onto_the_canvas_adds_the_type(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    data = QMimeData()
    data.setData(NODE_TYPE_MIME, b"switch")
    point = editor.view.mapFromScene(QPointF(300, 400))
    drop = QDropEvent(
        QPointF(point), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    editor.view.dropEvent(drop)
    switch = [n for n in editor.model.nodes.values() if n.type == "switch"]
    assert len(switch) == 1 and switch[0].name == "Switch"


def test_rename_in_place_with_f2(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    editor.scene.select(["s"])
    key(editor, "F2")
    overlay = editor.view.viewport().findChild(type(editor.approval_comment), "RenameOverlay")
    assert overlay is not None and overlay.text() == "Score"
    overlay.selectAll()
    QTest.keyClicks(overlay, "Lead score")
    QTest.keyClick(overlay, Qt.Key.Key_Return)
    assert editor.model.nodes["s"].name == "Lead score"
    editor.scene.select(["o"])
    key(editor, "F2")
    overlay = editor.view.viewport().findChild(type(editor.approval_comment), "RenameOverlay")
    overlay.selectAll()
    QTest.keyClicks(overlay, "Start")  # taken by another node
    QTest.keyClick(overlay, Qt.Key.Key_Return)
    assert editor.model.nodes["o"].name == "Out"


def test_copy_in_one_editor_paste_in_another(qtbot: Any, tmp_path: Path) -> None:
    first = make(qtbot, tmp_path, "a")
    second = make(qtbot, tmp_path, "b")
    first.scene.select(["s", "o"])
    key(first, "Ctrl+C")
    text = QGuiApplication.clipboard().mimeData().text()
    assert json.loads(text)["edges"][0]["source"] == "s"  # readable JSON, inner wire kept
    assert QGuiApplication.clipboard().mimeData().hasFormat(CLIPBOARD_MIME)
    key(second, "Ctrl+V")
    pasted = second.scene.selected_ids()[0]
    assert len(pasted) == 2
    names = {second.model.nodes[n].name for n in pasted}
    assert names == {"Score 2", "Out 2"}  # the names were taken there
    inner = [e for e in second.model.edges.values() if e.source in pasted]
    assert len(inner) == 1 and inner[0].target in pasted
    key(second, "Ctrl+Z")
    assert len(second.model.nodes) == 3
    # cut is copy + delete in one undo step
    first.scene.select(["o"])
    key(first, "Ctrl+X")
    assert "o" not in first.model.nodes
    key(first, "Ctrl+Z")
    assert "o" in first.model.nodes
    QGuiApplication.clipboard().setText("not nodes")
    messages: list[str] = []
    second.sig_message.connect(lambda text, _error: messages.append(text))
    key(second, "Ctrl+V")
    assert messages == ["The clipboard holds no workflow nodes"]


def test_inspector_edits_are_undoable_and_revalidate(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    editor.scene.select(["o"])
    editor.inspector.sig_edited.emit("o", {"params": {"message": "{{ $input.score"}})
    qtbot.waitUntil(  # the debounced validation
        lambda: any(p.node_id == "o" and p.code == "BAD_EXPRESSION" for p in editor.problems)
    )
    assert not editor.actions_by_name["run"].isEnabled()
    assert editor.scene.node_items["o"].problems
    key(editor, "Ctrl+Z")
    qtbot.waitUntil(lambda: editor.problems == [])
    assert editor.actions_by_name["run"].isEnabled()


def test_clicking_a_problem_selects_its_node(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    editor.scene.add_node("delay", QPointF(0, 300))  # seconds is required
    editor.revalidate()
    item = editor.problem_list.item(0)
    editor.problem_list.itemClicked.emit(item)
    [selected] = editor.scene.selected_ids()[0]
    assert editor.model.nodes[selected].type == "delay"


def test_a_draft_survives_a_crash_and_restores_as_one_undo_step(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    editor.scene.select(["o"])
    editor.scene.delete_selection()
    editor.write_draft()  # what the autosave timer does a moment after each change
    draft = json.loads((tmp_path / "drafts" / "wf-a.json").read_text())
    assert [n["id"] for n in draft["document"]["nodes"]] == ["t", "s"]
    # "the process dies"; a new editor opens the same workflow
    reopened = make(qtbot, tmp_path, "a")
    record = reopened.pending_draft()
    assert record is not None
    reopened.restore_draft(record)
    assert list(reopened.model.nodes) == ["t", "s"]
    assert reopened.modified
    key(reopened, "Ctrl+Z")
    assert list(reopened.model.nodes) == ["t", "s", "o"]
    reopened.mark_saved("wf-a", 2)
    assert reopened.pending_draft() is None  # saving removes the draft


def test_context_menus_offer_what_fits_the_spot(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    on_node = [a.text() for a in editor.context_menu(QPointF(350, 30)).actions()]
    assert "Re&name" in on_node and "De&lete" in on_node
    wire = editor.scene.edge_items["e1"].path().pointAtPercent(0.5)
    on_wire = [a.text() for a in editor.context_menu(wire).actions()]
    assert "Insert node here…" in on_wire
    on_canvas = [a.text() for a in editor.context_menu(QPointF(0, 600)).actions()]
    assert "Add node here…" in on_canvas and "Paste here" in on_canvas


def test_every_action_with_keys_is_in_the_shortcut_list(qtbot: Any, tmp_path: Path) -> None:
    editor = make(qtbot, tmp_path)
    listed = dict(editor.shortcut_list())
    for name in ("undo", "redo", "save", "run", "copy", "paste", "delete", "layout", "fit"):
        action = editor.actions_by_name[name]
        assert action.text().replace("&", "") in listed
    assert listed["Add node at the cursor"].startswith("Tab")


@pytest.mark.parametrize("zoom", [0.2, 1.0, 2.0])
def test_paints_at_every_level_of_detail(qtbot: Any, tmp_path: Path, zoom: float) -> None:
    editor = make(qtbot, tmp_path)
    editor.view.set_zoom(zoom, QPointF(300, 40))
    assert editor.scene.overview.active == (zoom < 0.4)
    assert not editor.view.grab().isNull()
    assert not editor.minimap.grab().isNull()
    QTest.mouseClick(editor.minimap, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))


def test_double_click_a_note_edits_its_text(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = make(qtbot, tmp_path)
    note = editor.scene.add_annotation("note", QPointF(0, 300), "Call within 2 h")
    monkeypatch.setattr(
        "auterity_desktop.ui.editor.editor_widget.QInputDialog.getMultiLineText",
        lambda *_a: ("Call within 1 h", True),
    )
    centre = editor.scene.annotation_items[note].sceneBoundingRect().center()
    point = editor.view.mapFromScene(centre)
    QTest.mouseDClick(editor.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert editor.model.annotations[note].text == "Call within 1 h"
    key(editor, "Ctrl+Z")
    assert editor.model.annotations[note].text == "Call within 2 h"


def test_pan_with_middle_drag_and_space_drag_and_zoom_with_the_wheel(
    qtbot: Any, tmp_path: Path
) -> None:
    from tests.ui.editor.gestures import drag

    editor = make(qtbot, tmp_path)
    editor.view.set_zoom(1.0, QPointF(300, 40))
    view = editor.view

    def centre() -> QPointF:
        return view.mapToScene(view.viewport().rect().center())

    before = centre()
    drag(view, QPointF(300, 600), QPointF(200, 500), button=Qt.MouseButton.MiddleButton)
    moved = centre()
    assert (round(moved.x() - before.x()), round(moved.y() - before.y())) == (100, 100)
    assert editor.model.to_document() == parse_document(DOC)  # panning edits nothing
    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(view, QPointF(350, 30), QPointF(250, 30))  # over a node: still pans, no move
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert round(centre().x() - moved.x()) == 100
    assert editor.model.nodes["s"].position.x == 300
    zoom = view.zoom()
    wheel = QWheelEvent(
        QPointF(400, 300), QPointF(400, 300), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() > zoom


def test_output_table_shows_records_as_rows(qtbot: Any) -> None:
    table = RecordsTableView()
    qtbot.addWidget(table)
    table.set_value({"main": [{"vin": "V1", "price": 31900}, {"vin": "V2", "gap": 0.1}]})
    assert table.model_.columnCount() == 3 and table.model_.rowCount() == 2
    assert [table.cell_text(1, c) for c in range(3)] == ["V2", "", "0.1"]
    table.set_value({"true": {"score": 91}})
    assert table.model_.rowCount() == 1 and table.cell_text(0, 0) == "91"


def test_team_workers_switch_is_an_undoable_setting_of_the_document(
    qtbot: Any, tmp_path: Path
) -> None:
    editor = make(qtbot, tmp_path)
    action = editor.actions_by_name["team_workers"]
    assert action.isCheckable() and not action.isChecked()
    action.trigger()
    assert editor.document().settings == {"execution": "workers"}
    assert editor.modified
    key(editor, "Ctrl+Z")
    assert editor.document().settings == {}
    assert not action.isChecked()
    key(editor, "Ctrl+Shift+Z")
    assert action.isChecked()
    handed_off = parse_document({**DOC, "settings": {"execution": "workers"}})
    editor.set_document(handed_off, "wf-b", 1)
    assert action.isChecked()
    editor.set_document(parse_document(DOC), "wf-c", 1)
    assert not action.isChecked()
