"""A run's timeline: one row per node with status, attempts, start offset and duration.

Built from ``engine.status`` (per-node state) and the workflow document of the run's version
(node names and types). Rows are in the order nodes started; nodes that never started follow
in document order. The last column carries where the node's bar sits on the run's time span
(``BarRole``) for ``TimelineBarDelegate`` to draw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from auterity_desktop.ui.models.rows_model import RowsTableModel
from auterity_desktop.ui.models.run_display import (
    elapsed,
    format_duration,
    is_unfinished,
    status_colour,
    status_label,
)

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Node", "Type", "Status", "Attempts", "Start", "Duration", "Timeline")
TIMELINE_COLUMN = len(COLUMNS) - 1
BarRole = Qt.ItemDataRole.UserRole + 1
NodeIdRole = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class NodeRun:
    """One node of one run, as the timeline and the node panel show it."""

    node_id: str
    name: str
    type: str
    status: str
    attempt: int
    started_at: float | None
    finished_at: float | None
    error: str | None
    truncated: bool
    input: Any
    output: Any
    items_done: int | None = None  # for-each nodes: items finished so far

    @property
    def key(self) -> tuple[Any, ...]:
        """What changes when the node's data changes (so open trees are not rebuilt)."""
        return (
            self.status,
            self.attempt,
            self.finished_at,
            self.started_at is None,
            self.items_done,
        )


def node_runs(status: Mapping[str, Any], nodes: list[Any]) -> list[NodeRun]:
    """Timeline rows from a run status and the document's nodes (``id``/``name``/``type``)."""
    by_id = {n.id: n for n in nodes}
    order = {n.id: i for i, n in enumerate(nodes)}
    rows = []
    for node_id, state in status.get("nodes", {}).items():
        node = by_id.get(node_id)
        rows.append(
            NodeRun(
                node_id,
                node.name if node is not None else node_id,
                node.type if node is not None else "?",
                state.get("status") or "pending",
                int(state.get("attempt") or 0),
                state.get("started_at"),
                state.get("finished_at"),
                state.get("error"),
                bool(state.get("truncated")),
                state.get("input"),
                state.get("output"),
                state.get("items_done"),
            )
        )
    rows.sort(
        key=lambda r: (
            r.started_at is None,
            r.started_at or 0.0,
            order.get(r.node_id, len(order)),
        )
    )
    return rows


class NodeTimelineModel(RowsTableModel):
    headers = COLUMNS

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours
        self._rows: list[NodeRun] = []
        self._start = 0.0
        self._end: float | None = None
        self._live = False

    def set_run(self, status: Mapping[str, Any], nodes: list[Any]) -> None:
        rows = node_runs(status, nodes)
        self._start = status.get("started_at") or status.get("created_at") or 0.0
        self._end = status.get("finished_at")
        self._live = is_unfinished(status.get("status"))
        if [r.node_id for r in rows] == [r.node_id for r in self._rows]:
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def node_run(self, row: int) -> NodeRun:
        return self._rows[row]

    def row_of(self, node_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.node_id == node_id), -1)

    def _span_end(self) -> float:
        if self._end:
            return self._end
        ends = [r.finished_at for r in self._rows if r.finished_at]
        return time.time() if self._live else max(ends, default=self._start)

    def _bar(self, row: NodeRun) -> tuple[float, float, str] | None:
        if row.started_at is None:
            return None
        end_of_run = self._span_end()
        span = max(end_of_run - self._start, 1e-6)
        end = row.finished_at or (end_of_run if is_unfinished(row.status) else row.started_at)
        left = min(max((row.started_at - self._start) / span, 0.0), 1.0)
        right = min(max((end - self._start) / span, left), 1.0)
        return left, right, status_colour(row.status, self._colours())

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == TIMELINE_COLUMN:
                return None
            offset = None if row.started_at is None else row.started_at - self._start
            duration = None
            if row.started_at is not None and (row.finished_at or is_unfinished(row.status)):
                duration = elapsed(row.started_at, row.finished_at)
            return (
                row.name,
                row.type,
                status_label(row.status),
                str(row.attempt) if row.attempt else "—",
                "—" if offset is None else f"+{format_duration(offset)}",
                format_duration(duration),
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            return QColor(status_colour(row.status, self._colours()))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return f"{row.name} (id {row.node_id})"
            if row.error:
                return row.error
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (3, 4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == BarRole and column == TIMELINE_COLUMN:
            return self._bar(row)
        if role == NodeIdRole:
            return row.node_id
        return None
