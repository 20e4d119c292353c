"""The inspector's *Settings* section: what every node has besides its parameters —
disabled, what a failure does, a time limit, retries and notes.

Unlike parameters (which may be saved with problems and fixed later), these fields are
checked by the document model itself, so a value it would refuse (a negative time limit,
notes over 10 000 characters) is shown inline and never emitted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.workflows.document import WorkflowNode
from auterity_desktop.ui.editor.inspector_fields import (
    CommitPlainTextEdit,
    FormComboBox,
    FormDoubleSpinBox,
    set_text_keeping_cursor,
)
from auterity_desktop.ui.editor.inspector_values import (
    format_number,
    parse_number,
    same_value,
    with_mnemonic,
)

ON_ERROR = (
    ("stop", "Stop the run", "The run fails with this node's error."),
    (
        "continue",
        "Continue with the error as data",
        "The node succeeds and passes {error: message} on through its main output.",
    ),
    (
        "route",
        "Send to the error output",
        "The node succeeds and the error goes out of its 'error' port, to an error handler.",
    ),
)
MAX_TIMEOUT = 86_400
MAX_NOTES = 10_000


class SettingsSection(QGroupBox):
    """Disabled, on-error, time limit, retry and notes of one node."""

    sig_edited = Signal(dict)  # {field: new value}; "retry" carries the whole retry dict

    def __init__(self, mnemonics: set[str], parent: QWidget | None = None) -> None:
        super().__init__("Settings", parent)
        self.setObjectName("InspectorSettings")
        self._loading = False
        self._values: dict[str, Any] = {}

        self.disabled = QCheckBox(with_mnemonic("Disabled: skip this node in runs", mnemonics))
        self.disabled.setToolTip("A disabled node passes nothing on; the nodes after it skip too")
        self.disabled.toggled.connect(
            lambda on: self._emit("disabled", bool(on)) if not self._loading else None
        )

        self.on_error = FormComboBox()
        for value, text, tip in ON_ERROR:
            self.on_error.addItem(text, value)
            self.on_error.setItemData(self.on_error.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.on_error.currentIndexChanged.connect(self._on_error_changed)
        on_error_label = QLabel(with_mnemonic("On error", mnemonics))
        on_error_label.setBuddy(self.on_error)
        self.on_error.setAccessibleName("On error")

        self.timeout = QLineEdit()
        self.timeout.setPlaceholderText("no limit")
        self.timeout.setToolTip(
            "Fail the node when it runs longer than this many seconds (empty: no limit)"
        )
        self.timeout.setAccessibleName("Time limit in seconds")
        self.timeout.editingFinished.connect(self._timeout_finished)
        self.timeout.textEdited.connect(lambda _t: self._check_timeout())
        timeout_label = QLabel(with_mnemonic("Time limit (seconds)", mnemonics))
        timeout_label.setBuddy(self.timeout)
        self.timeout_problem = _problem_label()

        # A double spin box with no decimals: the theme styles QSpinBox, whose arrows
        # then draw wrongly under Fusion; this way the four boxes look alike.
        self.attempts = FormDoubleSpinBox()
        self.attempts.setDecimals(0)
        self.attempts.setRange(1, 20)
        self.attempts.setToolTip("How many times the node is tried in all (1: no retry)")
        self.delay = FormDoubleSpinBox()
        self.delay.setRange(0, 3600)
        self.delay.setSuffix(" s")
        self.delay.setToolTip("Wait before the first retry")
        self.backoff = FormDoubleSpinBox()
        self.backoff.setRange(1, 10)
        self.backoff.setSingleStep(0.5)
        self.backoff.setSuffix(" ×")
        self.backoff.setToolTip("Each further wait is this many times longer")
        self.max_delay = FormDoubleSpinBox()
        self.max_delay.setRange(0, 86_400)
        self.max_delay.setSuffix(" s")
        self.max_delay.setToolTip("No wait between retries is longer than this")
        retry = QGridLayout()
        retry.setContentsMargins(0, 0, 0, 0)
        retry.setHorizontalSpacing(8)
        self.retry_boxes = {
            "attempts": self.attempts,
            "delay": self.delay,
            "backoff": self.backoff,
            "max_delay": self.max_delay,
        }
        titles = {
            "attempts": "Attempts",
            "delay": "Retry delay",
            "backoff": "Backoff",
            "max_delay": "Max delay",
        }
        for i, (key, box) in enumerate(self.retry_boxes.items()):
            label = QLabel(with_mnemonic(titles[key], mnemonics))
            label.setBuddy(box)
            box.setAccessibleName(titles[key])
            box.valueChanged.connect(self._retry_changed)
            retry.addWidget(label, (i // 2) * 2, i % 2)
            retry.addWidget(box, (i // 2) * 2 + 1, i % 2)
        retry.setColumnStretch(0, 1)
        retry.setColumnStretch(1, 1)

        self.notes = CommitPlainTextEdit(min_lines=2, max_lines=10)
        self.notes.setPlaceholderText("What this node is for, for the next person")
        self.notes.setAccessibleName("Notes")
        self.notes.editingFinished.connect(self._notes_finished)
        self.notes.textChanged.connect(self._check_notes)
        notes_label = QLabel(with_mnemonic("Notes", mnemonics))
        notes_label.setBuddy(self.notes)
        self.notes_problem = _problem_label()

        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addWidget(self.disabled)
        layout.addSpacing(4)
        layout.addWidget(on_error_label)
        layout.addWidget(self.on_error)
        layout.addSpacing(4)
        layout.addWidget(timeout_label)
        timeout_row = QHBoxLayout()
        timeout_row.addWidget(self.timeout, 1)
        layout.addLayout(timeout_row)
        layout.addWidget(self.timeout_problem)
        layout.addSpacing(4)
        layout.addLayout(retry)
        layout.addSpacing(4)
        layout.addWidget(notes_label)
        layout.addWidget(self.notes)
        layout.addWidget(self.notes_problem)

    def focus_widgets(self) -> list[QWidget]:
        return [
            self.disabled,
            self.on_error,
            self.timeout,
            self.attempts,
            self.delay,
            self.backoff,
            self.max_delay,
            self.notes,
        ]

    # -- showing --------------------------------------------------------------------------
    def set_node(self, node: WorkflowNode) -> None:
        """Show ``node``'s settings without emitting; fields that did not change (and the
        one being typed in, if it still holds the same value) are left alone."""
        values = {
            "disabled": node.disabled,
            "on_error": node.on_error,
            "timeout": node.timeout,
            "retry": node.retry.model_dump(),
            "notes": node.notes,
        }
        first = not self._values
        self._loading = True
        try:
            for key, value in values.items():
                if first or not same_value(self._values.get(key), value):
                    self._show(key, value)
        finally:
            self._loading = False
        self._values = values

    def _show(self, key: str, value: Any) -> None:
        if key == "disabled":
            self.disabled.setChecked(bool(value))
        elif key == "on_error":
            self.on_error.setCurrentIndex(max(0, self.on_error.findData(value)))
        elif key == "timeout":
            set_text_keeping_cursor(self.timeout, format_number(value))
            self._check_timeout()
        elif key == "retry":
            for name, box in self.retry_boxes.items():
                box.setValue(value[name])
        elif key == "notes":
            set_text_keeping_cursor(self.notes, str(value))
            self._check_notes()

    # -- editing --------------------------------------------------------------------------
    def _emit(self, key: str, value: Any) -> None:
        if same_value(self._values.get(key), value):
            return
        self._values[key] = value
        self.sig_edited.emit({key: value})

    def _on_error_changed(self, _index: int) -> None:
        if not self._loading:
            self._emit("on_error", self.on_error.currentData())

    def _retry_changed(self, *_args: Any) -> None:
        if self._loading:
            return
        retry = {
            name: (int(box.value()) if name == "attempts" else float(box.value()))
            for name, box in self.retry_boxes.items()
        }
        self._emit("retry", retry)

    def _parse_timeout(self) -> tuple[float | None, str | None]:
        parsed = parse_number(self.timeout.text(), integer=False, expression=False)
        if parsed.error is not None:
            return None, "Enter a number of seconds, or leave it empty for no limit"
        value = parsed.value
        if value is not None and not 0 < value <= MAX_TIMEOUT:
            return None, f"Must be more than 0 and at most {MAX_TIMEOUT:,} seconds (a day)"
        return value, None

    def _check_timeout(self) -> str | None:
        _value, problem = self._parse_timeout()
        self.timeout_problem.setText(problem or "")
        self.timeout_problem.setVisible(problem is not None)
        return problem

    def _timeout_finished(self) -> None:
        if self._loading:
            return
        value, problem = self._parse_timeout()
        if problem is None:
            self._emit("timeout", value)

    def _check_notes(self) -> str | None:
        size = len(self.notes.toPlainText())
        problem = (
            f"Notes can be at most {MAX_NOTES:,} characters ({size:,} now)"
            if size > MAX_NOTES
            else None
        )
        self.notes_problem.setText(problem or "")
        self.notes_problem.setVisible(problem is not None)
        return problem

    def _notes_finished(self) -> None:
        if self._loading:
            return
        if self._check_notes() is None:
            self._emit("notes", self.notes.toPlainText())


def _problem_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("HealthError")
    label.setWordWrap(True)
    label.hide()
    return label
