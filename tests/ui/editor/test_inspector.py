"""The node inspector: editors generated from the schema, inline problems, expression
previews from the last run, and edits emitted only when they are real."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from auterity_desktop.services.workflows.builtin_nodes import HTTP_METHODS, builtin_registry
from auterity_desktop.services.workflows.document import WorkflowNode
from auterity_desktop.ui.editor.inspector import EMPTY_TEXT, InspectorWidget
from auterity_desktop.ui.editor.inspector_fields import (
    BoolField,
    ChoiceField,
    JsonField,
    NumberField,
    TextField,
)
from auterity_desktop.ui.editor.inspector_values import (
    param_label,
    parse_json,
    parse_number,
    same_value,
    with_mnemonic,
)

CONTEXT = {
    "$input": {"vin": "WVW123", "price": 19990, "wait": 12},
    "$params": {"dealer": "north"},
    "$run": {"id": "run-1"},
    "$node": {"Lookup": {"output": {"price": 21500.5}}},
}


def make(node_type: str, name: str = "Node", node_id: str = "n1", **params: Any) -> WorkflowNode:
    return WorkflowNode(id=node_id, type=node_type, name=name, params=params)


class Form:
    """An inspector on screen, with every emitted edit recorded."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot
        self.widget = InspectorWidget(builtin_registry())
        qtbot.addWidget(self.widget)
        self.widget.resize(380, 900)
        self.edits: list[tuple[str, dict[str, Any]]] = []
        self.widget.sig_edited.connect(lambda node_id, change: self.edits.append((node_id, change)))
        self.widget.show()
        qtbot.waitExposed(self.widget)
        self.widget.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is self.widget)

    def show(self, node: WorkflowNode, context: dict[str, Any] | None = None) -> InspectorWidget:
        self.widget.show_node(node, context)
        return self.widget

    def editor(self, name: str) -> Any:
        return self.widget.field(name).text_editor()

    def focus(self, widget: QWidget) -> None:
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        self.qtbot.waitUntil(widget.hasFocus)

    def replace_text(self, widget: QLineEdit | QPlainTextEdit, text: str) -> None:
        """Select everything and type ``text`` with real key events."""
        self.focus(widget)
        self.qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        self.qtbot.keyClick(widget, Qt.Key.Key_Delete)
        self.qtbot.keyClicks(widget, text)

    def finish(self, widget: QLineEdit | QPlainTextEdit) -> None:
        """Enter in a line edit, Ctrl+Enter in a text box: the edit is done."""
        modifier = (
            Qt.KeyboardModifier.ControlModifier
            if isinstance(widget, QPlainTextEdit)
            else Qt.KeyboardModifier.NoModifier
        )
        self.qtbot.keyClick(widget, Qt.Key.Key_Return, modifier)


@pytest.fixture
def form(qtbot: Any) -> Form:
    return Form(qtbot)


# -- the schema decides the editors ------------------------------------------------------
def test_set_fields_has_json_editors_and_a_checkbox(form: Form) -> None:
    widget = form.show(make("set_fields", fields={"total": 3}))
    assert widget.title.text() == "Set fields"
    assert "Adds, changes or removes" in widget.description.text()
    fields = widget.field("fields")
    assert isinstance(fields, JsonField)
    assert isinstance(fields.editor, QPlainTextEdit)
    assert fields.editor.toPlainText() == '{\n  "total": 3\n}'
    assert fields.label is not None and fields.label.text().endswith("*")  # required
    assert "name → value or expression" in fields.editor.toolTip()
    keep = widget.field("keep_input")
    assert isinstance(keep, BoolField)
    assert keep.checkbox.isChecked()  # the schema default, since the node does not set it
    assert isinstance(widget.field("remove"), JsonField)


def test_http_request_has_a_method_combo_a_url_line_and_a_number_line(form: Form) -> None:
    widget = form.show(make("http_request", url="https://example.com", timeout=10))
    method = widget.field("method")
    assert isinstance(method, ChoiceField)
    assert [method.combo.itemText(i) for i in range(method.combo.count())] == list(HTTP_METHODS)
    assert method.combo.currentText() == "GET"  # the default
    url = widget.field("url")
    assert isinstance(url, TextField) and isinstance(url.editor, QLineEdit)
    assert url.label is not None and url.label.text().replace("&", "") == "URL *"
    timeout = widget.field("timeout")
    assert isinstance(timeout, NumberField)
    assert isinstance(timeout.editor, QLineEdit)  # not a spin box: it may hold {{ }}
    assert not timeout.findChildren(QAbstractSpinBox)
    assert timeout.editor.text() == "10"
    assert isinstance(widget.field("body"), JsonField)
    assert [widget.field("response").combo.itemText(i) for i in range(3)] == [
        "json",
        "text",
        "binary",
    ]


def test_switch_for_each_approval_and_schedule_editors(form: Form) -> None:
    widget = form.show(make("switch", value="{{ $input.kind }}", cases=["a", "b"]))
    assert isinstance(widget.field("value"), JsonField)
    assert widget.field("value").editor.toPlainText() == "{{ $input.kind }}"
    assert widget.field("cases").editor.toPlainText() == '[\n  "a",\n  "b"\n]'

    widget = form.show(make("for_each", node_id="loop", items="{{ $input.cars }}"))
    assert isinstance(widget.field("items"), JsonField)
    concurrency = widget.field("concurrency")
    assert isinstance(concurrency, NumberField)
    assert concurrency.editor.placeholderText() == "default: 1"

    widget = form.show(make("approval", node_id="ok", message="Please check"))
    assert isinstance(widget.field("message").editor, QPlainTextEdit)  # long text
    assert isinstance(widget.field("timeout_hours"), NumberField)

    widget = form.show(make("schedule_trigger", node_id="tick", cron="0 8 * * 1-5"))
    missed = widget.field("missed_runs")
    assert isinstance(missed, ChoiceField)
    assert not missed.switch.isVisible()  # expression=False: no {{ }} switch
    assert "Five fields" in widget.field("cron").editor.toolTip()


def test_unknown_type_edits_the_raw_parameters(form: Form) -> None:
    widget = form.show(WorkflowNode(id="x", type="ai_magic", name="Magic", params={"a": 1}))
    assert "Unknown node type" in widget.description.text()
    raw = widget.field("parameters")
    form.replace_text(raw.editor, '{"a": 2}')
    form.finish(raw.editor)
    assert form.edits == [("x", {"params": {"a": 2}})]


# -- name --------------------------------------------------------------------------------
def test_typing_a_name_and_pressing_enter_emits_once(form: Form) -> None:
    widget = form.show(make("log", name="Log"))
    form.replace_text(widget.name_edit, "Write summary")
    assert form.edits == []  # not while typing
    form.qtbot.keyClick(widget.name_edit, Qt.Key.Key_Return)
    assert form.edits == [("n1", {"name": "Write summary"})]
    form.focus(widget.field("level").combo)  # focus leaving does not send it again
    assert len(form.edits) == 1


def test_an_empty_name_is_refused_inline(form: Form) -> None:
    widget = form.show(make("log", name="Log"))
    form.replace_text(widget.name_edit, "   ")
    form.qtbot.keyClick(widget.name_edit, Qt.Key.Key_Return)
    assert form.edits == []
    assert widget.name_problem.isVisible()
    assert widget.name_problem.text() == "A node needs a name"
    form.qtbot.keyClicks(widget.name_edit, "x")
    assert not widget.name_problem.isVisible()


# -- JSON --------------------------------------------------------------------------------
def test_invalid_json_is_shown_inline_and_not_emitted(form: Form) -> None:
    widget = form.show(make("set_fields", fields={"a": 1}))
    editor = widget.field("fields").editor
    form.replace_text(editor, '{"total": 1,')
    assert "Not valid JSON" in widget.field("fields").problem_text()  # while typing
    form.finish(editor)
    form.focus(widget.name_edit)
    assert form.edits == []
    assert "Not valid JSON" in widget.field("fields").problem_text()


def test_valid_json_emits_the_whole_new_params(form: Form) -> None:
    widget = form.show(make("set_fields", fields={"a": 1}, keep_input=False))
    editor = widget.field("fields").editor
    form.replace_text(editor, '{"total": "{{ $input.price * 1.2 }}", "n": 2}')
    form.finish(editor)
    expected = {"fields": {"total": "{{ $input.price * 1.2 }}", "n": 2}, "keep_input": False}
    assert form.edits == [("n1", {"params": expected})]
    assert widget.field("fields").problem_text() == ""
    form.focus(widget.name_edit)  # the focus-out after Ctrl+Enter sends nothing new
    assert len(form.edits) == 1


def test_a_json_type_problem_is_shown_but_still_emitted(form: Form) -> None:
    widget = form.show(make("set_fields", fields={"a": 1}))
    editor = widget.field("fields").editor
    form.replace_text(editor, "[1, 2]")
    form.finish(editor)
    assert form.edits == [("n1", {"params": {"fields": [1, 2]}})]
    assert widget.field("fields").problem_text() == "Must be an object, not list"


def test_clearing_a_required_field_says_required_and_removes_the_key(form: Form) -> None:
    widget = form.show(make("set_fields", fields={"a": 1}, keep_input=True))
    editor = widget.field("fields").editor
    form.replace_text(editor, "")
    form.finish(editor)
    assert form.edits == [("n1", {"params": {"keep_input": True}})]
    assert widget.field("fields").problem_text() == "Required"


# -- expressions -------------------------------------------------------------------------
def test_an_expression_syntax_error_shows_its_position(form: Form) -> None:
    widget = form.show(make("http_request", url="https://example.com"))
    url = widget.field("url")
    text = "https://x.test/{{ $input.vin + }}"
    form.replace_text(url.editor, text)
    position = text.index("}}")  # the expression ends where the '+' needs its right side
    problem = url.problem_text()
    assert problem.startswith("Expression: unexpected 'end of expression'")
    assert f"at character {position + 1}" in problem
    url.problem.linkActivated.emit(f"pos:{position}")  # clicking the error
    assert url.editor.cursorPosition() == position
    form.finish(url.editor)
    assert form.edits == [("n1", {"params": {"url": text}})]  # saved with its problem


def test_an_expression_where_none_is_allowed_is_a_problem(form: Form) -> None:
    widget = form.show(make("for_each", items=[1]))
    concurrency = widget.field("concurrency")
    form.replace_text(concurrency.editor, "{{ $input.n }}")
    assert concurrency.problem_text() == "Cannot be an expression"


def test_preview_shows_the_value_from_the_last_run(form: Form) -> None:
    node = make(
        "http_request",
        url="https://api.test/cars/{{ $input.vin }}",
        timeout="{{ $input.price * 1.2 }}",
        body={"vin": "{{ $input.vin }}", "dealer": "{{ $params.dealer }}"},
    )
    widget = form.show(node, CONTEXT)
    assert widget.field("timeout").preview_text() == "→ 23988.0  ⚠ must be at most 600"
    assert widget.field("url").preview_text() == '→ "https://api.test/cars/WVW123"'
    body = widget.field("body")
    assert body.preview_text() == '→ {"vin": "WVW123", "dealer": "north"}'
    assert body.tree_button.isVisible()
    form.qtbot.mouseClick(body.tree_button, Qt.MouseButton.LeftButton)
    assert body.tree is not None and body.tree.value() == {"vin": "WVW123", "dealer": "north"}
    assert widget.field("method").preview_text() == ""  # no expression, no preview


def test_preview_shows_the_error_for_a_missing_field_as_you_type(form: Form) -> None:
    widget = form.show(make("http_request", url="https://x.test"), CONTEXT)
    url = widget.field("url")
    form.replace_text(url.editor, 'https://x.test/{{ $node["Lookup"].output.prize }}')
    assert url.preview_text().startswith("→ no field 'prize' (available: price)")
    assert url.problem_text() == ""  # not a problem of the workflow, only of that run's data
    assert url.preview_label.objectName() == "HealthWarning"
    form.replace_text(url.editor, 'https://x.test/{{ $node["Lookup"].output.price }}')
    assert url.preview_text() == '→ "https://x.test/21500.5"'


def test_without_a_run_the_preview_says_so(form: Form) -> None:
    widget = form.show(make("log", message="Total {{ $input.total }}"))
    assert widget.field("message").preview_text() == "(no run yet)"


def test_a_boolean_can_switch_to_an_expression(form: Form) -> None:
    widget = form.show(make("set_fields", fields={}, keep_input="{{ $params.keep }}"))
    keep = widget.field("keep_input")
    assert keep.switch.isChecked() and keep.expression.text() == "{{ $params.keep }}"
    assert not keep.checkbox.isEnabled()
    form.qtbot.mouseClick(keep.switch, Qt.MouseButton.LeftButton)  # back to a fixed value
    assert form.edits == [("n1", {"params": {"fields": {}, "keep_input": True}})]


# -- only real changes -------------------------------------------------------------------
def test_passing_through_fields_emits_nothing(form: Form) -> None:
    widget = form.show(make("http_request", url="https://x.test", timeout=30, headers={"a": "b"}))
    for name in ("url", "timeout", "headers"):
        form.focus(widget.field(name).editor)
    form.focus(widget.name_edit)
    form.qtbot.keyClick(widget.name_edit, Qt.Key.Key_Return)
    form.replace_text(widget.field("timeout").editor, "30.0")  # the same number
    form.finish(widget.field("timeout").editor)
    form.replace_text(widget.name_edit, "Node")  # retyped as it was
    form.finish(widget.name_edit)
    assert form.edits == []


def test_number_fields_take_numbers_expressions_and_refuse_words(form: Form) -> None:
    widget = form.show(make("delay", seconds=5))
    seconds = widget.field("seconds")
    form.replace_text(seconds.editor, "soon")
    form.finish(seconds.editor)
    assert form.edits == []
    assert seconds.problem_text() == "Enter a number or an expression in {{ }}"
    form.replace_text(seconds.editor, "-2")
    form.finish(seconds.editor)
    assert form.edits == [("n1", {"params": {"seconds": -2}})]  # out of range, still kept
    assert seconds.problem_text() == "Must be at least 0"
    form.replace_text(seconds.editor, "{{ $input.wait }}")
    form.finish(seconds.editor)
    assert form.edits[-1] == ("n1", {"params": {"seconds": "{{ $input.wait }}"}})


def test_combo_and_checkbox_emit_when_changed(form: Form) -> None:
    widget = form.show(make("set_fields", fields={}))
    keep = widget.field("keep_input").checkbox
    form.focus(keep)
    form.qtbot.keyClick(keep, Qt.Key.Key_Space)
    assert form.edits == [("n1", {"params": {"fields": {}, "keep_input": False}})]
    widget = form.show(make("log", node_id="log", level="info"))
    level = widget.field("level").combo
    form.focus(level)
    form.qtbot.keyClick(level, Qt.Key.Key_Down)
    assert form.edits[-1] == ("log", {"params": {"level": "warning"}})


# -- settings ----------------------------------------------------------------------------
def test_settings_emit_their_own_fields(form: Form) -> None:
    widget = form.show(make("log", level="info"))
    settings = widget.settings
    assert settings is not None
    form.focus(settings.disabled)
    form.qtbot.keyClick(settings.disabled, Qt.Key.Key_Space)
    form.focus(settings.on_error)
    form.qtbot.keyClick(settings.on_error, Qt.Key.Key_End)
    form.replace_text(settings.timeout, "0")
    form.finish(settings.timeout)
    assert settings.timeout_problem.isVisible()  # refused: the document needs > 0
    form.replace_text(settings.timeout, "90")
    form.finish(settings.timeout)
    attempts = settings.attempts.lineEdit()
    form.replace_text(attempts, "3")
    form.finish(attempts)
    form.replace_text(settings.notes, "Why this exists")
    form.focus(widget.name_edit)
    assert [change for _id, change in form.edits] == [
        {"disabled": True},
        {"on_error": "route"},
        {"timeout": 90},
        {"retry": {"attempts": 3, "delay": 1.0, "backoff": 2.0, "max_delay": 60.0}},
        {"notes": "Why this exists"},
    ]
    form.replace_text(settings.timeout, "")
    form.finish(settings.timeout)
    assert form.edits[-1] == ("n1", {"timeout": None})


# -- refresh, empty and many -------------------------------------------------------------
def test_refresh_updates_the_fields_without_emitting(form: Form) -> None:
    node = make("http_request", name="Fetch", url="https://a.test/x", method="GET")
    widget = form.show(node)
    url = widget.field("url").editor
    form.focus(url)
    url.setCursorPosition(5)
    undone = node.model_copy(
        update={"name": "Fetch car", "params": {**node.params, "method": "POST"}, "timeout": 9.0}
    )
    widget.refresh(undone)
    assert widget.name_edit.text() == "Fetch car"
    assert widget.field("method").combo.currentText() == "POST"
    assert widget.settings is not None and widget.settings.timeout.text() == "9"
    assert url.hasFocus() and url.cursorPosition() == 5  # the field in use kept its cursor
    widget.refresh(undone.model_copy(update={"params": {"url": "https://b.test/y"}}))
    assert url.text() == "https://b.test/y"
    assert widget.field("method").combo.currentText() == "GET"  # back to the default
    assert form.edits == []
    form.focus(widget.name_edit)  # leaving the refreshed field is no edit either
    assert form.edits == []


def test_showing_the_same_node_with_a_new_run_keeps_focus(form: Form) -> None:
    node = make("log", message="Total {{ $input.price }}")
    widget = form.show(node)
    message = widget.field("message")
    form.focus(widget.settings.timeout if widget.settings else widget.name_edit)
    form.qtbot.keyClicks(QApplication.focusWidget(), "4")
    assert message.preview_text() == "(no run yet)"
    widget.show_node(node, CONTEXT)  # the run finished: same node, now with data
    assert message.preview_text() == '→ "Total 19990"'
    assert widget.settings is not None and widget.settings.timeout.hasFocus()
    assert widget.settings.timeout.text() == "4" and form.edits == []


def test_refresh_keeps_unsubmitted_typing_in_an_unchanged_field(form: Form) -> None:
    node = make("set_fields", fields={"a": 1})
    widget = form.show(node)
    editor = widget.field("fields").editor
    form.replace_text(editor, '{"a": ')
    widget.refresh(node.model_copy(update={"name": "Renamed"}))
    assert editor.toPlainText() == '{"a": '
    assert form.edits == []


def test_show_node_none_and_show_many(form: Form) -> None:
    widget = form.show(make("log"))
    widget.show_node(None)
    assert widget.stack.currentWidget() is widget.empty
    assert widget.empty.text.text() == EMPTY_TEXT == "Select a node to edit its settings."
    widget.show_many(3)
    assert widget.stack.currentWidget() is widget.many
    assert widget.many.title.text() == "3 nodes selected"
    widget.show_node(make("log", node_id="again"))
    assert widget.stack.currentWidget() is widget.scroll_area


def test_leaving_for_another_node_commits_the_typing_first(form: Form) -> None:
    widget = form.show(make("log", message="a"))
    form.replace_text(widget.field("message").editor, "Done")
    widget.show_node(make("log", node_id="other"))
    assert form.edits == [("n1", {"params": {"message": "Done"}})]


# -- keyboard ----------------------------------------------------------------------------
def test_tab_walks_the_form_in_order(form: Form) -> None:
    widget = form.show(make("http_request", url="https://x.test"))
    form.focus(widget.name_edit)
    order = []
    for _ in range(6):
        form.qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    method = widget.field("method")
    assert order == [
        method.combo,
        method.switch,
        widget.field("url").editor,
        widget.field("headers").editor,
        widget.field("query").editor,
        widget.field("body").editor,
    ]


def test_every_field_has_a_label_with_its_own_mnemonic(form: Form) -> None:
    widget = form.show(make("http_request", url="https://x.test"))
    letters = []
    for name in ("method", "url", "headers", "query", "body", "timeout", "response"):
        label = widget.field(name).label
        assert label is not None and label.buddy() is widget.field(name).focus_widgets()[0]
        assert "&" in label.text()
        letters.append(label.text()[label.text().index("&") + 1].lower())
    assert len(set(letters)) == len(letters)
    assert isinstance(widget.field("method").combo, QComboBox)


# -- rules without widgets ---------------------------------------------------------------
def test_value_rules() -> None:
    assert parse_json("{{ $input.x }}", "any").value == "{{ $input.x }}"
    assert parse_json('"hi"', "any").value == "hi"
    assert 'text goes in "quotes"' in (parse_json("hi", "any").error or "")
    assert parse_json("", "object").value is None
    assert parse_number("3.0", integer=True, expression=True).value == 3
    assert parse_number("2.5", integer=True, expression=True).value == 2.5
    assert parse_number("1e3", integer=False, expression=False).value == 1000.0
    assert parse_number("abc", integer=True, expression=False).error == "Enter a whole number"
    assert same_value(1, 1.0) and not same_value(1, True) and not same_value("1", 1)
    assert not same_value({"a": 1}, {"a": True})
    assert param_label("workflow_id") == "Workflow ID"
    used: set[str] = {"n"}
    assert with_mnemonic("Name", used) == "N&ame"


def test_alt_letter_jumps_to_a_field(form: Form) -> None:
    widget = form.show(make("http_request", url="https://x.test"))
    form.focus(widget.name_edit)
    label = widget.field("url").label
    assert label is not None
    letter = label.text()[label.text().index("&") + 1]
    form.qtbot.keyClick(widget.name_edit, letter.lower(), Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is widget.field("url").editor
