"""The audit log as a lazily filled table: ``canFetchMore``/``fetchMore`` over keyset pages.

Only the rows scrolled into view are loaded, a page at a time, so the viewer opens at once
on a million entries. Filters and sorting run in the database; changing either reloads from
the first page. Loading is asynchronous: ``fetchMore`` schedules ``load_more`` and the rows
are inserted when the page arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal

from auterity_desktop.services.compliance.audit_trail import AuditEntry, AuditFilter, AuditPage
from auterity_desktop.ui.models.rows_model import RowsTableModel
from auterity_desktop.ui.tasks import TaskRunner

PAGE_SIZE = 200
COLUMNS = (
    ("seq", "#"),
    ("ts_us", "Time"),
    ("actor", "Actor"),
    ("action", "Action"),
    ("resource", "Resource"),
    ("outcome", "Outcome"),
)
Index = QModelIndex | QPersistentModelIndex
PageSource = Callable[..., Awaitable[AuditPage]]


class AuditTableModel(RowsTableModel):
    headers = tuple(title for _, title in COLUMNS)
    sig_loading = Signal(bool)
    sig_loaded = Signal(int)  # rows now held

    def __init__(self, source: PageSource, tasks: TaskRunner) -> None:
        super().__init__()
        self._source = source
        self._tasks = tasks
        self._rows: list[AuditEntry] = []
        self._next_key: tuple[Any, int] | None = None
        self._exhausted = False
        self._loading = False
        self._generation = 0
        self.filter = AuditFilter()
        self.sort_column = "seq"
        self.descending = True

    # -- Qt model protocol --------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "ts_us":
                return entry.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            return str(getattr(entry, key))
        if role == Qt.ItemDataRole.ToolTipRole and key == "ts_us":
            return entry.time.isoformat()
        if role == Qt.ItemDataRole.UserRole:
            return entry
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._tasks.spawn(self.load_more())

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column = COLUMNS[column][0]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self._tasks.spawn(self.reload())

    # -- loading ------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self._loading

    def entry(self, row: int) -> AuditEntry:
        return self._rows[row]

    async def reload(self, flt: AuditFilter | None = None) -> None:
        if flt is not None:
            self.filter = flt
        self._generation += 1
        self.beginResetModel()
        self._rows, self._next_key, self._exhausted, self._loading = [], None, False, False
        self.endResetModel()
        await self.load_more()

    async def load_more(self) -> None:
        if self._exhausted or self._loading:
            return
        generation = self._generation
        self._loading = True
        self.sig_loading.emit(True)
        try:
            page = await self._source(
                self.filter,
                sort=self.sort_column,
                descending=self.descending,
                after=self._next_key,
                limit=PAGE_SIZE,
            )
        finally:
            if generation == self._generation:
                self._loading = False
                self.sig_loading.emit(False)
        if generation != self._generation:
            return  # a newer filter or sort replaced this request
        if page.entries:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page.entries) - 1)
            self._rows.extend(page.entries)
            self.endInsertRows()
        self._next_key = page.next_key
        self._exhausted = page.next_key is None
        self.sig_loaded.emit(len(self._rows))
