"""What every read-only table of rows shares: row and column counts and column titles.

Subclasses set ``headers`` and keep their rows in ``_rows``; they add only ``data``."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
# The raw value of a cell (a number, a time) for sorting, where DisplayRole holds its text.
SortRole = Qt.ItemDataRole.UserRole + 1


class RowsTableModel(QAbstractTableModel):
    headers: tuple[str, ...] = ()
    _rows: list[Any]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None


class KeyedRowsModel(RowsTableModel):
    """Rows a reload replaces wholesale, found again by key so a view keeps its selection
    across reloads. Subclasses say what the key of a row is (its ``id`` by default)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows = []

    def key(self, row: Any) -> Hashable:
        return row.id

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def item(self, row: int) -> Any:
        return self._rows[row]

    def row_of(self, key: Hashable) -> int:
        return next((i for i, r in enumerate(self._rows) if self.key(r) == key), -1)

    def keys(self) -> list[Hashable]:
        return [self.key(r) for r in self._rows]
