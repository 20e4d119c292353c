"""The live REST request log: the gateway's latest requests, newest on top.

The gateway keeps its own ring of the last 1,000 requests; the view polls it for what is
new and prepends, so a busy API costs one insert per poll, not a reset that would lose the
user's selection and scroll position. The model keeps the same bound as the gateway, so a
console left open for days holds a constant amount of memory. Refusals (4xx) and failures
(5xx) are coloured, and their status carries a word too, so colour is never the only cue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from auterity_desktop.ui.models.rows_model import RowsTableModel, SortRole

if TYPE_CHECKING:
    from auterity_desktop.services.gateway.service import RequestRecord

Index = QModelIndex | QPersistentModelIndex

MAX_ROWS = 1000
COLUMNS = ("Time", "Method", "Path", "Status", "ms", "Client", "Actor", "Error")
TIME, METHOD, PATH, STATUS, MS, CLIENT, ACTOR, ERROR = range(len(COLUMNS))
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def status_colour_key(status: int) -> str | None:
    """The theme colour of a status: server failures red, refusals amber, the rest plain."""
    if status >= 500:
        return "error"
    if status >= 400:
        return "warning"
    return None


def clock_text(timestamp: float) -> str:
    """Time of day with milliseconds: requests within one second still read apart."""
    return datetime.fromtimestamp(timestamp).strftime("%H:%M:%S.%f")[:-3]


class RequestLogModel(RowsTableModel):
    headers = COLUMNS

    def __init__(self, colours: Callable[[], Mapping[str, str]], limit: int = MAX_ROWS) -> None:
        super().__init__()
        self._colours = colours
        self.limit = limit
        self._rows: list[RequestRecord] = []  # newest first
        self.last_seq = 0  # the newest sequence number seen, to ask the gateway for more

    def add(self, records: Sequence[RequestRecord]) -> int:
        """Put ``records`` (oldest first, as the gateway returns them) on top; returns how
        many rows were added."""
        fresh = [r for r in records if r.seq > self.last_seq][-self.limit :]
        if not fresh:
            return 0
        self.last_seq = fresh[-1].seq
        fresh.reverse()
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[:0] = fresh
        self.endInsertRows()
        if len(self._rows) > self.limit:
            self.beginRemoveRows(QModelIndex(), self.limit, len(self._rows) - 1)
            del self._rows[self.limit :]
            self.endRemoveRows()
        return len(fresh)

    def clear(self) -> None:
        """Forget the rows shown, but not ``last_seq``: cleared requests stay cleared."""
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def record(self, row: int) -> RequestRecord:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(record, column)
        if role == SortRole:
            return {TIME: record.time, STATUS: record.status, MS: record.duration_ms}.get(
                column, self._text(record, column)
            )
        if role == Qt.ItemDataRole.ForegroundRole and column in (STATUS, ERROR):
            key = status_colour_key(record.status)
            colour = self._colours().get(key) if key else None
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (STATUS, MS):
            return int(_RIGHT)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(record, column)
        return None

    @staticmethod
    def _text(record: RequestRecord, column: int) -> str:
        if column == TIME:
            return clock_text(record.time)
        if column == METHOD:
            return record.method
        if column == PATH:
            return record.path
        if column == STATUS:
            return str(record.status)
        if column == MS:
            return f"{record.duration_ms:,.1f}"
        if column == CLIENT:
            return record.client
        if column == ACTOR:
            return record.actor
        return record.error or ""

    @staticmethod
    def _tooltip(record: RequestRecord, column: int) -> str | None:
        if column == TIME:
            return datetime.fromtimestamp(record.time).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        if column == PATH:
            return f"{record.path}\nroute {record.route}" + (
                f" · backend {record.backend}" if record.backend else ""
            )
        if column == STATUS and record.status >= 400:
            return "Server error" if record.status >= 500 else "Refused (client error)"
        return None
