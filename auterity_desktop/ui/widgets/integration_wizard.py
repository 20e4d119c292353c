"""The create/edit wizard of an integration.

Step 1 (new integrations only) lists the connector types with their title and description.
Step 2 is a form generated from the connector's fields: required marks, tooltips from each
field's help, fields that do not apply (``show_if``) hidden as the values change, and the
controller's own ``validate_config`` run on every change with each problem shown under its
field once the user has been there (Save stays disabled while any problem remains). "Test
connection" tries the values in the form — nothing is saved — and shows the status, the
latency and the precise error.

The dialog knows no platform: the page hands it the connector specs and four callables
(validate, test, save, and the task runner that runs the coroutines), so it is tested alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QPainter, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.integration_fields import (
    BooleanFieldEditor,
    FieldEditor,
    SecretFieldEditor,
    make_editor,
)
from auterity_desktop.ui.widgets.integration_table import latency_text, status_text

Index = QModelIndex | QPersistentModelIndex
Validate = Callable[[str, dict[str, Any], frozenset[str]], list[tuple[str, str]]]
Call = Callable[[dict[str, Any]], Awaitable[Any]]
MAX_NAME = 120
STALE_NOTE = "(The form changed since this test.)"
RESERVED_MNEMONICS = "bst"  # Back, Save, Test connection (Next is not on the form)
_STATUS_ROLES = {"healthy": "HealthOk", "degraded": "HealthWarning"}


def with_mnemonic(text: str, used: set[str]) -> str:
    """``text`` with an ``&`` before its first letter no other label uses yet."""
    for i, char in enumerate(text):
        low = char.lower()
        if low.isalnum() and low not in used:
            used.add(low)
            return text[:i] + "&" + text[i:]
    return text


class ConnectorDelegate(QStyledItemDelegate):
    """A connector type as two lines: the title in bold, the description under it."""

    PAD = 10

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        base = QStyleOptionViewItem(option)
        self.initStyleOption(base, index)
        base.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, base, painter, widget)
        title, description = self._texts(index)
        rect = option.rect.adjusted(self.PAD, self.PAD // 2, -self.PAD, -self.PAD // 2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(
            palette.color(
                QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            )
        )
        title_height = QFontMetrics(bold).height()
        painter.drawText(
            QRect(rect.x(), rect.y(), rect.width(), title_height),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            title,
        )
        painter.setFont(option.font)
        painter.setPen(
            palette.color(
                QPalette.ColorRole.HighlightedText
                if selected
                else QPalette.ColorRole.PlaceholderText
            )
        )
        painter.drawText(
            QRect(
                rect.x(), rect.y() + title_height + 2, rect.width(), rect.height() - title_height
            ),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
            description,
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        _title, description = self._texts(index)
        metrics = QFontMetrics(option.font)
        width = max(option.rect.width(), 360) - 2 * self.PAD
        text = metrics.boundingRect(
            QRect(0, 0, width, 10_000), int(Qt.TextFlag.TextWordWrap), description
        )
        return QSize(width, metrics.height() + text.height() + self.PAD + 6)

    @staticmethod
    def _texts(index: Index) -> tuple[str, str]:
        return (
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
            str(index.data(Qt.ItemDataRole.UserRole + 1) or ""),
        )


class ConnectorListWidget(QListWidget):
    sig_chosen = Signal(str)  # double-click or Enter on a connector type

    def __init__(self, connectors: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConnectorList")
        self.setAccessibleName("Connector type")
        self.setItemDelegate(ConnectorDelegate(self))
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSpacing(2)
        for spec in connectors:
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.kind)
            item.setData(Qt.ItemDataRole.UserRole + 1, spec.description)
            item.setToolTip(spec.description)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, spec.description)
            self.addItem(item)
        self.itemActivated.connect(lambda item: self.sig_chosen.emit(self.kind_of(item)))
        if connectors:
            self.setCurrentRow(0)

    @staticmethod
    def kind_of(item: QListWidgetItem | None) -> str:
        return "" if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def current_kind(self) -> str:
        return self.kind_of(self.currentItem())

    def select_kind(self, kind: str) -> None:
        for row in range(self.count()):
            if self.kind_of(self.item(row)) == kind:
                self.setCurrentRow(row)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.doItemsLayout()  # descriptions re-wrap to the new width


def _error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("HealthError")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class _FieldRow(QWidget):
    """An editor with its inline problem under it."""

    def __init__(self, editor: FieldEditor) -> None:
        super().__init__()
        self.editor = editor
        self.error = _error_label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(editor)
        layout.addWidget(self.error)

    def show_problem(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))


class IntegrationWizardDialog(QDialog):
    """New integration (choose a type, then fill in its form) or edit one (the form only)."""

    sig_saved = Signal(object)  # what ``save`` returned (the stored IntegrationInfo)
    sig_tested = Signal(object)  # the TestResult of a "Test connection" (or the error)

    CHOOSE, FORM = 0, 1

    def __init__(
        self,
        connectors: Sequence[Any],
        *,
        validate: Validate,
        test: Call | None,
        save: Call,
        tasks: Any,
        existing: Any | None = None,
        taken_names: Iterable[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("IntegrationWizard")
        self.connectors = {c.kind: c for c in connectors}
        self._validate = validate
        self._test = test
        self._save = save
        self.tasks = tasks
        self.existing = existing
        self.taken = {n.strip().lower() for n in taken_names}
        if existing is not None:
            self.taken.discard(existing.name.strip().lower())
        self.kind = ""
        self.editors: dict[str, FieldEditor] = {}
        self.name = QLineEdit()  # replaced by the form's own for each connector type
        self.rows: dict[str, _FieldRow] = {}
        self.problems: dict[str, str] = {}  # field ("" for the whole, "name") → message
        self.touched: set[str] = set()
        self.show_all = False
        self.test_result: Any = None  # the last TestResult (or ServiceError) of the form
        self._stale = False  # the form changed after that test
        self.saved: Any = None
        self._test_task: asyncio.Task[Any] | None = None
        self._save_task: asyncio.Task[Any] | None = None
        self.setWindowTitle(
            "New integration" if existing is None else f"Edit integration — {existing.name}"
        )

        # step 1: the connector type
        self.chooser = ConnectorListWidget(connectors)
        self.chooser.sig_chosen.connect(lambda _kind: self.next_step())
        choose_label = QLabel("&Which system do you want to connect?")
        choose_label.setBuddy(self.chooser)
        choose_hint = QLabel(
            "Pick a type and press Next (or Enter). You can test the connection before "
            "anything is saved."
        )
        choose_hint.setObjectName("PageSubtitle")
        choose_hint.setWordWrap(True)
        choose_page = QWidget()
        choose_layout = QVBoxLayout(choose_page)
        choose_layout.setContentsMargins(0, 0, 0, 0)
        choose_layout.addWidget(choose_label)
        choose_layout.addWidget(self.chooser, 1)
        choose_layout.addWidget(choose_hint)

        # step 2: the form (rebuilt for each type)
        self.form_title = QLabel("")
        self.form_title.setObjectName("EmptyStateTitle")
        self.form_description = QLabel("")
        self.form_description.setObjectName("PageSubtitle")
        self.form_description.setWordWrap(True)
        self.form_scroll = QScrollArea()
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.form_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes field to field
        self.legend = QLabel("* required")
        self.legend.setObjectName("PageSubtitle")

        self.test_button = QPushButton("&Test connection")
        self.test_button.setToolTip(
            "Connect with the values in this form and report status, latency and any error; "
            "nothing is saved"
        )
        self.test_button.clicked.connect(self._test_clicked)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # an indeterminate spinner while the test runs
        self.busy.setMaximumWidth(90)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.test_status = QLabel("")
        self.test_status.setObjectName("TestStatus")
        self.test_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_message = QLabel("")
        self.test_message.setObjectName("TestMessage")
        self.test_message.setWordWrap(True)
        self.test_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_message.hide()
        test_line = QHBoxLayout()
        test_line.addWidget(self.test_button)
        test_line.addWidget(self.busy)
        test_line.addWidget(self.test_status, 1)
        test_box = QFrame()
        test_box.setObjectName("TestBox")
        test_layout = QVBoxLayout(test_box)
        test_layout.setContentsMargins(0, 6, 0, 0)
        test_layout.addLayout(test_line)
        test_layout.addWidget(self.test_message)
        if test is None:
            test_box.hide()  # the signed-in role may not test connections

        form_page = QWidget()
        form_layout = QVBoxLayout(form_page)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(self.form_title)
        form_layout.addWidget(self.form_description)
        form_layout.addWidget(self.form_scroll, 1)
        form_layout.addWidget(self.legend)
        form_layout.addWidget(test_box)

        self.steps = QStackedWidget()
        self.steps.addWidget(choose_page)
        self.steps.addWidget(form_page)

        # footer: what still blocks saving, a save error, the buttons
        self.summary = QLabel("")
        self.summary.setObjectName("HealthWarning")
        self.summary.setWordWrap(True)
        self.save_error = _error_label()
        font = self.save_error.font()
        font.setBold(True)
        self.save_error.setFont(font)
        self.back_button = QPushButton("< &Back")
        self.back_button.clicked.connect(self.back_step)
        self.next_button = QPushButton("&Next >")
        self.next_button.clicked.connect(self.next_step)
        self.save_button = QPushButton("&Save" if existing is not None else "&Save integration")
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        for button in (self.next_button, self.save_button, self.cancel_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.save_error)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.save)

        if existing is not None:
            self._build_form(existing.kind)
            self._fill(existing)
            self._show_step(self.FORM)
        else:
            self._show_step(self.CHOOSE)
        self.resize(660, 480 if existing is None else self.sizeHint().height())

    # -- steps --------------------------------------------------------------------------
    def _show_step(self, step: int) -> None:
        self.steps.setCurrentIndex(step)
        on_form = step == self.FORM
        self.back_button.setVisible(on_form and self.existing is None)
        self.next_button.setVisible(not on_form)
        self.save_button.setVisible(on_form)
        self.summary.setVisible(on_form and bool(self.summary.text()))
        self.next_button.setDefault(not on_form)
        self.save_button.setDefault(on_form)
        self.next_button.setEnabled(bool(self.chooser.current_kind()))
        if on_form:
            self.name.setFocus()
            self._fit_height(shrink=True)
        else:
            self.chooser.setFocus()
            self.resize(self.width(), 480)

    def next_step(self) -> None:
        kind = self.chooser.current_kind()
        if not kind:
            return
        if kind != self.kind:
            self._build_form(kind)
        self._show_step(self.FORM)

    def back_step(self) -> None:
        if self.existing is None and not self.saving:
            self._cancel_test()
            self._show_step(self.CHOOSE)

    # -- the form -------------------------------------------------------------------------
    def _build_form(self, kind: str) -> None:
        self._cancel_test()
        spec = self.connectors[kind]
        old_name = self.name.text()  # kept when the user goes back and picks another type
        self.kind = kind
        self.chooser.select_kind(kind)
        self.form_title.setText(spec.title)
        self.form_description.setText(spec.description)
        self.editors.clear()
        self.rows.clear()
        self.touched.clear()
        self.show_all = False
        self._clear_result()
        self.save_error.hide()

        body = QWidget()
        self.form = QFormLayout(body)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        used = set(RESERVED_MNEMONICS)
        self.name = QLineEdit(old_name)
        self.name.setMaxLength(MAX_NAME)
        self.name.setPlaceholderText(f"e.g. {_example_name(kind)}")
        self.name.setAccessibleName("Name")
        self.name.setToolTip("How workflows and this list refer to the connection; unique")
        self.name.textChanged.connect(lambda _t: self._changed("name"))
        name_editor = _NameRow(self.name)
        self.rows["name"] = _FieldRow(name_editor)
        name_label = QLabel(with_mnemonic("Name", used) + " *")
        name_label.setBuddy(self.name)
        self.form.addRow(name_label, self.rows["name"])
        for field in spec.fields:
            editor = make_editor(field)
            self.editors[field.name] = editor
            row = _FieldRow(editor)
            self.rows[field.name] = row
            if isinstance(editor, BooleanFieldEditor):
                editor.check.setText(with_mnemonic(field.label, used))
                self.form.addRow("", row)
            else:
                text = with_mnemonic(field.label, used) + (" *" if field.required else "")
                label = QLabel(text)
                label.setBuddy(editor.focus_widget)
                if field.help:
                    label.setToolTip(field.help)
                self.form.addRow(label, row)
            editor.sig_changed.connect(lambda name=field.name: self._changed(name))
        self.form_scroll.setWidget(body)
        self._apply_visibility()
        self._revalidate()

    def _fill(self, info: Any) -> None:
        """The form of a saved integration: its values, and which secrets are stored."""
        self.name.setText(info.name)
        for name, editor in self.editors.items():
            if isinstance(editor, SecretFieldEditor):
                editor.set_stored(bool(info.secrets.get(name)))
            elif name in info.config:
                editor.set_value(info.config[name])
        self.touched.clear()
        self._apply_visibility()
        self._revalidate()

    def values(self) -> dict[str, Any]:
        """Every editor's value, hidden fields included (for ``show_if``)."""
        return {name: editor.value() for name, editor in self.editors.items()}

    def relevant_fields(self, values: dict[str, Any] | None = None) -> list[Any]:
        spec = self.connectors[self.kind]
        values = self.values() if values is None else values
        shown = []
        for field in spec.fields:
            if field.show_if is not None:
                other, wanted = field.show_if
                if not _matches(values.get(other), wanted):
                    continue
            shown.append(field)
        return shown

    def config(self) -> dict[str, Any]:
        """The form as the controller takes it: name, kind and the fields that apply.

        An empty secret is left out: when editing that keeps the stored one, and a new
        integration's validation reports it as missing when it is required."""
        values = self.values()
        result: dict[str, Any] = {"name": self.name.text().strip(), "kind": self.kind}
        for field in self.relevant_fields(values):
            value = values[field.name]
            if field.type == "secret" and value == "":
                continue
            result[field.name] = value
        return result

    def stored_secrets(self) -> frozenset[str]:
        if self.existing is None:
            return frozenset()
        return frozenset(k for k, stored in self.existing.secrets.items() if stored)

    def _changed(self, field: str) -> None:
        self.touched.add(field)
        if field != "name":
            self._apply_visibility()
        if self.test_result is not None and not self._stale:
            self._stale = True
            self.test_message.setText(
                "\n".join(filter(None, (self.test_message.text(), STALE_NOTE)))
            )
            self.test_message.show()
        self.save_error.hide()
        self._revalidate()

    def _apply_visibility(self) -> None:
        shown = {f.name for f in self.relevant_fields()}
        for name, row in self.rows.items():
            if name != "name":
                self.form.setRowVisible(row, name in shown)
        self._fit_height()

    def _fit_height(self, *, shrink: bool = False) -> None:
        """Show the whole form when it fits (up to ~560 px of fields), scroll beyond; the
        dialog grows when fields appear and shrinks only when the form is (re)built."""
        body = self.form_scroll.widget()
        if body is None:
            return
        wanted = min(body.sizeHint().height() + 2, 560)
        self.form_scroll.setMinimumHeight(wanted)
        height = self.sizeHint().height()
        if shrink or height > self.height():
            self.resize(self.width(), height)

    def _revalidate(self) -> None:
        config = self.config()
        problems: dict[str, str] = {}
        try:
            found = self._validate(self.kind, config, self.stored_secrets())
        except ServiceError as exc:
            found = [("", exc.message)]
        for field, message in found:
            problems.setdefault(field if field in self.rows else "", message)
        if "name" not in problems:
            name_problem = _name_problem(config["name"], self.taken)
            if name_problem:
                problems["name"] = name_problem
        for name in config:
            editor = self.editors.get(name)
            local = editor.local_problem() if editor is not None else None
            if local:
                problems.setdefault(name, local)
        self.problems = problems
        for name, row in self.rows.items():
            shown = self.show_all or name in self.touched
            row.show_problem(problems.get(name) if shown else None)
        self._update_footer()

    def _update_footer(self) -> None:
        count = len(self.problems)
        if count:
            first = self.problems.get("") or next(iter(self.problems.values()))
            more = f" (and {count - 1} more)" if count > 1 else ""
            self.summary.setText(f"To save: {_sentence(first)}{more}")
        else:
            self.summary.setText("")
        self.summary.setVisible(self.steps.currentIndex() == self.FORM and bool(count))
        blocked = bool(count) or self.saving
        self.save_button.setEnabled(not blocked)
        self.save_button.setToolTip(
            "Fix the problems shown in the form first" if count else "Save (Ctrl+Enter)"
        )
        if not self.testing:
            self.test_button.setEnabled(not count and not self.saving)

    def reveal_problems(self) -> None:
        """Show every problem, not only those of fields visited, and go to the first."""
        self.show_all = True
        self._revalidate()
        for name in self.rows:
            if name in self.problems and self.rows[name].isVisible():
                focus = self.name if name == "name" else self.editors[name].focus_widget
                focus.setFocus()
                self.form_scroll.ensureWidgetVisible(self.rows[name])
                break

    # -- test connection ----------------------------------------------------------------
    @property
    def testing(self) -> bool:
        return self._test_task is not None

    @property
    def saving(self) -> bool:
        return self._save_task is not None

    def _test_clicked(self) -> None:
        if self.testing:
            self._cancel_test()
            self.test_status.setText("Test cancelled.")
            restyle(self.test_status, "PageSubtitle")
            return
        self.test_connection()

    def test_connection(self) -> asyncio.Task[Any] | None:
        if self._test is None or self.testing:
            return None
        if self.problems:
            self.reveal_problems()
            return None
        self._clear_result()
        self.busy.show()
        self.test_status.setText("Testing…")
        restyle(self.test_status, "PageSubtitle")
        self.test_button.setText("Cancel &test")
        self._test_task = self.tasks.spawn(
            self._test(self.config()), on_done=self._tested, on_error=self._test_failed
        )
        return self._test_task

    def _test_ended(self) -> bool:
        self._test_task = None
        if not shiboken6.isValid(self):
            return False
        self.busy.hide()
        self.test_button.setText("&Test connection")
        self._update_footer()
        return True

    def _tested(self, result: Any) -> None:
        if not self._test_ended():
            return
        self.test_result = result
        text = status_text(result.status)
        if result.latency is not None:
            text += f"  ·  {latency_text(result.latency)}"
        self.test_status.setText(text)
        restyle(self.test_status, _STATUS_ROLES.get(result.status, "HealthError"))
        self.test_message.setText(_describe(result))
        self.test_message.setVisible(bool(self.test_message.text()))
        restyle(self.test_message, "TestMessage" if result.ok else "HealthError")
        self.sig_tested.emit(result)

    def _test_failed(self, exc: BaseException) -> None:
        if not self._test_ended():
            return
        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)
            self.test_status.setText("")
            return
        self.test_result = exc
        self.test_status.setText("✖ The test could not run")
        restyle(self.test_status, "HealthError")
        self.test_message.setText(f"{exc.message}\nError code: {exc.code}")
        self.test_message.show()
        restyle(self.test_message, "HealthError")
        self.sig_tested.emit(exc)

    def _cancel_test(self) -> None:
        task, self._test_task = self._test_task, None
        if task is not None:
            task.cancel()
            self.busy.hide()
            self.test_button.setText("&Test connection")
            self._update_footer()

    def _clear_result(self) -> None:
        self.test_result = None
        self._stale = False
        self.test_status.setText("")
        self.test_message.setText("")
        self.test_message.hide()

    # -- save -----------------------------------------------------------------------------
    def save(self) -> asyncio.Task[Any] | None:
        if self.steps.currentIndex() != self.FORM or self.saving:
            return None
        if self.problems:
            self.reveal_problems()
            return None
        self.save_error.hide()
        self.save_button.setText("Saving…")
        self.cancel_button.setEnabled(False)
        self.back_button.setEnabled(False)
        self._save_task = self.tasks.spawn(
            self._save(self.config()), on_done=self._saved, on_error=self._save_failed
        )
        self._update_footer()
        return self._save_task

    def _save_ended(self) -> bool:
        self._save_task = None
        if not shiboken6.isValid(self):
            return False
        self.save_button.setText("&Save" if self.existing is not None else "&Save integration")
        self.cancel_button.setEnabled(True)
        self.back_button.setEnabled(True)
        self._update_footer()
        return True

    def _saved(self, info: Any) -> None:
        if not self._save_ended():
            return
        self.saved = info
        self.sig_saved.emit(info)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        if not self._save_ended():
            return
        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)
            return
        details = exc.details if isinstance(exc.details, dict) else {}
        if exc.code == ErrorCode.SECRET_STORE_UNAVAILABLE:
            text = f"Nothing was saved: {exc.message}"
        else:
            text = exc.message
        if details.get("field") in self.rows:
            self.rows[details["field"]].show_problem(exc.message)
        for item in details.get("problems") or ():
            if isinstance(item, dict) and item.get("field") in self.rows:
                self.rows[item["field"]].show_problem(str(item.get("message", "")))
        self.save_error.setText(text)
        self.save_error.show()

    # -- closing --------------------------------------------------------------------------
    def reject(self) -> None:
        if self.saving:
            return  # the keyring and the database are being written: let that finish
        super().reject()

    def done(self, result: int) -> None:
        self._cancel_test()
        super().done(result)


class _NameRow(FieldEditor):
    """The name line edit dressed as a field editor, so it sits in a ``_FieldRow``."""

    def __init__(self, edit: QLineEdit) -> None:
        super().__init__(_NameSpec())
        self.edit = edit
        self._layout.addWidget(edit)
        self.focus_widget = edit
        self.setFocusProxy(edit)

    def value(self) -> str:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value or ""))


class _NameSpec:
    name, label, type, help, default, required = "name", "Name", "string", "", None, True


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, bool):
        return str(value).lower() == str(wanted).lower()
    return bool(value == wanted)


def _name_problem(name: str, taken: set[str]) -> str | None:
    if name and name.lower() in taken:
        return f"An integration called “{name}” exists already"
    return None


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


_DETAIL_LABELS = {"code": "Error code", "status": "HTTP status", "field": "Field"}


def _describe(result: Any) -> str:
    """The test's message and details as lines: the precise error, never a paraphrase."""
    lines = [result.message] if result.message else []
    for key, value in (result.details or {}).items():
        if value in (None, "", [], {}):
            continue
        label = _DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())
        lines.append(f"{label}: {value}")
    return "\n".join(lines)


def _example_name(kind: str) -> str:
    return {
        "rest": "Parts catalogue API",
        "webhook": "Website leads",
        "sql": "Reporting database",
        "email": "Service desk mail",
        "dms": "Main DMS",
    }.get(kind, "My connection")
