"""Table models of the Data sets tab: a lazy view of a pandas frame and its column summary.

The frame view hands Qt rows a page at a time (``canFetchMore``/``fetchMore``): a view asks
for more only when scrolled near the end, so a million-row frame shows its first rows at
once instead of making Qt measure and index every row up front. Sorting is a row order
computed elsewhere (off the GUI thread) and applied with ``set_order``; the model never
reorders the frame itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from auterity_desktop.services.analytics.datasets import ColumnInfo

Index = QModelIndex | QPersistentModelIndex
PAGE_ROWS = 500


def format_cell(value: Any) -> str:
    """How one cell reads: empty for missing, floats without float noise, dates without a
    midnight time part they never had."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return str(np.format_float_positional(float(value), precision=6, trim="-"))
    if isinstance(value, pd.Timestamp | datetime):
        if value is pd.NaT:
            return ""
        stamp = pd.Timestamp(value)
        if stamp.hour == stamp.minute == stamp.second == stamp.microsecond == 0 and not (
            stamp.nanosecond
        ):
            return str(stamp.date())
        return str(stamp.isoformat(sep=" "))
    if isinstance(value, date):
        return value.isoformat()
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


class DatasetTableModel(QAbstractTableModel):
    """A read-only, lazily filled view of a frame, in a given row order."""

    def __init__(self, page_rows: int = PAGE_ROWS, parent: Any = None) -> None:
        super().__init__(parent)
        self.page_rows = page_rows
        self._frame: pd.DataFrame = pd.DataFrame()
        self._order: np.ndarray | None = None
        self._loaded = 0
        self._numeric: list[bool] = []

    @property
    def frame(self) -> pd.DataFrame:
        return self._frame

    @property
    def total_rows(self) -> int:
        return len(self._frame)

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self._frame = frame
        self._order = None
        self._loaded = min(self.page_rows, len(frame))
        self._numeric = [
            pd.api.types.is_numeric_dtype(frame.iloc[:, i].dtype) for i in range(frame.shape[1])
        ]
        self.endResetModel()

    def set_order(self, order: np.ndarray | None) -> None:
        """Show the rows in ``order`` (positions into the frame); keeps as many rows loaded
        as before, so a sort does not jump the view back to one page."""
        if order is not None and len(order) != len(self._frame):
            raise ValueError("the order must list every row once")
        loaded = self._loaded
        self.beginResetModel()
        self._order = order
        self._loaded = loaded
        self.endResetModel()

    def clear(self) -> None:
        self.set_frame(pd.DataFrame())

    def source_row(self, row: int) -> int:
        """The frame position shown at view row ``row``."""
        return int(self._order[row]) if self._order is not None else row

    # -- lazy loading ------------------------------------------------------------------
    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._loaded < len(self._frame)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        more = min(self.page_rows, len(self._frame) - self._loaded)
        if more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + more - 1)
        self._loaded += more
        self.endInsertRows()

    # -- the model ---------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._loaded

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._frame.shape[1])

    def value(self, row: int, column: int) -> Any:
        return self._frame.iat[self.source_row(row), column]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self._loaded:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = format_cell(self.value(index.row(), index.column()))
            if role == Qt.ItemDataRole.ToolTipRole:
                return text if len(text) > 40 else None
            return text
        if role == Qt.ItemDataRole.TextAlignmentRole and self._numeric[index.column()]:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if 0 <= section < self._frame.shape[1]:
                return str(self._frame.columns[section])
            return None
        if 0 <= section < self._loaded:
            return str(self.source_row(section) + 1)  # the row's number in the file
        return None


class ColumnInfoModel(QAbstractTableModel):
    HEADERS = ("Column", "Type", "Missing", "Missing %", "Distinct")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.columns: list[ColumnInfo] = []

    def set_columns(self, columns: Sequence[ColumnInfo]) -> None:
        self.beginResetModel()
        self.columns = list(columns)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        info = self.columns[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                info.name,
                info.dtype,
                f"{info.missing:,}",
                f"{info.missing_share:.1%}",
                f"{info.distinct:,}",
            )[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None
