"""A node's data as a table: a list of records becomes rows and columns (the shape most
outputs have — leads, appointments, vehicles), anything else a single row. The JSON tree
shows the same data nested."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

MAX_ROWS = 1000
MAX_COLUMNS = 60


def records(output: Any) -> list[dict[str, Any]]:
    """A node's output (``{port: value}``) as records: with one port its value is shown;
    a list gives one row per item (a non-record item becomes a one-field record); any
    other value is one row."""
    value = output
    if isinstance(output, dict) and len(output) == 1:
        value = next(iter(output.values()))
    if isinstance(value, list):
        return [v if isinstance(v, dict) else {"value": v} for v in value]
    if isinstance(value, dict):
        return [value]
    return [] if value is None else [{"value": value}]


def cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


class RecordsTableView(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_ = QStandardItemModel(self)
        self.setModel(self.model_)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.setAlternatingRowColors(True)
        self.truncated = False

    def set_value(self, value: Any) -> None:
        rows = records(value)
        self.truncated = len(rows) > MAX_ROWS
        rows = rows[:MAX_ROWS]
        columns: list[str] = []
        for row in rows:
            for key in row:
                if key not in columns and len(columns) < MAX_COLUMNS:
                    columns.append(str(key))
        self.model_.clear()
        self.model_.setHorizontalHeaderLabels(columns)
        for row in rows:
            self.model_.appendRow([QStandardItem(cell(row.get(c, ""))) for c in columns])
        self.resizeColumnsToContents()

    def cell_text(self, row: int, column: int) -> str:
        item = self.model_.item(row, column)
        return item.text() if item is not None else ""
