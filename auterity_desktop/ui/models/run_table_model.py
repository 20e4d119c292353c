"""The run history as a table: started, workflow, version, status, progress, duration, by.

Rows are the engine's ``list_runs`` dictionaries; workflow names are looked up in a map the
page keeps (a deleted workflow still has a name for its past runs, or shows its id). When a
refresh brings the same runs in the same order, only the cells change (``dataChanged``), so
the selection and the scroll position survive the live updates of running runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from auterity_desktop.ui.models.rows_model import RowsTableModel, SortRole
from auterity_desktop.ui.models.run_display import (
    elapsed,
    format_duration,
    format_time,
    is_unfinished,
    status_colour,
    status_label,
)
from auterity_desktop.ui.models.workflow_table_model import refilter

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Started", "Workflow", "Version", "Status", "Progress", "Duration", "By", "Run")
RunIdRole = Qt.ItemDataRole.UserRole + 2


class RunTableModel(RowsTableModel):
    headers = COLUMNS

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours
        self._rows: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}

    def set_rows(self, rows: list[dict[str, Any]], names: Mapping[str, str]) -> None:
        self.names = dict(names)
        if [r["run_id"] for r in rows] == [r["run_id"] for r in self._rows]:
            self._rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def run(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def row_of(self, run_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r["run_id"] == run_id), -1)

    def any_unfinished(self) -> bool:
        return any(is_unfinished(r["status"]) for r in self._rows)

    def workflow_name(self, workflow_id: str) -> str:
        return self.names.get(workflow_id) or f"(deleted) {workflow_id[:8]}"

    def _duration(self, run: dict[str, Any]) -> float | None:
        end = run.get("finished_at")
        if not end and not is_unfinished(run["status"]):
            return None  # interrupted: no end was recorded
        return elapsed(run.get("created_at"), end, time.time())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            duration = self._duration(run)
            running = is_unfinished(run["status"])
            return (
                format_time(run.get("created_at")),
                ("↳ " if run.get("parent_run_id") else "") + self.workflow_name(run["workflow_id"]),
                f"v{run['version']}",
                status_label(run["status"]),
                f"{(run.get('progress') or 0) * 100:.0f} %",
                format_duration(duration) + (" …" if running and duration is not None else ""),
                run.get("created_by") or "",
                run["run_id"][:8],
            )[column]
        if role == SortRole:
            return (
                run.get("created_at") or 0,
                self.workflow_name(run["workflow_id"]).lower(),
                run["version"],
                run["status"],
                run.get("progress") or 0,
                self._duration(run) or 0,
                run.get("created_by") or "",
                run["run_id"],
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 3:
            return QColor(status_colour(run["status"], self._colours()))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3 and run.get("error"):
                return str(run["error"])
            if column == 1 and run.get("parent_run_id"):
                return f"A sub-workflow run started by run {run['parent_run_id']}"
            if column == 7:
                return run["run_id"]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (2, 4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == RunIdRole:
            return run["run_id"]
        return None


class RunFilterModel(QSortFilterProxyModel):
    """The run-id box: matches the start of a run id, or any part of the workflow name."""

    def __init__(self, source: RunTableModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self.setSortRole(SortRole)
        self._needle = ""

    def set_text(self, text: str) -> None:
        refilter(self, lambda: setattr(self, "_needle", text.strip().lower()))

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._needle:
            return True
        model = self.sourceModel()
        assert isinstance(model, RunTableModel)
        run = model.run(source_row)
        return self._needle in run["run_id"].lower() or (
            self._needle in model.workflow_name(run["workflow_id"]).lower()
        )
