"""The integrations list: how a connection's health reads on screen, the table model and the
status badge.

Every status has a colour, a symbol and a word, so colour is never the only cue: a badge
reads "✔ Healthy", "▲ Degraded", "✖ Down", "⊘ Circuit open" or "○ Never tested". The
model keeps the controller's ``IntegrationInfo`` rows; a refresh that brings the same ids in
the same order only repaints the cells, so the selection survives the periodic reload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from auterity_desktop.ui.models.rows_model import RowsTableModel, SortRole
from auterity_desktop.ui.models.run_display import format_time

Index = QModelIndex | QPersistentModelIndex

STATUSES = ("healthy", "degraded", "down", "circuit_open", "never_tested")
_STATUS = {  # status → (symbol, word, theme colour key)
    "healthy": ("✔", "Healthy", "ok"),
    "degraded": ("▲", "Degraded", "warning"),
    "down": ("✖", "Down", "error"),
    "circuit_open": ("⊘", "Circuit open", "error"),
    "never_tested": ("○", "Never tested", "muted_text"),
    "testing": ("…", "Testing", "accent"),
}
_CIRCUIT = {
    "closed": "closed",
    "open": "open — calls suspended",
    "half_open": "half-open — probing",
}
STATUS_TIPS = {
    "healthy": "The last check succeeded in good time.",
    "degraded": "The last check succeeded, but slowly or with warnings.",
    "down": "The last check failed.",
    "circuit_open": "Repeated failures opened the circuit breaker: calls are suspended for a "
    "while, then a trial call decides whether to resume.",
    "never_tested": "Not checked yet: select it and press Test.",
    "testing": "A connection test is running.",
}

COLUMNS = ("Name", "Type", "Status", "Last checked", "Latency", "Circuit")
STATUS_COLUMN = 2
StatusRole = Qt.ItemDataRole.UserRole + 2


def status_text(status: str | None) -> str:
    symbol, word, _key = _STATUS.get(status or "", ("?", status or "unknown", "text"))
    return f"{symbol} {word}"


def status_colour(status: str | None, colours: Mapping[str, str]) -> str:
    key = _STATUS.get(status or "", ("", "", "text"))[2]
    return colours.get(key, colours.get("text", "#000000"))


def circuit_text(circuit: str | None) -> str:
    return _CIRCUIT.get(circuit or "", circuit or "—")


def latency_text(seconds: float | None) -> str:
    """Latency in milliseconds, the unit people compare connections in."""
    if seconds is None:
        return "—"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


class IntegrationTableModel(RowsTableModel):
    headers = COLUMNS

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours
        self._rows: list[Any] = []
        self.titles: dict[str, str] = {}  # connector kind → its title
        self.testing: set[str] = set()  # ids with a connection test running

    def set_rows(self, rows: list[Any]) -> None:
        if [r.id for r in rows] == [r.id for r in self._rows]:
            self._rows = list(rows)
            self._repaint()
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def set_testing(self, integration_id: str, testing: bool) -> None:
        (self.testing.add if testing else self.testing.discard)(integration_id)
        row = self.row_of(integration_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _repaint(self) -> None:
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1)
            )

    def integration(self, row: int) -> Any:
        return self._rows[row]

    def row_of(self, integration_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == integration_id), -1)

    def status_of(self, info: Any) -> str:
        return "testing" if info.id in self.testing else str(info.status)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        info = self._rows[index.row()]
        column = index.column()
        status = self.status_of(info)
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                info.name,
                self.titles.get(info.kind, info.kind),
                status_text(status),
                format_time(info.last_checked_at) if info.last_checked_at else "never",
                latency_text(info.last_latency),
                circuit_text(info.circuit),
            )[column]
        if role == SortRole:
            return (
                info.name.lower(),
                self.titles.get(info.kind, info.kind).lower(),
                STATUSES.index(info.status) if info.status in STATUSES else 99,
                info.last_checked_at or 0.0,
                info.last_latency if info.last_latency is not None else float("inf"),
                info.circuit or "",
            )[column]
        if role == StatusRole:
            return status
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS_COLUMN:
            return QColor(status_colour(status, self._colours()))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == STATUS_COLUMN:
                tip = STATUS_TIPS.get(status, "")
                return f"{tip}\n\n{info.last_error}" if info.last_error else tip
            if column == 5 and info.circuit != "closed":
                return STATUS_TIPS["circuit_open"]
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == STATUS_COLUMN:
            return f"Status: {status_text(status)[2:]}"
        return None


class StatusBadgeDelegate(QStyledItemDelegate):
    """Paints the status cell as a rounded badge: tinted background, coloured symbol and
    word. Selection still paints the row's highlight underneath."""

    def __init__(self, colours: Callable[[], Mapping[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self._colours = colours

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        status = index.data(StatusRole)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        style_option = QStyleOptionViewItem(option)
        self.initStyleOption(style_option, index)
        style_option.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, style_option, painter, widget)
        colour = QColor(status_colour(status, self._colours()))
        metrics = QFontMetrics(option.font)
        rect = option.rect
        width = metrics.horizontalAdvance(text) + 16
        height = metrics.height() + 4
        badge = QRectF(rect.x() + 6, rect.center().y() - height / 2 + 0.5, width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(colour)
        fill.setAlpha(36)
        painter.setBrush(fill)
        border = QColor(colour)
        border.setAlpha(120)
        painter.setPen(QPen(border, 1))
        painter.drawRoundedRect(badge, height / 2, height / 2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(
            QColor(self._colours().get("accent_text", "#ffffff")) if selected else colour
        )
        painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 20, max(size.height(), 26))
