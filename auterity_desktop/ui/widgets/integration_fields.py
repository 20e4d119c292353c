"""One editor per connector field type, generated from the connector's ``FieldSpec``.

string/url → line edit, integer/number → spin box, boolean → check box, enum → combo box,
text → multi-line edit, secret → password field with a show/hide toggle, mapping → a
two-column table with add/remove. Every editor has ``value()``, ``set_value()``, a
``sig_changed`` signal and a ``focus_widget`` the form label points at (its mnemonic).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

STORED_PLACEHOLDER = "•••• stored in the keyring — leave empty to keep"
NOT_SET_PLACEHOLDER = "Not set — type one to store it in the keyring"
NOT_SET = "not set"
INT_LIMIT = 2_147_483_647

# how enum values read in a combo box (the stored value stays the raw one)
CHOICE_LABELS = {
    "none": "None",
    "api_key": "API key",
    "bearer": "Bearer token",
    "basic": "Basic (user name and password)",
    "oauth2": "OAuth2 client credentials",
    "starttls": "STARTTLS",
    "tls": "TLS",
    "sha256": "HMAC-SHA256",
    "sha512": "HMAC-SHA512",
}


class FieldEditor(QWidget):
    sig_changed = Signal()

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.focus_widget: QWidget = self
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def _adopt(self, widget: QWidget) -> None:
        """Make ``widget`` the editor's input: label buddy, tooltip, accessible name."""
        self.focus_widget = widget
        self.setFocusProxy(widget)
        widget.setAccessibleName(self.spec.label)
        if self.spec.help:
            widget.setToolTip(self.spec.help)
            widget.setAccessibleDescription(self.spec.help)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def local_problem(self) -> str | None:
        """A problem the form can see before the controller does (e.g. duplicate keys)."""
        return None

    def set_default(self) -> None:
        if self.spec.default is not None:
            self.set_value(self.spec.default)


class LineFieldEditor(FieldEditor):
    """string and url: surrounding blanks are dropped (a pasted URL often carries some)."""

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(True)
        if spec.type == "url":
            self.edit.setPlaceholderText("https://…")
            self.edit.setInputMethodHints(Qt.InputMethodHint.ImhUrlCharactersOnly)
        elif spec.default is not None:
            self.edit.setPlaceholderText(str(spec.default))
        self.edit.textChanged.connect(self.sig_changed)
        self._layout.addWidget(self.edit)
        self._adopt(self.edit)

    def value(self) -> str:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))


class SecretFieldEditor(FieldEditor):
    """A password field with a Show/Hide toggle. Its value is "" when left empty; when
    editing, the placeholder says whether a secret is stored (empty keeps it)."""

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhSensitiveData
        )
        self.edit.textChanged.connect(self.sig_changed)
        self.toggle = QToolButton()
        self.toggle.setText("Show")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip(f"Show or hide the {spec.label.lower()} as you type it")
        self.toggle.setAccessibleName(f"Show {spec.label}")
        self.toggle.toggled.connect(self._toggled)
        self._layout.addWidget(self.edit, 1)
        self._layout.addWidget(self.toggle)
        self._adopt(self.edit)
        self.stored = False

    def _toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if shown else "Show")

    def set_stored(self, stored: bool) -> None:
        self.stored = stored
        self.edit.setPlaceholderText(STORED_PLACEHOLDER if stored else NOT_SET_PLACEHOLDER)

    def value(self) -> str:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))

    def set_default(self) -> None:
        """Secrets have no defaults to show."""


class IntegerFieldEditor(FieldEditor):
    """A spin box within the field's limits. Optional fields without a default start at
    "not set" (the lowest position) and give None there."""

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.spin = self._make_spin()
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else INT_LIMIT
        self.optional = not spec.required and spec.default is None
        self._set_range(low, high)
        self.spin.setValue(self.spin.minimum())
        self.spin.valueChanged.connect(lambda _v: self.sig_changed.emit())
        self._layout.addWidget(self.spin)
        self._layout.addStretch(1)
        self._adopt(self.spin)

    def _make_spin(self) -> Any:
        spin = QSpinBox()
        spin.setMinimumWidth(140)
        spin.setGroupSeparatorShown(False)
        return spin

    def _set_range(self, low: float, high: float) -> None:
        if self.optional:
            self.spin.setSpecialValueText(NOT_SET)
            low = low - self.spin.singleStep()
        self.spin.setRange(int(low), int(high))

    def value(self) -> Any:
        if self.optional and self.spin.value() == self.spin.minimum():
            return None
        return int(self.spin.value())

    def set_value(self, value: Any) -> None:
        if value is None or isinstance(value, bool):
            self.spin.setValue(self.spin.minimum())
            return
        try:
            self.spin.setValue(type(self.spin.value())(value))
        except (TypeError, ValueError):
            self.spin.setValue(self.spin.minimum())


class _NumberSpin(QDoubleSpinBox):
    """Shows 30 as "30" and 0.5 as "0.5", not "30.000"."""

    def textFromValue(self, value: float) -> str:
        text = self.locale().toString(float(value), "f", self.decimals())
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text


class NumberFieldEditor(IntegerFieldEditor):
    def _make_spin(self) -> Any:
        spin = _NumberSpin()
        spin.setDecimals(3)
        spin.setMinimumWidth(140)
        spin.setGroupSeparatorShown(False)
        return spin

    def _set_range(self, low: float, high: float) -> None:
        if self.spec.maximum is None:
            high = 1e9
        step = 1.0 if high - low >= 10 else 0.1
        self.spin.setSingleStep(step)
        if self.optional:
            self.spin.setSpecialValueText(NOT_SET)
            low = low - step
        self.spin.setRange(float(low), float(high))

    def value(self) -> Any:
        if self.optional and self.spin.value() == self.spin.minimum():
            return None
        number = float(self.spin.value())
        return int(number) if number.is_integer() else number


class BooleanFieldEditor(FieldEditor):
    """A check box carrying the label itself (the form row's label stays empty)."""

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.check = QCheckBox(spec.label)
        self.check.toggled.connect(lambda _on: self.sig_changed.emit())
        self._layout.addWidget(self.check)
        self._layout.addStretch(1)
        self._adopt(self.check)

    def value(self) -> bool:
        return self.check.isChecked()

    def set_value(self, value: Any) -> None:
        self.check.setChecked(bool(value))


class EnumFieldEditor(FieldEditor):
    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.combo = QComboBox()
        if not spec.required and spec.default is None:
            self.combo.addItem("—", None)
        for choice in spec.choices:
            self.combo.addItem(CHOICE_LABELS.get(choice, choice), choice)
        self.combo.currentIndexChanged.connect(lambda _i: self.sig_changed.emit())
        self.combo.setMinimumWidth(220)
        self._layout.addWidget(self.combo)
        self._layout.addStretch(1)
        self._adopt(self.combo)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        index = self.combo.findData(value)
        if index < 0 and value is not None:  # a value this build does not offer: keep it
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(max(index, 0))


class TextFieldEditor(FieldEditor):
    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QPlainTextEdit()
        self.edit.setTabChangesFocus(True)  # Tab leaves the field, as in every other one
        self.edit.setFixedHeight(84)
        self.edit.textChanged.connect(self.sig_changed)
        self._layout.addWidget(self.edit)
        self._adopt(self.edit)

    def value(self) -> str:
        return self.edit.toPlainText()

    def set_value(self, value: Any) -> None:
        self.edit.setPlainText("" if value is None else str(value))


class MappingFieldEditor(FieldEditor):
    """Name → name pairs in a two-column table; rows with neither side filled are ignored."""

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(list(mapping_headers(spec.help)))
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        trigger = QAbstractItemView.EditTrigger
        self.table.setEditTriggers(
            trigger.DoubleClicked
            | trigger.EditKeyPressed
            | trigger.AnyKeyPressed
            | trigger.SelectedClicked
        )
        self.table.setMinimumHeight(110)
        self.table.setMaximumHeight(150)
        self.table.itemChanged.connect(lambda _item: self.sig_changed.emit())
        self.add_button = QPushButton("Add row")
        self.add_button.setToolTip(f"Add a pair to {spec.label.lower()}")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = QPushButton("Remove row")
        self.remove_button.setToolTip("Remove the selected pairs")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self._layout.addWidget(self.table, 1)
        self._layout.addLayout(buttons)
        self._adopt(self.table)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def add_row(self, key: str = "", value: str = "", *, edit: bool = True) -> int:
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(key))
        self.table.setItem(row, 1, QTableWidgetItem(value))
        self.table.blockSignals(False)
        if edit:
            self.table.setCurrentCell(row, 0)
            self.table.setFocus()
            self.table.editItem(self.table.item(row, 0) or QTableWidgetItem())
        self.sig_changed.emit()
        return row

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.sig_changed.emit()

    def pairs(self) -> list[tuple[str, str]]:
        result = []
        for row in range(self.table.rowCount()):
            key, value = (self.table.item(row, c) for c in (0, 1))
            pair = ((key.text() if key else "").strip(), (value.text() if value else "").strip())
            if pair != ("", ""):
                result.append(pair)
        return result

    def value(self) -> dict[str, str]:
        return dict(self.pairs())

    def set_value(self, value: Any) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self.table.blockSignals(False)
        for key, item in dict(value or {}).items():
            self.add_row(str(key), "" if item is None else str(item), edit=False)
        self.sig_changed.emit()

    def local_problem(self) -> str | None:
        seen: set[str] = set()
        for key, _value in self.pairs():
            if not key:
                return f"{self.spec.label}: every row needs a name"
            if key in seen:
                return f"{self.spec.label}: “{key}” appears twice"
            seen.add(key)
        return None


def mapping_headers(help_text: str) -> tuple[str, str]:
    """Column titles from a help text such as "Our field name → that system's field name"."""
    if "→" in help_text:
        left, right = (part.strip() for part in help_text.split("→", 1))
        if left and right:
            return left[0].upper() + left[1:], right[0].upper() + right[1:]
    return "Name", "Maps to"


EDITORS: dict[str, type[FieldEditor]] = {
    "string": LineFieldEditor,
    "url": LineFieldEditor,
    "secret": SecretFieldEditor,
    "integer": IntegerFieldEditor,
    "number": NumberFieldEditor,
    "boolean": BooleanFieldEditor,
    "enum": EnumFieldEditor,
    "text": TextFieldEditor,
    "mapping": MappingFieldEditor,
}


def make_editor(spec: Any, parent: QWidget | None = None) -> FieldEditor:
    """The editor for a field, showing its default; unknown types get a line edit."""
    editor = EDITORS.get(spec.type, LineFieldEditor)(spec, parent)
    editor.set_default()
    return editor
