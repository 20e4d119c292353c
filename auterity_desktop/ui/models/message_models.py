"""The Messages page's tables: queues with their depth by state and rates, known topics
with the queues they reach, and dead letters.

Each model keeps the service's frozen rows as they came (``QueueStats``, ``TopicInfo``,
``DeadLetter``) and formats them; a reload replaces them. ``SortRole`` gives raw values so
numbers and times sort as numbers. Rows are matched by key (queue or topic name, message
id), so a live refresh keeps the selection on the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from auterity_desktop.ui.models.rows_model import KeyedRowsModel, SortRole
from auterity_desktop.ui.models.run_display import format_duration, format_time

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
REASON_LABELS = {
    "rejected": "rejected",
    "expired": "expired",
    "maxlen": "queue full",
    "delivery_limit": "delivery limit",
}
REASON_TIPS = {
    "rejected": "A consumer refused it (nack without requeue, or the handler rejected it).",
    "expired": "Its time to live ran out before anyone acknowledged it.",
    "maxlen": "The queue was full and pushes out its oldest messages (drop oldest).",
    "delivery_limit": "Delivered as often as the queue allows without being acknowledged.",
}


def rate(per_minute: float) -> str:
    if per_minute <= 0:
        return "—"
    return f"{per_minute:,.0f}/min" if per_minute >= 10 else f"{per_minute:.1f}/min"


def count(value: int) -> str:
    return f"{value:,}"


class QueueTableModel(KeyedRowsModel):
    headers = (
        "Queue", "Pattern", "Depth", "Ready", "In flight", "Delayed", "Dead",
        "Published", "Acked", "Consumers", "Limit",
    )  # fmt: skip
    NUMERIC = frozenset(range(2, 11))

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours

    def key(self, row: Any) -> str:
        return str(row.name)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        q = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                q.name, q.pattern, count(q.depth), count(q.ready), count(q.in_flight),
                count(q.delayed), count(q.dead), rate(q.published_per_minute),
                rate(q.acked_per_minute), count(q.consumers), count(q.max_length),
            )[column]  # fmt: skip
        if role == SortRole:
            return (
                q.name.lower(), q.pattern, q.depth, q.ready, q.in_flight, q.delayed, q.dead,
                q.published_per_minute, q.acked_per_minute, q.consumers, q.max_length,
            )[column]  # fmt: skip
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.NUMERIC:
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            colours = self._colours()
            if column == 6 and q.dead:
                return QColor(colours["error"])
            if column == 2 and q.depth >= q.max_length:
                return QColor(colours["warning"])
        if role == Qt.ItemDataRole.ToolTipRole:
            return _queue_tip(q, column)
        return None


def _queue_tip(q: Any, column: int) -> str | None:
    if column == 0:
        ttl = f", messages expire after {format_duration(q.ttl)}" if q.ttl else ""
        return (
            f"{q.name}: bound to {q.pattern}\n"
            f"holds up to {q.max_length:,} messages (when full: "
            f"{'refuse new ones' if q.overflow == 'reject' else 'drop the oldest'}){ttl}\n"
            f"a claim lasts {format_duration(q.visibility_timeout)}; "
            f"{q.delivery_limit} deliveries before the dead-letter queue"
        )
    if column == 6 and q.dead_by_reason:
        return "\n".join(
            f"{REASON_LABELS.get(r, r)}: {n:,}" for r, n in sorted(q.dead_by_reason.items())
        )
    if column in (7, 8):
        return "Over the last minute, in this console"
    if column == 4:
        return "Claimed by a consumer and not yet acknowledged"
    return None


class TopicTableModel(KeyedRowsModel):
    headers = ("Topic", "Published", "Unrouted", "Last published", "Queues")

    def __init__(self) -> None:
        super().__init__()

    def key(self, row: Any) -> str:
        return str(row.name)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        t = self._rows[index.row()]
        column = index.column()
        queues = ", ".join(t.queues) if t.queues else "none — messages are dropped"
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                t.name,
                count(t.published),
                count(t.unrouted),
                format_time(t.last_published_at),
                queues,
            )[column]
        if role == SortRole:
            values = (t.name, t.published, t.unrouted, t.last_published_at, len(t.queues))
            return values[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            return "Published while no queue's pattern matched the topic: nobody got them"
        return None


class DeadLetterTableModel(KeyedRowsModel):
    headers = ("Id", "Queue", "Topic", "Reason", "Deliveries", "Last error", "Dead since")

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours

    def key(self, row: Any) -> str:
        return str(row.id)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        d = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            error = (d.error or "").splitlines()[0] if d.error else "—"
            return (
                d.id,
                d.queue,
                d.topic,
                REASON_LABELS.get(d.reason, d.reason),
                count(d.deliveries),
                error,
                format_time(d.dead_at),
            )[column]
        if role == SortRole:
            values = (int(d.id), d.queue, d.topic, d.reason, d.deliveries, d.error or "", d.dead_at)
            return values[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 4):
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == 3:
            return QColor(self._colours()["error"])
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3:
                return REASON_TIPS.get(d.reason)
            if column == 5 and d.error:
                return d.error
            if column == 2:
                return d.preview
        return None
