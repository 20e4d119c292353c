"""The effective configuration as a read-only table: setting, value, source, allowed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from auterity_desktop.config import SettingInfo

_HEADERS = ("Setting", "Value", "Source", "Allowed values")
Index = QModelIndex | QPersistentModelIndex


class SettingsTableModel(QAbstractTableModel):
    def __init__(self, rows: list[SettingInfo]) -> None:
        super().__init__()
        self._rows = rows

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        return None

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
