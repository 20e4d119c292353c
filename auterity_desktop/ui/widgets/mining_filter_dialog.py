"""The Analysis page's log filter: narrow the open log before it is mined again.

Each group box is one filter and is on when checked, so a user sees at a glance what is
applied and can switch one off without losing its values. The dialog only builds the
filter list (the JSON that ``filter_specs.apply_filters`` reads); the page sends it to the
service, which reports a bad value in the page like any other error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QDateTime, Qt, QTimeZone
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

TIME_MODES = (
    ("traces_intersecting", "Cases that overlap the period"),
    ("traces_contained", "Cases entirely inside the period"),
    ("events", "Only the events inside the period"),
)
HOUR = 3600.0
MAX_HOURS = 1_000_000.0


def _utc(value: QDateTime) -> str:
    return value.toUTC().toString(Qt.DateFormat.ISODate)


def _qt_time(value: datetime) -> QDateTime:
    stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
    return QDateTime.fromSecsSinceEpoch(int(stamp.timestamp()), QTimeZone.utc())


def _checklist(names: Sequence[str]) -> QListWidget:
    widget = QListWidget()
    widget.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    for name in names:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Unchecked)
        widget.addItem(item)
    widget.setMaximumHeight(120)
    return widget


def _checked(widget: QListWidget) -> list[str]:
    return [
        widget.item(i).text()
        for i in range(widget.count())
        if widget.item(i).checkState() == Qt.CheckState.Checked
    ]


def _check(widget: QListWidget, names: Sequence[str]) -> None:
    wanted = set(names)
    for i in range(widget.count()):
        item = widget.item(i)
        state = Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked
        item.setCheckState(state)


def _group(title: str, tip: str) -> QGroupBox:
    box = QGroupBox(title)
    box.setCheckable(True)
    box.setChecked(False)
    box.setToolTip(tip)
    return box


def _hours(maximum: float = MAX_HOURS) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, maximum)
    spin.setDecimals(2)
    spin.setSuffix(" h")
    return spin


def _between(box: QGroupBox, low: QWidget, high: QWidget) -> None:
    row = QHBoxLayout(box)
    row.addWidget(QLabel("Between"))
    row.addWidget(low, 1)
    row.addWidget(QLabel("and"))
    row.addWidget(high, 1)


class LogFilterDialog(QDialog):
    """Builds ``filters()`` from the checked groups; ``set_filters`` shows a list again."""

    def __init__(
        self,
        activities: Sequence[str],
        first: datetime,
        last: datetime,
        current: Sequence[Mapping[str, Any]] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Filter the event log")
        self.setObjectName("LogFilterDialog")

        self.time_box = _group("Time period", "Keep what happened in a period")
        self.time_from = QDateTimeEdit(_qt_time(first))
        self.time_to = QDateTimeEdit(_qt_time(last))
        for edit in (self.time_from, self.time_to):
            edit.setCalendarPopup(True)
            edit.setTimeZone(QTimeZone.utc())
            edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
        self.time_mode = QComboBox()
        for key, text in TIME_MODES:
            self.time_mode.addItem(text, key)
        form = QFormLayout(self.time_box)
        form.addRow("From", self.time_from)
        form.addRow("To", self.time_to)
        form.addRow("Keep", self.time_mode)

        self.variant_box = _group("Variants", "Keep the cases of the most frequent variants")
        self.top_radio = QRadioButton("The most frequent")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 1_000_000)
        self.top_k.setValue(10)
        self.top_k.setSuffix(" variants")
        self.coverage_radio = QRadioButton("Variants each followed by at least")
        self.coverage = QDoubleSpinBox()
        self.coverage.setRange(0.0, 100.0)
        self.coverage.setValue(1.0)
        self.coverage.setSuffix(" % of cases")
        self.top_radio.setChecked(True)
        choice = QButtonGroup(self)
        choice.addButton(self.top_radio)
        choice.addButton(self.coverage_radio)
        grid = QGridLayout(self.variant_box)
        grid.addWidget(self.top_radio, 0, 0)
        grid.addWidget(self.top_k, 0, 1)
        grid.addWidget(self.coverage_radio, 1, 0)
        grid.addWidget(self.coverage, 1, 1)

        self.duration_box = _group("Case duration", "Keep cases by how long they took")
        self.duration_min = _hours()
        self.duration_max = _hours()
        self.duration_max.setValue(24.0)
        _between(self.duration_box, self.duration_min, self.duration_max)

        self.size_box = _group("Case size", "Keep cases by how many events they have")
        self.size_min = QSpinBox()
        self.size_min.setRange(1, 1_000_000)
        self.size_max = QSpinBox()
        self.size_max.setRange(1, 1_000_000)
        self.size_max.setValue(100)
        _between(self.size_box, self.size_min, self.size_max)
        for spin in (self.size_min, self.size_max):
            spin.setSuffix(" events")

        self.start_box = _group("Start activities", "Keep cases that begin with one of these")
        self.start_list = _checklist(activities)
        QVBoxLayout(self.start_box).addWidget(self.start_list)
        self.end_box = _group("End activities", "Keep cases that end with one of these")
        self.end_list = _checklist(activities)
        QVBoxLayout(self.end_box).addWidget(self.end_list)

        self.path_box = _group("Path", "Keep or drop cases in which one activity directly "
                               "follows another")  # fmt: skip
        self.path_retain = QComboBox()
        self.path_retain.addItem("Keep cases with", True)
        self.path_retain.addItem("Drop cases with", False)
        self.path_source = QComboBox()
        self.path_target = QComboBox()
        for combo in (self.path_source, self.path_target):
            combo.addItems(list(activities))
        row = QHBoxLayout(self.path_box)
        row.addWidget(self.path_retain)
        row.addWidget(self.path_source, 1)
        row.addWidget(QLabel("→"))
        row.addWidget(self.path_target, 1)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Reset
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Apply")
        buttons.button(QDialogButtonBox.StandardButton.Reset).setText("Clear all")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(self.clear)

        columns = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        for box in (self.time_box, self.variant_box, self.duration_box, self.size_box):
            left.addWidget(box)
        for box in (self.start_box, self.end_box, self.path_box):
            right.addWidget(box)
        left.addStretch(1)
        right.addStretch(1)
        columns.addLayout(left)
        columns.addLayout(right)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(buttons)
        self.set_filters(current)

    def groups(self) -> tuple[QGroupBox, ...]:
        return (self.time_box, self.variant_box, self.duration_box, self.size_box,
                self.start_box, self.end_box, self.path_box)  # fmt: skip

    def clear(self) -> None:
        for box in self.groups():
            box.setChecked(False)

    def filters(self) -> list[dict[str, Any]]:
        """The checked groups as filter specs, in the order they narrow the log."""
        found: list[dict[str, Any]] = []
        if self.time_box.isChecked():
            found.append({"kind": "time_range", "start": _utc(self.time_from.dateTime()),
                          "end": _utc(self.time_to.dateTime()),
                          "mode": self.time_mode.currentData()})  # fmt: skip
        if self.start_box.isChecked():
            found.append({"kind": "start_activities", "activities": _checked(self.start_list)})
        if self.end_box.isChecked():
            found.append({"kind": "end_activities", "activities": _checked(self.end_list)})
        if self.path_box.isChecked():
            pair = [self.path_source.currentText(), self.path_target.currentText()]
            found.append({"kind": "directly_follows", "pairs": [pair],
                          "retain": bool(self.path_retain.currentData())})  # fmt: skip
        if self.size_box.isChecked():
            found.append({"kind": "case_size", "min": self.size_min.value(),
                          "max": max(self.size_min.value(), self.size_max.value())})  # fmt: skip
        if self.duration_box.isChecked():
            low, high = self.duration_min.value() * HOUR, self.duration_max.value() * HOUR
            found.append({"kind": "case_duration", "min_seconds": low,
                          "max_seconds": max(low, high)})  # fmt: skip
        if self.variant_box.isChecked():
            if self.top_radio.isChecked():
                found.append({"kind": "variants_top_k", "k": self.top_k.value()})
            else:
                share = self.coverage.value() / 100.0
                found.append({"kind": "variants_coverage", "min_coverage": share})
        return found

    def set_filters(self, specs: Sequence[Mapping[str, Any]]) -> None:
        """Show ``specs`` (as ``filters()`` made them) in the groups."""
        self.clear()
        for spec in specs:
            kind = spec.get("kind")
            if kind == "time_range":
                self.time_box.setChecked(True)
                for edit, key in ((self.time_from, "start"), (self.time_to, "end")):
                    edit.setDateTime(QDateTime.fromString(str(spec[key]), Qt.DateFormat.ISODate))
                self.time_mode.setCurrentIndex(max(0, self.time_mode.findData(spec.get("mode"))))
            elif kind in ("start_activities", "end_activities"):
                box, names = (
                    (self.start_box, self.start_list)
                    if kind == "start_activities"
                    else (self.end_box, self.end_list)
                )
                box.setChecked(True)
                _check(names, spec.get("activities") or [])
            elif kind == "directly_follows" and spec.get("pairs"):
                self.path_box.setChecked(True)
                source, target = spec["pairs"][0]
                self.path_source.setCurrentText(source)
                self.path_target.setCurrentText(target)
                self.path_retain.setCurrentIndex(0 if spec.get("retain", True) else 1)
            elif kind == "case_size":
                self.size_box.setChecked(True)
                self.size_min.setValue(int(spec.get("min") or 1))
                self.size_max.setValue(int(spec.get("max") or self.size_max.maximum()))
            elif kind == "case_duration":
                self.duration_box.setChecked(True)
                self.duration_min.setValue(float(spec.get("min_seconds") or 0.0) / HOUR)
                high = spec.get("max_seconds")
                self.duration_max.setValue(MAX_HOURS if high is None else float(high) / HOUR)
            elif kind == "variants_top_k":
                self.variant_box.setChecked(True)
                self.top_radio.setChecked(True)
                self.top_k.setValue(int(spec["k"]))
            elif kind == "variants_coverage":
                self.variant_box.setChecked(True)
                self.coverage_radio.setChecked(True)
                self.coverage.setValue(float(spec["min_coverage"]) * 100.0)
