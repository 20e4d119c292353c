"""A sortable, read-only table of keyed rows (the AI page's deployments, policies, budgets
and statistics) that keeps the selected row across reloads; ``stretch`` is the column that
takes the room left over."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from auterity_desktop.ui.models.rows_model import SortRole
from auterity_desktop.ui.widgets.row_selection import select_row


class KeyedTableView(QTableView):
    def __init__(
        self,
        name: str,
        model: Any,
        accessible: str,
        widths: Sequence[int] = (),
        stretch: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SortRole)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setObjectName(name)
        self.setTabKeyNavigation(False)  # Tab leaves the list; the arrow keys move in it
        self.setAccessibleName(accessible)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(28)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(widths):
            self.setColumnWidth(column, width)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)

    def selected_item(self) -> Any:
        rows = self.selectionModel().selectedRows()
        if not rows:
            return None
        return self.source.item(self.proxy.mapToSource(rows[0]).row())

    def selected_key(self) -> str | None:
        item = self.selected_item()
        return None if item is None else str(self.source.key(item))

    def select_key(self, key: str) -> bool:
        row = self.source.row_of(key)
        if row < 0:
            return False
        select_row(self, self.proxy.mapFromSource(self.source.index(row, 0)))
        return True

    def set_rows(self, rows: Sequence[Any], wanted: str | None = None) -> None:
        """Replace the rows, keeping the selected one (or selecting ``wanted``)."""
        key = wanted or self.selected_key()
        self.source.set_rows(rows)
        if key is not None:
            self.select_key(key)
