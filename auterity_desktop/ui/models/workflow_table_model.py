"""The saved workflows as a table (name, description, version, updated, last run).

Rows are the store's ``WorkflowSummary`` values plus the status of each workflow's latest
run; the model keeps only those cached rows and is refilled after every change. Sorting and
the search box go through a ``QSortFilterProxyModel`` (``SortRole`` gives raw values so dates
and versions sort as numbers, not text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from auterity_desktop.services.workflows.store import WorkflowSummary
from auterity_desktop.ui.models.rows_model import RowsTableModel, SortRole
from auterity_desktop.ui.models.run_display import format_time, status_colour, status_label

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Name", "Description", "Version", "Updated", "Last run")
IdRole = Qt.ItemDataRole.UserRole + 2


class WorkflowTableModel(RowsTableModel):
    headers = COLUMNS

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours
        self._rows: list[WorkflowSummary] = []
        self._last_run: dict[str, str] = {}

    def set_rows(self, rows: list[WorkflowSummary], last_run: Mapping[str, str]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._last_run = dict(last_run)
        self.endResetModel()

    def workflow(self, row: int) -> WorkflowSummary:
        return self._rows[row]

    def row_of(self, workflow_id: str) -> int:
        return next((i for i, w in enumerate(self._rows) if w.id == workflow_id), -1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        wf = self._rows[index.row()]
        column = index.column()
        last = self._last_run.get(wf.id)
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                wf.name,
                wf.description.splitlines()[0] if wf.description else "",
                f"v{wf.version}",
                format_time(wf.updated_at, seconds=False),
                status_label(last) if last else "never run",
            )[column]
        if role == SortRole:
            return (wf.name.lower(), wf.description.lower(), wf.version, wf.updated_at, last or "")[
                column
            ]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1 and wf.description:
                return wf.description
            if column == 0:
                return f"{wf.name}\nid {wf.id} · created by {wf.created_by}"
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            return QColor(status_colour(last, self._colours()) if last else self._muted())
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == IdRole:
            return wf.id
        return None

    def _muted(self) -> str:
        return self._colours().get("muted_text", "#888888")


def refilter(proxy: QSortFilterProxyModel, change: Callable[[], Any]) -> None:
    """Apply ``change`` to a proxy's filter state and re-filter its rows (Qt ≥ 6.9 way, which
    does not warn about the deprecated ``invalidateFilter``; older Qt the old way)."""
    if hasattr(proxy, "beginFilterChange"):
        proxy.beginFilterChange()
        change()
        proxy.endFilterChange(QSortFilterProxyModel.Direction.Rows)
    else:  # pragma: no cover - Qt 6.8
        change()
        proxy.invalidateFilter()


class WorkflowFilterModel(QSortFilterProxyModel):
    """Case-insensitive search over name and description."""

    def __init__(self, source: WorkflowTableModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self.setSortRole(SortRole)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._needle = ""

    def set_search(self, text: str) -> None:
        refilter(self, lambda: setattr(self, "_needle", text.strip().lower()))

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._needle:
            return True
        model = self.sourceModel()
        assert isinstance(model, WorkflowTableModel)
        wf = model.workflow(source_row)
        return self._needle in wf.name.lower() or self._needle in wf.description.lower()
