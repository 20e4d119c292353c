"""The Workflows page on the real platform: create, duplicate, delete, search, import,
export, validate, run with parameters (and the jump to the run), and what a viewer sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from auterity_desktop.ui.widgets.workflow_dialogs import NewWorkflowDialog, RunParametersDialog
from tests.ui.workflow_docs import edge, node, quote_doc


def open_workflows(app: Any) -> Any:
    page = app.window.show_page("workflows")
    app.until(lambda: page.loaded)
    return page


def press(app: Any, qtbot: Any, widget: Any, key: Qt.Key, ctrl: bool = False) -> None:
    """Type a key into ``widget`` the way a user would: the window active, the widget
    focused (shortcuts look at the focus, not at where the event was sent)."""
    app.window.activateWindow()
    app.until(lambda: QApplication.activeWindow() is app.window, timeout=5)
    widget.setFocus()
    modifier = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    qtbot.keyClick(widget, key, modifier)


def make(app: Any, page: Any, document: dict[str, Any]) -> str:
    """Create a workflow through the page and return its id (it ends up selected)."""
    before = page.model.rowCount()
    page.create_workflow(document)
    app.until(lambda: page.model.rowCount() == before + 1 and page.selected_id() is not None)
    workflow_id = page.selected_id()
    app.until(lambda: page.details.node_ids != [] and page._details_for == workflow_id)
    return str(workflow_id)


def test_create_duplicate_search_delete_with_empty_states(
    make_app: Any, qtbot: Any, monkeypatch: Any
) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = open_workflows(app)
    assert page.list_stack.currentWidget() is page.empty
    assert page.empty.title.text() == "No workflows yet"
    assert "import a JSON file" in page.empty.text.text()
    assert page.empty_new.isVisible() and page.empty_import.isVisible()
    assert not page.run_button.isEnabled()  # nothing selected

    # New… through its dialog: a name is required, said inline
    press(app, qtbot, page.search, Qt.Key.Key_N, ctrl=True)
    dialog = page.findChild(NewWorkflowDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.accept()
    assert dialog.isVisible() and dialog.error.text() == "A workflow needs a name."
    dialog.name.setText("Lead follow-up")
    dialog.description.setPlainText("Calls back new leads within the hour")
    dialog.accept()
    app.until(lambda: page.model.rowCount() == 1 and page.selected_id() is not None)
    assert page.list_stack.currentWidget() is page.table
    assert page.message.text() == "Created “Lead follow-up”."
    first = page.selected_id()
    app.until(lambda: page.details.node_ids == ["start"])
    assert page.details.title.text() == "Lead follow-up  ·  v1"
    assert page.details.nodes.item(0, 1).text() == "manual_trigger"
    assert page.details.versions.rowCount() == 1
    row = [page.proxy.index(0, c).data() for c in range(5)]
    assert row[:3] == ["Lead follow-up", "Calls back new leads within the hour", "v1"]
    assert row[4] == "never run"

    # Ctrl+D duplicates the selected workflow and selects the copy
    press(app, qtbot, page.table, Qt.Key.Key_D, ctrl=True)
    app.until(lambda: page.model.rowCount() == 2 and page.selected_id() not in (None, first))
    assert page.selected_name() == "Lead follow-up (copy)"
    copy_id = page.selected_id()

    # search filters by name and description; nothing found says so
    page.search.setText("COPY")
    assert page.proxy.rowCount() == 1
    page.search.setText("within the hour")
    assert page.proxy.rowCount() == 2
    page.search.setText("no such thing")
    assert page.list_stack.currentWidget() is page.empty
    assert page.empty.title.text() == "No workflow matches"
    assert not page.empty_new.isVisible()
    page.search.clear()
    assert page.list_stack.currentWidget() is page.table

    # Del asks first; No keeps it, Yes deletes it
    assert page.select_workflow(copy_id)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_args: Any) -> Any:
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    press(app, qtbot, page.table, Qt.Key.Key_Delete)
    assert "Lead follow-up (copy)" in asked[0]
    assert page.model.rowCount() == 2
    press(app, qtbot, page.table, Qt.Key.Key_Delete)
    app.until(lambda: page.model.rowCount() == 1)
    assert page.model.workflow(0).id == first
    assert "Deleted “Lead follow-up (copy)”" in page.message.text()
    assert not app.crash.dialogs


def test_import_export_and_validate_list_every_problem(
    make_app: Any, tmp_path: Path, monkeypatch: Any, qtbot: Any
) -> None:
    from PySide6.QtWidgets import QFileDialog

    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = open_workflows(app)
    chosen: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *_a, **_k: (chosen.pop(0), "Workflow files")
    )
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *_a, **_k: (chosen.pop(0), "Workflow files")
    )

    # a file that is not JSON: refused, and the message says where
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"name": "x", "nodes": [', encoding="utf-8")
    chosen.append(str(not_json))
    press(app, qtbot, page.search, Qt.Key.Key_I, ctrl=True)
    app.until(lambda: "not valid JSON" in page.message.text())
    assert page.message.objectName() == "HealthError"
    assert page.model.rowCount() == 0

    # a file of the wrong shape: every problem listed with its node id
    bad_shape = tmp_path / "shape.json"
    bad_shape.write_text(
        json.dumps({"name": "Shape", "nodes": [{"id": "n1", "type": "log"}], "edges": []}),
        encoding="utf-8",
    )
    chosen.append(str(bad_shape))
    page._import()
    app.until(lambda: page.details.problems.rowCount() == 1)
    assert page.details.problems.item(0, 0).text() == "BAD_SHAPE"
    assert page.details.problems.item(0, 1).text() == "n1"
    assert "name" in page.details.problems.item(0, 3).text()

    # a graph with mistakes imports (it can be fixed later) but Validate lists them all
    broken = {
        "name": "Broken graph",
        "nodes": [
            node("a", "log", "Log"),
            node("b", "teleport", "Beam"),
            node("c", "delay", "Wait"),
        ],
        "edges": [edge("a", "c"), edge("c", "ghost")],
    }
    broken_file = tmp_path / "broken-graph.json"
    broken_file.write_text(json.dumps(broken), encoding="utf-8")
    chosen.append(str(broken_file))
    page._import()
    app.until(lambda: page.model.rowCount() == 1 and page.selected_id() is not None)
    assert page.message.text() == "Imported broken-graph.json as “Broken graph”."
    workflow_id = page.selected_id()
    app.until(lambda: page._details_for == workflow_id and page.details.node_ids != [])
    validated: list[list[dict[str, Any]]] = []
    page.sig_validated.connect(lambda _id, problems: validated.append(problems))
    page.validate_button.click()
    app.until(lambda: bool(validated))
    codes = {(p["code"], p.get("node_id"), p.get("edge_id")) for p in validated[0]}
    assert ("UNKNOWN_TYPE", "b", None) in codes
    assert ("MISSING_PARAM", "c", None) in codes
    assert ("DANGLING_EDGE", None, "c-ghost") in codes
    assert ("NO_TRIGGER", None, None) in codes
    table = page.details.problems
    assert table.rowCount() == len(validated[0])
    assert page.details.tabs.currentIndex() == page.details.PROBLEMS
    assert page.message.objectName() == "HealthError"
    assert f"{len(validated[0])} problem(s)" in page.message.text()
    # double-clicking a problem selects its node
    row = next(r for r in range(table.rowCount()) if table.item(r, 1).text() == "b")
    page.details._problem_activated(row, 0)
    assert page.details.tabs.currentIndex() == page.details.NODES
    assert page.details.nodes.currentRow() == page.details.node_ids.index("b")

    # Ctrl+E exports the selected workflow as a file that imports again
    target = tmp_path / "out" / "exported.json"
    target.parent.mkdir()
    chosen.append(str(target))
    press(app, qtbot, page.table, Qt.Key.Key_E, ctrl=True)
    app.until(lambda: target.exists())
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["name"] == "Broken graph"
    assert [n["id"] for n in exported["nodes"]] == ["a", "b", "c"]
    app.until(lambda: page.message.text() == f"Exported to {target}.")
    assert not app.crash.dialogs


def test_run_dialog_refuses_bad_json_then_runs_and_opens_the_run(make_app: Any) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    page = open_workflows(app)
    workflow_id = make(app, page, quote_doc())
    assert page.details.node_ids == ["start", "price", "done"]

    dialog = page.run_dialog(workflow_id)
    dialog.open()
    assert isinstance(dialog, RunParametersDialog)
    assert dialog.version.itemText(0) == "Latest (v1)"
    # key=value rows: values that read as JSON are typed
    dialog.add_row("base", "100")
    dialog.add_row("customer", "Ada Lovelace")
    assert dialog.parameters() == {"base": 100, "customer": "Ada Lovelace"}
    dialog.add_row("base", "2")
    dialog.accept()
    assert dialog.isVisible() and "given twice" in dialog.error.text()
    dialog.table.removeRow(2)
    # the JSON tab gets the same parameters; invalid JSON is refused inline
    dialog.tabs.setCurrentIndex(dialog.JSON)
    assert json.loads(dialog.json_edit.toPlainText()) == {"base": 100, "customer": "Ada Lovelace"}
    dialog.json_edit.setPlainText('{"base": 100,')
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.error.isVisible() and "Not valid JSON" in dialog.error.text()
    dialog.tabs.setCurrentIndex(dialog.FIELDS)  # cannot leave the tab while it is invalid
    assert dialog.tabs.currentIndex() == dialog.JSON
    dialog.json_edit.setPlainText("[1, 2]")
    dialog.accept()
    assert "must be a JSON object" in dialog.error.text()
    dialog.json_edit.setPlainText('{"base": 100}')
    assert dialog.follow.isChecked()
    started: list[str] = []
    page.sig_run_started.connect(started.append)
    dialog.accept()
    app.until(lambda: bool(started) and app.window.current_page() == "runs")

    runs = app.window.pages["runs"]
    run_id = started[0]
    app.until(
        lambda: (
            runs.detail.status is not None
            and runs.detail.status["run_id"] == run_id
            and runs.detail.status["status"] == "succeeded"
        )
    )
    assert runs.selected_run_id() == run_id
    assert runs.detail.status["params"] == {"base": 100}
    # the workflow list now shows the last run's status, and remembers the parameters
    app.window.show_page("workflows")
    page.refresh()
    app.until(lambda: page.proxy.index(0, 4).data() == "● succeeded")
    assert page.run_dialog(workflow_id).parameters() == {"base": 100}
    assert not app.crash.dialogs


def test_viewer_sees_the_list_but_no_write_buttons(make_app: Any) -> None:
    app = make_app()
    app.window.show()
    app.sign_in_first_admin()
    platform = app.bridge.platform
    admin = app.window.session.principal
    app.run(platform.workflows.create(admin, quote_doc("Shared quote")))
    app.run(platform.security.users.create_user(admin, "vera", "Viewer-Pass-2026", "viewer"))
    app.sign_in_as("vera", "Viewer-Pass-2026")
    page = open_workflows(app)
    app.until(lambda: page.model.rowCount() == 1)
    assert page.select_workflow(page.model.workflow(0).id)
    hidden = [
        page.new_button,
        page.duplicate_button,
        page.delete_button,
        page.import_button,
        page.run_button,
    ]
    assert all(button.isHidden() for button in hidden)
    assert page.export_button.isVisible() and page.export_button.isEnabled()
    assert page.validate_button.isVisible()
    page._delete()  # the keyboard path is closed too
    page._run()
    assert page.model.rowCount() == 1
    assert page.findChild(RunParametersDialog) is None
    runs = app.window.show_page("runs")
    for button in (runs.rerun_button, runs.cancel_button, runs.resume_button):
        assert button.isHidden()
    assert not app.crash.dialogs
