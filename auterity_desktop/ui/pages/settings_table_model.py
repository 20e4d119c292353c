"""The effective configuration as a read-only table: setting, value, source, allowed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from auterity_desktop.config import SettingInfo
from auterity_desktop.ui.models.rows_model import RowsTableModel

_HEADERS = ("Setting", "Value", "Source", "Allowed values")
Index = QModelIndex | QPersistentModelIndex


class SettingsTableModel(RowsTableModel):
    headers = _HEADERS

    def __init__(self, rows: list[SettingInfo]) -> None:
        super().__init__()
        self._rows = rows

    def row(self, index: int) -> SettingInfo:
        return self._rows[index]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        info = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                info.name,
                "(built-in SQLite database)" if info.value is None else str(info.value),
                info.source,
                info.allowed,
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.name}: {info.description}"
        return None
