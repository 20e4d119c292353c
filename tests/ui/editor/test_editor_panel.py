"""The editor inside the Workflows page on the real platform: open, edit, save a version,
run with live node states, answer an approval on the canvas, and the unsaved-changes
prompt."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMessageBox

APPROVAL_FLOW = {
    "name": "Trade-in offer",
    "nodes": [
        {"id": "t", "type": "manual_trigger", "name": "Start", "position": {"x": 0, "y": 0}},
        {"id": "s", "type": "set_fields", "name": "Offer", "position": {"x": 280, "y": 0},
         "params": {"fields": {"offer": 18400}}},
        {"id": "a", "type": "approval", "name": "Manager OK", "position": {"x": 560, "y": 0},
         "params": {"message": "Offer 18,400?"}},
        {"id": "o", "type": "log", "name": "Send offer", "position": {"x": 840, "y": 0}},
    ],
    "edges": [
        {"id": "e1", "source": "t", "target": "s"},
        {"id": "e2", "source": "s", "target": "a"},
        {"id": "e3", "source": "a", "source_port": "approved", "target": "o"},
    ],
}  # fmt: skip


def open_in_editor(make_app: Any) -> tuple[Any, Any, str]:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    admin = app.window.session.principal
    saved = app.run(app.bridge.platform.workflows.create(admin, APPROVAL_FLOW))
    page = app.window.show_page("workflows")
    page.open_editor(saved.id)
    panel = page.editor()
    app.until(lambda: panel.editor.workflow_id == saved.id)
    return app, panel, saved.id


def test_run_from_the_editor_shows_states_and_answers_the_approval(make_app: Any) -> None:
    app, panel, _ = open_in_editor(make_app)
    editor = panel.editor
    panel.run()
    app.until(lambda: editor.approval_bar.isVisible())
    assert panel.message.text().endswith(" waiting")  # no longer "Running…"
    assert "Offer 18,400?" in editor.approval_text.text()
    items = editor.scene.node_items
    assert items["s"].run_status == "succeeded"
    assert items["a"].run_status == "waiting"
    assert editor.scene.edge_items["e1"].count == 1
    editor.scene.select(["s"])
    assert editor.run_output.value() == {"main": {"offer": 18400}}
    editor.approval_comment.setText("fine")
    editor.approval_bar.findChildren(type(panel.back))[0].click()  # Approve
    app.until(lambda: editor.tracker.status["status"] == "succeeded")
    assert panel.message.text().endswith(" succeeded")
    assert items["o"].run_status == "succeeded"
    assert not editor.approval_bar.isVisible()
    assert not app.crash.dialogs


def test_edit_save_new_version_and_unsaved_prompt(make_app: Any, monkeypatch: Any) -> None:
    app, panel, workflow_id = open_in_editor(make_app)
    editor = panel.editor
    editor.scene.add_node("delay", QPointF(300, 300))
    assert editor.modified
    panel.save()
    app.until(lambda: not editor.modified)
    assert editor.version == 2
    stored = app.run(app.bridge.platform.workflows.load(workflow_id))
    assert stored.version == 2 and len(stored.document.nodes) == 5
    assert "1 problem(s) still block running" in panel.message.text()
    panel.run()  # refused: the delay has no seconds
    assert "Fix the problems" in panel.message.text()

    editor.scene.select(["o"])
    editor.scene.delete_selection()
    asked: list[str] = []

    def answer(*args: Any, **_: Any) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return (
            QMessageBox.StandardButton.Cancel
            if len(asked) == 1
            else (QMessageBox.StandardButton.Discard)
        )

    monkeypatch.setattr(QMessageBox, "question", answer)
    page = app.window.show_page("workflows")
    panel.close_editor()  # Cancel: stays
    assert page.pages.currentWidget() is panel
    panel.close_editor()  # Discard: back to the list
    assert page.pages.currentWidget() is page.list_page
    assert len(asked) == 2 and "Save the changes" in asked[0]
    assert not app.crash.dialogs


def test_closing_the_window_with_unsaved_work_asks_and_saves(
    make_app: Any, monkeypatch: Any
) -> None:
    app, panel, workflow_id = open_in_editor(make_app)
    panel.editor.scene.add_annotation("note", QPointF(0, 300), "Ask Maria")
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save]
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: answers.pop(0))
    assert not app.window.close()  # Cancel: the window stays, the work too
    assert app.window.isVisible() and panel.editor.modified
    retried: list[bool] = []
    page = app.window.show_page("workflows")
    assert not page.confirm_close(lambda: retried.append(True))  # Save: held back…
    app.until(lambda: bool(retried))  # …until saved, then the close goes on
    stored = app.run(app.bridge.platform.workflows.load(workflow_id))
    assert [a.text for a in stored.document.annotations] == ["Ask Maria"]
    assert page.confirm_close(lambda: None)  # nothing unsaved: closes at once


def test_help_lists_window_and_editor_shortcuts(make_app: Any) -> None:
    app, _panel, _ = open_in_editor(make_app)
    dialog = app.window.show_shortcuts()
    rows = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert "Keyboard shortcuts" in rows and "Editor: Tidy up" in rows
    dialog.close()


def test_the_canvas_follows_the_theme(make_app: Any) -> None:
    app, panel, _ = open_in_editor(make_app)
    app.theme.set_mode("dark")
    assert panel.editor.scene.colors == app.theme.colors
    assert panel.editor.scene.colors["window"] != panel.editor.scene.colors.get("light", "")


def test_a_new_workflow_never_saved_survives_a_crash(
    make_app: Any, monkeypatch: Any, data_dir: Any
) -> None:
    from PySide6.QtWidgets import QInputDialog

    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = app.window.show_page("workflows")
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: ("Price watch", True))
    page.open_editor(None)
    panel = page.editor()
    panel.editor.scene.add_node("delay", QPointF(300, 0))
    panel.editor.write_draft()  # the autosave a moment later; then the process dies
    draft = data_dir / "drafts" / "new.json"
    assert draft.exists()
    panel.editor.stack.setClean()  # forget the work in this process, as a crash would
    asked: list[str] = []

    def restore(*args: Any, **_: Any) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", restore)
    page.open_editor(None)  # the next New…: the draft is offered first
    assert asked and "“Price watch” was being created in an earlier session" in asked[0]
    assert panel.editor.model.name == "Price watch"
    assert sorted(n.type for n in panel.editor.model.nodes.values()) == [
        "delay",
        "manual_trigger",
    ]
    assert panel.editor.modified and panel.editor.workflow_id is None
    panel.save()
    app.until(lambda: not panel.editor.modified)
    assert not draft.exists()  # saved: the new workflow's draft is done
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.No)
    page.open_editor(None)  # nothing offered any more: straight to the name
    assert panel.editor.model.name == "Price watch" and panel.editor.workflow_id is None
    panel.editor.stack.setClean()  # nothing to ask about when the window closes
