"""The node inspector: a form generated from the selected node's parameter schema.

Each parameter gets the editor its type calls for, with the problem validation would report
shown under it as the user types, and an expression's value in the last run previewed
beside it — so a wrong field name shows up while editing, not after the next run fails.

The inspector holds no document and no undo stack: it emits ``sig_edited(node_id,
{field: value})`` for each finished, real change and the editor applies it (as an undoable
command) and calls :meth:`InspectorWidget.refresh` with the result. Refreshing never emits,
and leaves the field being typed in alone when its value did not change.

Parameter problems come from the same ``validation._param_problems`` the save and run checks
use, so the form and the validator cannot disagree. A parameter value with a problem is
still emitted (a workflow may be saved unfinished); only text that is no value at all —
unparseable JSON, letters in a number field — stays in the form with its error.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.workflows.document import WorkflowNode
from auterity_desktop.services.workflows.registry import NodeRegistry, NodeType, ParamSpec
from auterity_desktop.services.workflows.validation import Problem, _param_problems
from auterity_desktop.ui.editor.inspector_fields import (
    ParamField,
    make_field,
    set_text_keeping_cursor,
)
from auterity_desktop.ui.editor.inspector_settings import SettingsSection
from auterity_desktop.ui.editor.inspector_values import (
    Parsed,
    Preview,
    expression_issues,
    has_template,
    is_unset,
    preview,
    same_value,
    with_mnemonic,
)
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget

EMPTY_TITLE = "No node selected"
EMPTY_TEXT = "Select a node to edit its settings."
MAX_NAME = 200
# What stands for the whole parameter dict of a node whose type this build does not know.
_RAW_PARAMS = ParamSpec(
    "parameters",
    "object",
    expression=False,
    description="This node type is unknown here, so its parameters are edited as JSON",
)


def problem_text(problem: Problem, name: str) -> str:
    """A validation message as it reads under its own field: without the parameter name
    ("url is required" → "Required")."""
    if problem.code == "MISSING_PARAM":
        return "Required"
    message = problem.message
    if message.startswith(name + " "):
        message = message[len(name) + 1 :]
    return message[:1].upper() + message[1:]


class InspectorWidget(QWidget):
    """Shows one node's name, parameters and settings, and emits the user's edits."""

    sig_edited = Signal(str, dict)  # node id, {field: new value}

    def __init__(self, registry: NodeRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Inspector")
        self.registry = registry
        self.node_id: str | None = None
        self.node_type: NodeType | None = None
        self.fields: dict[str, ParamField] = {}
        self.settings: SettingsSection | None = None
        self._node_type_name = ""
        self._name = ""
        self._params: dict[str, Any] = {}
        self._context: Mapping[str, Any] | None = None
        self._building = False

        self.empty = EmptyStateWidget()
        self.empty.setObjectName("InspectorEmpty")
        self.empty.set_text(EMPTY_TITLE, EMPTY_TEXT)
        self.many = EmptyStateWidget()
        self.many.setObjectName("InspectorMany")
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("InspectorScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        for page in (self.empty, self.many, self.scroll_area):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.setMinimumWidth(260)
        self.show_node(None)

    # -- public API -----------------------------------------------------------------------
    def show_node(
        self, node: WorkflowNode | None, preview_context: Mapping[str, Any] | None = None
    ) -> None:
        """Show ``node`` (``None``: the empty state). ``preview_context`` is the expression
        context this node had in the last run; without one, previews say there was none.

        Showing the node already shown only updates it, so the field in use keeps focus."""
        if node is not None and self._is_shown(node):
            self._context = preview_context
            self.refresh(node)
            return
        self.commit_pending()
        if node is None:
            self._clear()
            self.empty.set_text(EMPTY_TITLE, EMPTY_TEXT)
            self.stack.setCurrentWidget(self.empty)
            return
        self._context = preview_context
        self._build(node)
        self.stack.setCurrentWidget(self.scroll_area)

    def show_many(self, count: int) -> None:
        """Several nodes are selected: the inspector edits one at a time, and says so."""
        self.commit_pending()
        self._clear()
        self.many.set_text(
            f"{count} nodes selected",
            "Select a single node to edit its settings. Moving, aligning, copying and "
            "deleting work on all of them.",
        )
        self.stack.setCurrentWidget(self.many)

    def refresh(self, node: WorkflowNode) -> None:
        """The node changed elsewhere (undo, rename on the canvas): show the new values
        without emitting. Only fields whose value changed are touched; a focused one that
        already shows the value keeps its cursor."""
        if not self._is_shown(node):
            self.show_node(node, self._context if node.id == self.node_id else None)
            return
        self._building = True
        try:
            if node.name != self._name or not self.name_edit.hasFocus():
                set_text_keeping_cursor(self.name_edit, node.name)
            self._name = node.name
            self._check_name()
            old, self._params = self._params, dict(node.params)
            for name, field in self.fields.items():
                value = self._field_value(name)
                if not same_value(self._old_value(old, name), value):
                    field.set_value(value)
                self._update_field(name)
            self._update_unknown()
            if self.settings is not None:
                self.settings.set_node(node)
        finally:
            self._building = False

    def commit_pending(self) -> None:
        """Commit what the user typed into the focused field before the form goes away
        (a focus-out will not come when the selection changes by keyboard)."""
        if self.node_id is None or self.stack.currentWidget() is not self.scroll_area:
            return
        focus = QApplication.focusWidget()
        if focus is None or not self.isAncestorOf(focus):
            return
        if focus is self.name_edit:
            self._commit_name()
        for name, field in self.fields.items():
            if field.has_focus() and field.is_dirty():
                self._commit(name)
        if self.settings is not None and self.settings.isAncestorOf(focus):
            focus.clearFocus()  # its own editingFinished/focus-out commits

    # -- queries (tests and the editor's status line use them) ----------------------------
    def field(self, name: str) -> ParamField:
        return self.fields[name]

    def current_params(self) -> dict[str, Any]:
        """The parameters as last emitted or shown."""
        return dict(self._params)

    # -- building -------------------------------------------------------------------------
    def _is_shown(self, node: WorkflowNode) -> bool:
        return (
            self.stack.currentWidget() is self.scroll_area
            and node.id == self.node_id
            and node.type == self._node_type_name
        )

    def _clear(self) -> None:
        self.node_id = None
        self.node_type = None
        self._node_type_name = ""
        self.fields = {}
        self.settings = None
        self._params = {}
        self._context = None
        building, self._building = self._building, True
        try:  # taking the form away moves focus: its focus-out must not commit anything
            old = self.scroll_area.takeWidget()
            if old is not None:
                old.deleteLater()
        finally:
            self._building = building

    def _build(self, node: WorkflowNode) -> None:
        context = self._context
        self._clear()
        self._context = context
        self._building = True
        try:
            self.node_id = node.id
            self._node_type_name = node.type
            self.node_type = self.registry.get(node.type)
            self._name = node.name
            self._params = dict(node.params)
            self.scroll_area.setWidget(self._form(node))
            self._check_name()
            for name in self.fields:
                self._update_field(name)
            self._update_unknown()
        finally:
            self._building = False
        self._chain_focus()

    def _form(self, node: WorkflowNode) -> QWidget:
        mnemonics: set[str] = set()
        content = QWidget()
        content.setObjectName("InspectorForm")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(6)

        node_type = self.node_type
        self.title = QLabel(node_type.title if node_type else node.type)
        self.title.setObjectName("PageTitle")
        self.title.setWordWrap(True)
        self.description = QLabel(
            node_type.description
            if node_type
            else f"Unknown node type {node.type!r}: this build cannot run it."
        )
        self.description.setObjectName("PageSubtitle" if node_type else "HealthWarning")
        self.description.setWordWrap(True)
        where = f"{node_type.category} · " if node_type else ""
        self.identity = QLabel(f"{where}{node.type} · id {node.id}")
        self.identity.setObjectName("PageSubtitle")
        self.identity.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.title, self.description, self.identity):
            layout.addWidget(label)
        layout.addSpacing(6)

        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("InspectorName")
        self.name_edit.setMaxLength(MAX_NAME)
        self.name_edit.setAccessibleName("Node name")
        self.name_edit.setToolTip(
            'Unique in the workflow; expressions refer to the node as $node["Name"]'
        )
        self.name_edit.editingFinished.connect(self._commit_name)
        self.name_edit.textEdited.connect(lambda _t: self._check_name())
        name_label = QLabel(with_mnemonic("Name", mnemonics))
        name_label.setBuddy(self.name_edit)
        self.name_problem = QLabel("")
        self.name_problem.setObjectName("HealthError")
        self.name_problem.hide()
        layout.addWidget(name_label)
        layout.addWidget(self.name_edit)
        layout.addWidget(self.name_problem)

        specs = node_type.params if node_type else (_RAW_PARAMS,)
        params_box = QGroupBox("Parameters")
        params_box.setObjectName("InspectorParameters")
        params_layout = QVBoxLayout(params_box)
        params_layout.setSpacing(10)
        if any(s.required for s in specs):
            legend = QLabel("* required")
            legend.setObjectName("PageSubtitle")
            params_layout.addWidget(legend)
        for spec in specs:
            field = make_field(spec, self._field_value(spec.name), mnemonics)
            field.sig_commit.connect(self._commit)
            field.sig_typing.connect(self._update_field)
            self.fields[spec.name] = field
            params_layout.addWidget(field)
        if not specs:
            none = QLabel("This node has no parameters.")
            none.setObjectName("PageSubtitle")
            params_layout.addWidget(none)
        self.unknown = QLabel("")
        self.unknown.setObjectName("HealthWarning")
        self.unknown.setWordWrap(True)
        self.unknown.hide()
        params_layout.addWidget(self.unknown)
        layout.addWidget(params_box)

        self.settings = SettingsSection(mnemonics)
        self.settings.set_node(node)
        self.settings.sig_edited.connect(self._settings_edited)
        layout.addWidget(self.settings)
        layout.addStretch(1)
        content.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        return content

    def _chain_focus(self) -> None:
        """Tab walks the form top to bottom, whatever order the widgets were made in."""
        chain: list[QWidget] = [self.name_edit]
        for field in self.fields.values():
            chain.extend(field.focus_widgets())
            chain.append(field.tree_button)
        if self.settings is not None:
            chain.extend(self.settings.focus_widgets())
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    # -- values ---------------------------------------------------------------------------
    def _field_value(self, name: str) -> Any:
        if self.node_type is None:
            return self._params
        return self._params.get(name)

    def _old_value(self, old: dict[str, Any], name: str) -> Any:
        return old if self.node_type is None else old.get(name)

    def _candidate(self, name: str, value: Any) -> dict[str, Any]:
        """The parameters as they would be with ``value`` in ``name``."""
        if self.node_type is None:
            return dict(value) if isinstance(value, dict) else {}
        params = dict(self._params)
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        return params

    # -- inline validation and previews ---------------------------------------------------
    def _update_field(self, name: str) -> None:
        field = self.fields.get(name)
        if field is None:
            return
        parsed = field.read()
        if parsed.error is not None:
            field.set_problems([parsed.error], [])
            field.set_preview(None, False)
            return
        self._show_state(field, parsed)

    def _show_state(self, field: ParamField, parsed: Parsed) -> None:
        name, value = field.spec.name, parsed.value
        problems: list[str] = []
        if self.node_type is None:
            if value is not None and not isinstance(value, dict):
                problems.append("Must be a JSON object of parameter names and values")
        else:
            problems = [
                problem_text(p, name)
                for p in _param_problems(
                    self.node_id or "", self.node_type, self._candidate(name, value)
                )
                if p.param == name and p.code != "BAD_EXPRESSION"
            ]
        issues = expression_issues(value)
        field.set_problems(problems, issues)
        if not has_template(value) or issues:
            field.set_preview(None, False)
            return
        if self._context is None:
            field.set_preview(Preview("", ""), False)
            return
        result = preview(value, self._context)
        field.set_preview(self._checked_preview(field.spec, result), True)

    def _checked_preview(self, spec: ParamSpec, result: Preview) -> Preview:
        """Add what validation would say about the evaluated value (a URL expression that
        gives a number), which the template itself could not reveal."""
        if result.failed or self.node_type is None or has_template(result.value):
            return result
        problems = [
            problem_text(p, spec.name)
            for p in _param_problems("", self.node_type, {spec.name: result.value})
            if p.param == spec.name and p.code == "BAD_PARAM"
        ]
        if not problems:
            return result
        return Preview(
            f"{result.text}  ⚠ {problems[0].lower()}",
            result.tooltip + "\n\n" + "\n".join(problems),
            result.value,
        )

    def _update_unknown(self) -> None:
        if self.node_type is None:
            return
        extra = sorted(
            name
            for name in self._params
            if self.node_type.param(name) is None and name != "personal_fields"
        )
        self.unknown.setText(
            f"Unknown parameter{'s' * (len(extra) > 1)}, kept as "
            f"{'they are' if len(extra) > 1 else 'it is'}: {', '.join(extra)}"
        )
        self.unknown.setVisible(bool(extra))

    def _check_name(self) -> str | None:
        problem = None if self.name_edit.text().strip() else "A node needs a name"
        self.name_problem.setText(problem or "")
        self.name_problem.setVisible(problem is not None)
        return problem

    # -- emitting -------------------------------------------------------------------------
    def _emit(self, changes: dict[str, Any]) -> None:
        if self.node_id is not None and not self._building:
            self.sig_edited.emit(self.node_id, changes)

    def _commit_name(self) -> None:
        if self._building or self.node_id is None:
            return
        name = self.name_edit.text().strip()
        if self._check_name() is not None or name == self._name:
            return
        self._name = name
        self._emit({"name": name})

    def _commit(self, name: str) -> None:
        field = self.fields.get(name)
        if self._building or self.node_id is None or field is None:
            return
        parsed = field.read()
        self._update_field(name)
        if parsed.error is not None:
            return
        if self.node_type is None:
            if isinstance(parsed.value, dict) and not same_value(parsed.value, self._params):
                self._params = dict(parsed.value)
                self._emit({"params": dict(self._params)})
            return
        if self._unchanged(field.spec, self._params.get(name), parsed.value):
            return
        self._params = self._candidate(name, parsed.value)
        self._update_unknown()
        self._emit({"params": dict(self._params)})

    @staticmethod
    def _unchanged(spec: ParamSpec, current: Any, value: Any) -> bool:
        """Whether storing ``value`` would change nothing the engine sees: the same value,
        empty for empty, or the default for a parameter that was not set."""
        if same_value(current, value) or (is_unset(current) and is_unset(value)):
            return True
        return current is None and spec.default is not None and same_value(value, spec.default)

    def _settings_edited(self, changes: dict[str, Any]) -> None:
        self._emit(changes)
