"""The read-only, sortable, one-row-at-a-time table every list page shows, and the stack
that swaps it for its empty state — built one way so the pages look and behave alike."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStackedWidget,
    QTableView,
    QWidget,
)

from auterity_desktop.ui.models.rows_model import SortRole


def sortable_table(
    name: str,
    model: Any,
    *,
    sort_column: int = 0,
    descending: bool = False,
    stretch_last: bool = False,
    accessible: str | None = None,
) -> QTableView:
    """A table over ``model`` through a proxy sorting by ``SortRole`` (numbers as numbers,
    times as times), so ``model`` keeps its own row order for lookups by row."""
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SortRole)
    proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    table = QTableView()
    table.setTabKeyNavigation(False)  # Tab leaves the list; the arrow keys move in it
    table.setObjectName(name)
    if accessible:
        table.setAccessibleName(accessible)
    table.setModel(proxy)
    table.setSortingEnabled(True)
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    table.sortByColumn(sort_column, order)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(stretch_last)
    return table


def stacked(*widgets: QWidget) -> QStackedWidget:
    stack = QStackedWidget()
    for widget in widgets:
        stack.addWidget(widget)
    return stack
