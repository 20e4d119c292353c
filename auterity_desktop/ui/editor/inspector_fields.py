"""One inspector field per parameter: the editor its schema type calls for, the inline
problem under it, and — for an expression — a preview of its value in the last run.

A field only *shows* and *reads*: it announces that the user finished an edit
(``sig_commit``) or is typing (``sig_typing``), and the inspector decides whether that is a
real change and what the problems are. Setting a value from outside never announces
anything, so an undo elsewhere cannot echo back as a new edit.
"""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QFontDatabase, QKeyEvent, QPalette, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.workflows.expressions import is_template
from auterity_desktop.services.workflows.registry import ParamSpec
from auterity_desktop.ui.editor.inspector_values import (
    ExpressionIssue,
    Parsed,
    Preview,
    format_json,
    format_number,
    format_string,
    param_label,
    parse_json,
    parse_number,
    parse_string,
    same_value,
    with_mnemonic,
)
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.json_tree import JsonTreeView, to_json

LONG_TEXT = frozenset({"message", "body", "text", "template", "prompt", "content", "notes"})
NO_RUN = "(no run yet)"
_POSITION_LINK = "pos:"


# -- editors that suit a scrolling form ---------------------------------------------------
class CommitPlainTextEdit(QPlainTextEdit):
    """Multi-line text that, like ``QLineEdit``, says when an edit is finished: on focus
    loss or Ctrl+Enter. Tab moves on (a form is walked with Tab); the box grows with its
    text up to ``max_lines`` so short values do not waste the narrow panel."""

    editingFinished = Signal()  # QLineEdit's name, so both kinds of editor connect alike

    def __init__(
        self,
        min_lines: int = 3,
        max_lines: int = 12,
        monospace: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._min_lines = min_lines
        self._max_lines = max_lines
        self.setTabChangesFocus(True)
        if monospace:
            self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(lambda _s: self._fit())
        self._fit()

    def _visual_lines(self) -> int:
        """Lines as shown, wrapped ones included (a block that is not laid out yet counts
        as one line; the next layout pass fits again)."""
        count = 0
        block = self.document().firstBlock()
        while block.isValid():
            count += max(1, block.layout().lineCount() if block.layout() else 1)
            block = block.next()
        return count

    def _fit(self) -> None:
        lines = max(self._min_lines, min(self._max_lines, self._visual_lines()))
        margins = self.contentsMargins()
        height = (
            lines * self.fontMetrics().lineSpacing()
            + 2 * int(self.document().documentMargin())
            + margins.top()
            + margins.bottom()
            + 2
        )
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()  # a new width wraps the text differently

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.editingFinished.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.editingFinished.emit()
            return
        super().keyPressEvent(event)


class _NoWheelUnlessFocused:
    """A wheel over an unfocused combo or spin box scrolls the form instead of silently
    changing a setting the pointer happened to pass over."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()


class FormComboBox(_NoWheelUnlessFocused, QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)


class FormDoubleSpinBox(_NoWheelUnlessFocused, QDoubleSpinBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setKeyboardTracking(False)


def set_text_keeping_cursor(editor: QLineEdit | QPlainTextEdit, text: str) -> None:
    """Replace an editor's text; a focused editor keeps its cursor where it was (clamped),
    so an undo arriving while the user is in the field does not throw them to the end."""
    if isinstance(editor, QLineEdit):
        if editor.text() == text:
            return
        position = editor.cursorPosition()
        editor.setText(text)
        # unfocused: show the start of a long URL, not its tail
        editor.setCursorPosition(min(position, len(text)) if editor.hasFocus() else 0)
        return
    if editor.toPlainText() == text:
        return
    position = editor.textCursor().position()
    editor.setPlainText(text)
    if editor.hasFocus():
        cursor = editor.textCursor()
        cursor.setPosition(min(position, len(text)))
        editor.setTextCursor(cursor)


def editor_text(editor: QLineEdit | QPlainTextEdit) -> str:
    return editor.text() if isinstance(editor, QLineEdit) else editor.toPlainText()


def place_cursor(editor: QLineEdit | QPlainTextEdit, position: int) -> None:
    editor.setFocus(Qt.FocusReason.OtherFocusReason)
    if isinstance(editor, QLineEdit):
        editor.setCursorPosition(position)
    else:
        cursor = editor.textCursor()
        cursor.setPosition(min(position, len(editor.toPlainText())))
        editor.setTextCursor(cursor)


def describe_spec(spec: ParamSpec) -> str:
    """Tooltip text: the schema's description and the rules the field enforces."""
    facts = [spec.type if spec.type != "enum" else "one of " + ", ".join(spec.choices)]
    if spec.required:
        facts.append("required")
    if spec.default is not None and spec.default not in ({}, [], ""):
        facts.append(f"default {to_json(spec.default, indent=None)}")
    if spec.minimum is not None:
        facts.append(f"at least {spec.minimum:g}")
    if spec.maximum is not None:
        facts.append(f"at most {spec.maximum:g}")
    if spec.expression:
        facts.append("may be an expression {{ … }}")
    lines = [spec.description] if spec.description else []
    lines.append(" · ".join(facts))
    return "\n".join(lines)


class _MessageLabel(QLabel):
    def __init__(self, role: str) -> None:
        super().__init__("")
        self.setObjectName(role)
        self.setWordWrap(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hide()


# -- fields ------------------------------------------------------------------------------
class ParamField(QWidget):
    """The label, editor, inline problem and preview of one parameter."""

    sig_commit = Signal(str)  # parameter name: the user finished an edit
    sig_typing = Signal(str)  # parameter name: the text changed, re-check it

    def __init__(self, spec: ParamSpec, mnemonics: set[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.spec = spec
        self.setObjectName(f"InspectorField_{spec.name}")
        self._loading = False
        self.title = param_label(spec.name) + (" *" if spec.required else "")
        self.tooltip = describe_spec(spec)
        self.label: QLabel | None = None
        self.problem = _MessageLabel("HealthError")
        self.problem.setTextFormat(Qt.TextFormat.RichText)  # escaped text, with links
        self.problem.linkActivated.connect(self._follow_link)
        self.preview_label = _MessageLabel("PageSubtitle")
        self.preview_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.tree_button = QToolButton()
        self.tree_button.setText("Tree")
        self.tree_button.setCheckable(True)
        self.tree_button.setToolTip("Show the previewed value as a tree")
        self.tree_button.setAccessibleName(f"{param_label(spec.name)} preview as a tree")
        self.tree_button.toggled.connect(self._show_tree)
        self.tree_button.hide()
        self.tree: JsonTreeView | None = None
        self._preview: Preview | None = None

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(3)
        self.build(mnemonics)
        self._layout.addWidget(self.problem)
        preview_row = QHBoxLayout()
        preview_row.setContentsMargins(0, 0, 0, 0)
        preview_row.addWidget(self.preview_label, 1)
        preview_row.addWidget(self.tree_button, 0, Qt.AlignmentFlag.AlignTop)
        self._layout.addLayout(preview_row)

    # -- for subclasses -------------------------------------------------------------------
    def build(self, mnemonics: set[str]) -> None:
        raise NotImplementedError

    def read(self) -> Parsed:
        """The value the editor holds now (what a commit would store)."""
        raise NotImplementedError

    def show_value(self, value: Any) -> None:
        raise NotImplementedError

    def focus_widgets(self) -> list[QWidget]:
        raise NotImplementedError

    def text_editor(self) -> QLineEdit | QPlainTextEdit | None:
        """The editor an expression error position refers to."""
        return None

    def is_dirty(self) -> bool:
        """Whether the user changed the text since it was shown (editingFinished also
        fires when focus merely passes through)."""
        return True

    # -- shared ---------------------------------------------------------------------------
    def _add_label(self, mnemonics: set[str], buddy: QWidget) -> QLabel:
        self.label = QLabel(with_mnemonic(self.title, mnemonics))
        self.label.setBuddy(buddy)
        self.label.setToolTip(self.tooltip)
        self._layout.addWidget(self.label)
        buddy.setToolTip(self.tooltip)
        buddy.setAccessibleName(param_label(self.spec.name))
        buddy.setAccessibleDescription(self.tooltip)
        return self.label

    def set_value(self, value: Any) -> None:
        """Show ``value`` without announcing an edit. A focused editor that already holds
        this value is left alone, so the cursor and any half-typed whitespace survive."""
        if self.has_focus():
            current = self.read()
            if current.error is None and same_value(current.value, value):
                return
        self._loading = True
        try:
            self.show_value(value)
        finally:
            self._loading = False

    def has_focus(self) -> bool:
        return any(w.hasFocus() for w in self.focus_widgets())

    def _commit(self, *_args: Any) -> None:
        if not self._loading:
            self.sig_commit.emit(self.spec.name)

    def _commit_if_dirty(self) -> None:
        if not self._loading and self.is_dirty():
            self.sig_commit.emit(self.spec.name)

    def _typing(self, *_args: Any) -> None:
        if not self._loading:
            self.sig_typing.emit(self.spec.name)

    def set_problems(self, problems: list[str], issues: list[ExpressionIssue]) -> None:
        """Show what is wrong under the editor; an expression error links to its character."""
        lines = [html.escape(p, quote=False) for p in problems]
        editor = self.text_editor()
        self.problem.ensurePolished()  # the theme's error colour, for the links too
        colour = self.problem.palette().color(QPalette.ColorRole.WindowText).name()
        for issue in issues:
            text = html.escape(f"Expression: {issue.message}", quote=False)
            if issue.position is not None and editor is not None:
                text = (
                    f'<a href="{_POSITION_LINK}{issue.position}" style="color: {colour}">{text}</a>'
                )
            lines.append(text)
        self.problem.setText("<br>".join(lines))
        self.problem.setVisible(bool(lines))
        self.problem.setToolTip("Click an expression error to put the cursor there" * bool(issues))

    def problem_text(self) -> str:
        """The problems as plain text (what the user reads), for tests and screen readers."""
        doc = self.problem.text().replace("<br>", "\n")
        return html.unescape(re.sub(r"<[^>]+>", "", doc)) if self.problem.isVisible() else ""

    def _follow_link(self, link: str) -> None:
        editor = self.text_editor()
        if link.startswith(_POSITION_LINK) and editor is not None:
            place_cursor(editor, int(link[len(_POSITION_LINK) :]))

    def set_preview(self, preview: Preview | None, has_run: bool) -> None:
        """``None``: the value is no expression, so there is nothing to preview."""
        self._preview = preview
        if preview is None:
            self.preview_label.hide()
            self.tree_button.hide()
            self._set_tree_visible(False)
            return
        if not has_run:
            self.preview_label.setText(NO_RUN)
            self.preview_label.setToolTip("Run the workflow to see what this expression gives")
            restyle(self.preview_label, "PageSubtitle")
        else:
            self.preview_label.setText(preview.text)
            self.preview_label.setToolTip(preview.tooltip)
            restyle(self.preview_label, "HealthWarning" if preview.failed else "PageSubtitle")
        self.preview_label.show()
        container = has_run and preview.is_container
        self.tree_button.setVisible(container)
        if container and self.tree is not None and self.tree_button.isChecked():
            self.tree.set_value(preview.value)
        if not container:
            self._set_tree_visible(False)

    def preview_text(self) -> str:
        return self.preview_label.text() if self.preview_label.isVisible() else ""

    def _show_tree(self, on: bool) -> None:
        on = on and self._preview is not None and self._preview.is_container
        if on and self.tree is None:
            self.tree = JsonTreeView("No value.")
            self.tree.setMinimumHeight(160)
            self.tree.setMaximumHeight(240)
            self._layout.addWidget(self.tree)
        if on and self.tree is not None and self._preview is not None:
            self.tree.set_value(self._preview.value)
        self._set_tree_visible(on)

    def _set_tree_visible(self, on: bool) -> None:
        if self.tree is not None:
            self.tree.setVisible(on)
        if not on and self.tree_button.isChecked():
            self.tree_button.setChecked(False)


class TextField(ParamField):
    """A string: one line, or a growing box for long text such as a message."""

    def __init__(
        self,
        spec: ParamSpec,
        mnemonics: set[str],
        multiline: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        self._multiline = multiline
        self._shown = ""
        super().__init__(spec, mnemonics, parent)

    def build(self, mnemonics: set[str]) -> None:
        self.editor: QLineEdit | QPlainTextEdit
        if self._multiline:
            self.editor = CommitPlainTextEdit(min_lines=3)
            self.editor.textChanged.connect(self._typing)
        else:
            self.editor = QLineEdit()
            self.editor.textEdited.connect(self._typing)
            self.editor.setClearButtonEnabled(False)
        self.editor.editingFinished.connect(self._commit_if_dirty)
        self.editor.setPlaceholderText(_placeholder(self.spec))
        self._add_label(mnemonics, self.editor)
        self._layout.addWidget(self.editor)

    def read(self) -> Parsed:
        return parse_string(editor_text(self.editor))

    def show_value(self, value: Any) -> None:
        self._shown = format_string(value)
        set_text_keeping_cursor(self.editor, self._shown)

    def is_dirty(self) -> bool:
        return editor_text(self.editor) != self._shown

    def focus_widgets(self) -> list[QWidget]:
        return [self.editor]

    def text_editor(self) -> QLineEdit | QPlainTextEdit:
        return self.editor


class NumberField(TextField):
    """A number or integer in a line edit — not a spin box, which could not hold the
    ``{{ }}`` expression a number parameter may be."""

    def build(self, mnemonics: set[str]) -> None:
        super().build(mnemonics)
        assert isinstance(self.editor, QLineEdit)
        self.editor.setInputMethodHints(
            Qt.InputMethodHint.ImhFormattedNumbersOnly
            if not self.spec.expression
            else Qt.InputMethodHint.ImhNone
        )

    def read(self) -> Parsed:
        return parse_number(
            editor_text(self.editor), self.spec.type == "integer", self.spec.expression
        )

    def show_value(self, value: Any) -> None:
        self._shown = format_number(value)
        set_text_keeping_cursor(self.editor, self._shown)


class JsonField(TextField):
    """An object, a list or any value as JSON text, parsed when the edit is finished."""

    def build(self, mnemonics: set[str]) -> None:
        self.editor = CommitPlainTextEdit(min_lines=2, monospace=True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.textChanged.connect(self._typing)
        self.editor.editingFinished.connect(self._commit_if_dirty)
        self.editor.setPlaceholderText(_placeholder(self.spec))
        self._add_label(mnemonics, self.editor)
        self._layout.addWidget(self.editor)

    def read(self) -> Parsed:
        return parse_json(editor_text(self.editor), self.spec.type)

    def show_value(self, value: Any) -> None:
        self._shown = format_json(value)
        set_text_keeping_cursor(self.editor, self._shown)


class _ExpressionSwitch:
    """The ``{{ }}`` button of a field whose own editor cannot hold an expression (a combo,
    a checkbox): it swaps in a line edit for one, and back."""

    def _build_switch(self: Any) -> None:
        self.expression = QLineEdit()
        self.expression.setPlaceholderText("{{ expression }}")
        self.expression.setAccessibleName(f"{param_label(self.spec.name)} expression")
        self.expression.textEdited.connect(self._typing)
        self.expression.editingFinished.connect(self._commit_if_dirty)
        self.expression.hide()
        self.switch = QToolButton()
        self.switch.setText("{{ }}")
        self.switch.setCheckable(True)
        self.switch.setToolTip("Use an expression instead of a fixed value")
        self.switch.setAccessibleName(f"{param_label(self.spec.name)}: use an expression")
        self.switch.toggled.connect(self._switch_toggled)
        self.switch.setVisible(self.spec.expression)
        self._shown_expression = ""

    def _switch_toggled(self: Any, on: bool) -> None:
        self._set_mode(on)
        if self._loading:
            return
        if on:
            if not self.expression.text():
                self.expression.setText("{{  }}")
                self.expression.setCursorPosition(3)
            self.expression.setFocus(Qt.FocusReason.OtherFocusReason)
            self.sig_typing.emit(self.spec.name)  # an empty expression is not stored yet
        else:
            self.sig_commit.emit(self.spec.name)

    def _show_expression(self: Any, value: Any) -> bool:
        on = is_template(value)
        if on:
            self._shown_expression = str(value)
            set_text_keeping_cursor(self.expression, self._shown_expression)
        self.switch.setChecked(on)
        self._set_mode(on)
        return on

    def is_dirty(self: Any) -> bool:
        return not self.switch.isChecked() or self.expression.text() != self._shown_expression


class ChoiceField(_ExpressionSwitch, ParamField):
    """An enum: a combo of its choices. A stored value that is no choice is kept as an
    extra item, so opening the inspector never changes the document by itself."""

    def build(self, mnemonics: set[str]) -> None:
        self.combo = FormComboBox()
        for choice in self.spec.choices:
            self.combo.addItem(choice, choice)
        self.combo.currentIndexChanged.connect(self._combo_changed)
        self._build_switch()
        self._add_label(mnemonics, self.combo)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.expression, 1)
        row.addWidget(self.switch)
        self._layout.addLayout(row)

    def _combo_changed(self, _index: int) -> None:
        self._commit()

    def _set_mode(self, expression: bool) -> None:
        self.combo.setVisible(not expression)
        self.expression.setVisible(expression)
        if self.label is not None:
            self.label.setBuddy(self.expression if expression else self.combo)

    def read(self) -> Parsed:
        if self.switch.isChecked():
            return parse_string(self.expression.text())
        return Parsed(self.combo.currentData())

    def show_value(self, value: Any) -> None:
        if self._show_expression(value) or value is None:
            value = self.spec.default  # what switching back from an expression offers
        index = self.combo.findData(value)
        if index < 0 and value is not None:
            self.combo.addItem(f"{format_string(value)} (not a choice)", value)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)

    def focus_widgets(self) -> list[QWidget]:
        return [self.combo, self.expression, self.switch]

    def text_editor(self) -> QLineEdit | None:
        return self.expression if self.switch.isChecked() else None


class BoolField(_ExpressionSwitch, ParamField):
    """A boolean: a checkbox whose own text is the label (Alt+letter toggles it)."""

    def build(self, mnemonics: set[str]) -> None:
        self.checkbox = QCheckBox(with_mnemonic(self.title, mnemonics))
        self.checkbox.setToolTip(self.tooltip)
        self.checkbox.setAccessibleDescription(self.tooltip)
        self.checkbox.toggled.connect(self._commit)
        self._build_switch()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.checkbox, 1)
        row.addWidget(self.switch)
        self._layout.addLayout(row)
        self._layout.addWidget(self.expression)

    def _set_mode(self, expression: bool) -> None:
        self.checkbox.setEnabled(not expression)
        self.expression.setVisible(expression)

    def read(self) -> Parsed:
        if self.switch.isChecked():
            return parse_string(self.expression.text())
        return Parsed(self.checkbox.isChecked())

    def show_value(self, value: Any) -> None:
        if self._show_expression(value) or value is None:
            value = self.spec.default  # what switching back from an expression offers
        self.checkbox.setChecked(bool(value))

    def focus_widgets(self) -> list[QWidget]:
        return [self.checkbox, self.switch, self.expression]

    def text_editor(self) -> QLineEdit | None:
        return self.expression if self.switch.isChecked() else None


def _placeholder(spec: ParamSpec) -> str:
    if spec.default is not None and spec.default not in ("", {}, []):
        return f"default: {to_json(spec.default, indent=None)}"
    if spec.type in ("object", "list") and spec.default is not None:
        return "{ }" if spec.type == "object" else "[ ]"
    if spec.required and spec.expression:
        return "a value or {{ expression }}"
    return ""


def make_field(
    spec: ParamSpec, value: Any, mnemonics: set[str], parent: QWidget | None = None
) -> ParamField:
    """The field a parameter's schema type calls for."""
    field: ParamField
    if spec.type == "string":
        multiline = spec.name in LONG_TEXT or (isinstance(value, str) and "\n" in value)
        field = TextField(spec, mnemonics, multiline=multiline, parent=parent)
    elif spec.type in ("number", "integer"):
        field = NumberField(spec, mnemonics, parent=parent)
    elif spec.type == "boolean":
        field = BoolField(spec, mnemonics, parent=parent)
    elif spec.type == "enum":
        field = ChoiceField(spec, mnemonics, parent=parent)
    else:
        field = JsonField(spec, mnemonics, parent=parent)
    field.set_value(value)
    return field
