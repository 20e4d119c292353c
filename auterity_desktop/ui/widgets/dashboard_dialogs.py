"""Dialogs of the dashboard: what a chart shows, and a custom date range."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.widgets.chart_series import series_label
from auterity_desktop.ui.widgets.dashboard_layout import MAX_SERIES, ChartSpec, SeriesSpec

SPEC_ROLE = Qt.ItemDataRole.UserRole


def _describe(spec: SeriesSpec) -> str:
    if spec.labels is None:
        return f"{series_label(spec.metric, {})} — every one"
    return series_label(spec.metric, spec.labels)


def choices(available: Sequence[Any]) -> list[SeriesSpec]:
    """Every series a chart may show (``available``: items with name, labels), with one
    "every label set" choice per metric that has labels."""
    found: list[SeriesSpec] = []
    seen_all: set[str] = set()
    for info in available:
        if info.labels and info.name not in seen_all:
            seen_all.add(info.name)
            found.append(SeriesSpec(info.name, None))
        found.append(SeriesSpec(info.name, dict(info.labels)))
    return found


class ChartConfigDialog(QDialog):
    """Title and series of one chart; ``spec()`` is the result."""

    def __init__(
        self,
        chart: ChartSpec,
        available: Sequence[Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Configure chart" if chart.series else "Add chart")
        self.resize(460, 520)
        self.title = QLineEdit(chart.title)
        self.title.setPlaceholderText("What the chart shows")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter metrics…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.list = QListWidget()
        self.list.setAccessibleName("Series")
        specs = choices(available)
        for spec in chart.series:  # keep what the chart shows even if nothing has it yet
            if spec not in specs:
                specs.append(spec)
        chosen = list(chart.series)
        for spec in specs:
            item = QListWidgetItem(_describe(spec))
            item.setData(SPEC_ROLE, spec)
            item.setToolTip(spec.metric)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if spec in chosen else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.itemChanged.connect(lambda _item: self._validate())
        self.problem = QLabel("")
        self.problem.setObjectName("HealthError")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.title.textChanged.connect(lambda _text: self._validate())
        form = QFormLayout()
        form.addRow("Title:", self.title)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Series (up to {MAX_SERIES}):"))
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._validate()

    def checked(self) -> list[SeriesSpec]:
        return [
            self.list.item(i).data(SPEC_ROLE)
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, spec: SeriesSpec, checked: bool = True) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(SPEC_ROLE) == spec:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                return
        raise KeyError(spec)

    def spec(self) -> ChartSpec:
        return ChartSpec(self.title.text().strip(), self.checked())

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().lower())

    def _validate(self) -> None:
        count = len(self.checked())
        problem = ""
        if not self.title.text().strip():
            problem = "Give the chart a title."
        elif count == 0:
            problem = "Choose at least one series."
        elif count > MAX_SERIES:
            problem = f"A chart shows at most {MAX_SERIES} series; {count} are chosen."
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)


class CustomRangeDialog(QDialog):
    """A start and an end date and time; ``bounds()`` gives them as epoch seconds."""

    def __init__(self, start: float, end: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Custom range")
        self.start = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(start)))
        self.end = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(end)))
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.dateTimeChanged.connect(lambda _value: self._validate())
        self.problem = QLabel("")
        self.problem.setObjectName("HealthError")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From:", self.start)
        form.addRow("To:", self.end)
        form.addRow(self.problem)
        form.addRow(self.buttons)
        self._validate()

    def set_bounds(self, start: float, end: float) -> None:
        self.start.setDateTime(QDateTime.fromSecsSinceEpoch(int(start)))
        self.end.setDateTime(QDateTime.fromSecsSinceEpoch(int(end)))

    def bounds(self) -> tuple[float, float]:
        return (
            float(self.start.dateTime().toSecsSinceEpoch()),
            float(self.end.dateTime().toSecsSinceEpoch()),
        )

    def _validate(self) -> None:
        start, end = self.bounds()
        problem = "" if end > start else "The range must end after it starts."
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
