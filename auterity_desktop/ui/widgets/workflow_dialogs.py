"""Dialogs of the Workflows page: a new workflow, and the parameters of a run.

Both check their input before closing and say what is wrong next to it, so a typo in the
run parameters' JSON never reaches the engine and never costs the user what they typed.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

MAX_NAME = 200


def minimal_document(name: str, description: str = "") -> dict[str, Any]:
    """A new workflow: one manual trigger, so it is valid and can run straight away."""
    return {
        "name": name,
        "description": description,
        "nodes": [
            {
                "id": "start",
                "type": "manual_trigger",
                "name": "Start",
                "params": {},
                "position": {"x": 0, "y": 0},
            }
        ],
        "edges": [],
    }


def _error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("HealthError")
    label.setWordWrap(True)
    label.hide()
    return label


class NewWorkflowDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New workflow")
        self.name = QLineEdit()
        self.name.setMaxLength(MAX_NAME)
        self.name.setPlaceholderText("e.g. Lead follow-up")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What it does and for whom (optional)")
        self.description.setMaximumHeight(90)
        self.description.setTabChangesFocus(True)  # Tab goes on to the buttons
        self.error = _error_label()
        form = QFormLayout()
        form.addRow("&Name:", self.name)
        form.addRow("&Description:", self.description)
        note = QLabel("It starts with a manual trigger; add nodes in the editor or import a file.")
        note.setObjectName("PageSubtitle")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(440, 0)

    def document(self) -> dict[str, Any]:
        return minimal_document(self.name.text().strip(), self.description.toPlainText().strip())

    def accept(self) -> None:
        if not self.name.text().strip():
            self.error.setText("A workflow needs a name.")
            self.error.show()
            self.name.setFocus()
            return
        super().accept()


def parse_value(text: str) -> Any:
    """A field value: JSON when it parses (``42``, ``true``, ``[1, 2]``), else the text."""
    stripped = text.strip()
    if not stripped:
        return ""
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return text


class RunParametersDialog(QDialog):
    """Parameters as name/value rows or as one JSON object, plus the version to run.

    The tab in front when the user presses Run is the one that counts; switching tabs
    carries the parameters across (and refuses to leave the JSON tab while it is invalid).
    """

    FIELDS, JSON = 0, 1

    def __init__(
        self,
        workflow_name: str,
        versions: list[int],
        params: dict[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Run {workflow_name}")
        self.version = QComboBox()
        latest = max(versions) if versions else None
        self.version.addItem(f"Latest (v{latest})" if latest else "Latest", None)
        for version in sorted(versions, reverse=True):
            self.version.addItem(f"v{version}", version)

        self.table = QTableWidget(0, 2)
        self.table.setObjectName("ParameterTable")
        self.table.setHorizontalHeaderLabels(["Name", "Value"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        add = QPushButton("&Add parameter")
        add.clicked.connect(lambda: self.add_row())
        remove = QPushButton("&Remove")
        remove.clicked.connect(self._remove_rows)
        hint = QLabel("Values that read as JSON (42, true, [1, 2], {…}) are passed as such.")
        hint.setObjectName("PageSubtitle")
        hint.setWordWrap(True)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(add)
        row_buttons.addWidget(remove)
        row_buttons.addStretch(1)
        fields = QWidget()
        fields_layout = QVBoxLayout(fields)
        fields_layout.addWidget(self.table)
        fields_layout.addLayout(row_buttons)
        fields_layout.addWidget(hint)

        self.json_edit = QPlainTextEdit()
        self.json_edit.setObjectName("ParameterJson")
        self.json_edit.setPlaceholderText('{"customer_id": 42, "notify": true}')
        self.json_edit.setTabChangesFocus(True)  # Tab goes on to the buttons
        self.tabs = QTabWidget()
        self.tabs.addTab(fields, "&Fields")
        self.tabs.addTab(self.json_edit, "&JSON")
        self.tabs.currentChanged.connect(self._tab_changed)
        self._tab = self.FIELDS

        self.follow = QCheckBox("&Show the run on the Runs page")
        self.follow.setChecked(True)
        self.error = _error_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Version:", self.version)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.follow)
        layout.addWidget(buttons)
        self.resize(520, 400)
        self.set_parameters(params or {})

    # -- fields -------------------------------------------------------------------------
    def add_row(self, name: str = "", value: str = "") -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(name))
        self.table.setItem(row, 1, QTableWidgetItem(value))
        return row

    def _remove_rows(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def set_parameters(self, params: dict[str, Any]) -> None:
        self.table.setRowCount(0)
        for name, value in params.items():
            self.add_row(name, value if isinstance(value, str) else json.dumps(value))
        self.json_edit.setPlainText(json.dumps(params, indent=2) if params else "")

    def _from_fields(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, 0), self.table.item(row, 1)
            name = name_item.text().strip() if name_item else ""
            value = value_item.text() if value_item else ""
            if not name:
                if value.strip():
                    raise ValueError(f"Row {row + 1} has a value but no name.")
                continue
            if name in params:
                raise ValueError(f"The parameter {name!r} is given twice.")
            params[name] = parse_value(value)
        return params

    def _from_json(self) -> dict[str, Any]:
        text = self.json_edit.toPlainText().strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        if not isinstance(value, dict):
            raise ValueError('The parameters must be a JSON object, like {"name": "value"}.')
        return value

    def parameters(self) -> dict[str, Any]:
        """The parameters from the tab in front; ``ValueError`` says what is wrong."""
        return self._from_json() if self.tabs.currentIndex() == self.JSON else self._from_fields()

    def selected_version(self) -> int | None:
        version: int | None = self.version.currentData()
        return version

    # -- checks -------------------------------------------------------------------------
    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def _tab_changed(self, index: int) -> None:
        previous, self._tab = self._tab, index
        try:
            params = self._from_json() if previous == self.JSON else self._from_fields()
        except ValueError as exc:
            self._show_error(str(exc))
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(previous)
            self.tabs.blockSignals(False)
            self._tab = previous
            return
        self._show_error("")
        self.set_parameters(params)

    def accept(self) -> None:
        try:
            self.parameters()
        except ValueError as exc:
            self._show_error(str(exc))
            return
        super().accept()
