"""The Alerts page's tables: open alerts, past alerts, rules and silences.

Each model keeps the service's frozen rows (``Alert``, ``AlertRule``, ``Silence``) as they
came and formats them; a reload replaces them. Rows are matched by id so a live refresh
keeps the selection. ``SortRole`` gives raw values so times and values sort as numbers.
Severity and state are written out with a dot in front, so colour is not the only cue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from auterity_desktop.services.monitoring.alert_rules import KIND_TITLES
from auterity_desktop.ui.models.rows_model import KeyedRowsModel, SortRole
from auterity_desktop.ui.models.run_display import format_duration, format_time

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
SEVERITY_COLOURS = {"critical": "error", "warning": "warning", "info": "accent"}
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
STATE_COLOURS = {"firing": "error", "pending": "warning", "resolved": "ok"}


def labels_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "—"


def value_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:.4g}"


def severity_text(severity: str) -> str:
    return f"● {severity}"


def notify_text(notify: Mapping[str, Any] | None) -> str:
    if not notify:
        return "in the app"
    target = ", ".join(notify.get("recipients") or []) or notify.get("path") or ""
    return f"{notify['integration']}" + (f" → {target}" if target else "")


class _KeyedModel(KeyedRowsModel):
    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours

    def _colour(self, key: str) -> QColor:
        colours = self._colours()
        return QColor(colours.get(key, colours.get("text", "#000000")))


class OpenAlertTableModel(_KeyedModel):
    headers = ("Severity", "Alert", "Labels", "Value", "State", "Since", "Acknowledged")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            state = a.state + (" · silenced" if a.silenced else "")
            return (
                severity_text(a.severity),
                a.name,
                labels_text(a.labels),
                value_text(a.value),
                f"● {state}",
                _since(a.fired_at or a.started_at),
                a.acknowledged_by or "—",
            )[column]
        if role == SortRole:
            return (
                SEVERITY_RANK.get(a.severity, 9), a.name.lower(), labels_text(a.labels),
                a.value if a.value is not None else float("-inf"), a.state,
                a.fired_at or a.started_at, a.acknowledged_by or "",
            )[column]  # fmt: skip
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 0:
                return self._colour(SEVERITY_COLOURS.get(a.severity, "text"))
            if column == 4:
                return self._colour("muted_text" if a.silenced else STATE_COLOURS[a.state])
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                return a.message
            if column == 4 and a.silenced:
                return f"Silenced until {format_time(a.silenced_until)}: {a.silence_reason}"
            if column == 6 and a.acknowledged_by:
                note = f": {a.ack_note}" if a.ack_note else ""
                return f"{a.acknowledged_by}, {format_time(a.acknowledged_at)}{note}"
            if column == 5:
                return f"Since {format_time(a.fired_at or a.started_at)}"
        return None


class PastAlertTableModel(_KeyedModel):
    headers = ("Severity", "Alert", "Labels", "Fired", "Resolved", "Lasted", "Acknowledged")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self._rows[index.row()]
        column = index.column()
        began = a.fired_at or a.started_at
        lasted = (a.resolved_at - began) if a.resolved_at else None
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                severity_text(a.severity),
                a.name,
                labels_text(a.labels),
                format_time(began),
                format_time(a.resolved_at),
                format_duration(lasted),
                a.acknowledged_by or "—",
            )[column]
        if role == SortRole:
            return (
                SEVERITY_RANK.get(a.severity, 9), a.name.lower(), labels_text(a.labels), began,
                a.resolved_at or 0.0, lasted or 0.0, a.acknowledged_by or "",
            )[column]  # fmt: skip
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return self._colour(SEVERITY_COLOURS.get(a.severity, "text"))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 5:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return a.message
        return None


class RuleTableModel(_KeyedModel):
    headers = ("On", "Rule", "Kind", "Condition", "Severity", "Notify")

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__(colours)
        self.firing: dict[str, int] = {}  # rule id → open alerts

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if r.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            name = r.name + (f"  ({self.firing[r.id]} open)" if self.firing.get(r.id) else "")
            return (
                "",
                name,
                KIND_TITLES.get(r.kind, r.kind),
                r.condition,
                severity_text(r.severity),
                notify_text(r.spec.notify),
            )[column]
        if role == SortRole:
            return (
                not r.enabled, r.name.lower(), r.kind, r.condition,
                SEVERITY_RANK.get(r.severity, 9), notify_text(r.spec.notify),
            )[column]  # fmt: skip
        if role == Qt.ItemDataRole.ForegroundRole:
            if not r.enabled and column > 0:
                return self._colour("disabled_text")
            if column == 4:
                return self._colour(SEVERITY_COLOURS.get(r.severity, "text"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                origin = " (a default rule)" if r.builtin else ""
                return (r.spec.description or r.name) + origin
            if column == 0:
                return "Enabled" if r.enabled else "Disabled: not evaluated"
        return None


class SilenceTableModel(_KeyedModel):
    headers = ("Silenced", "Reason", "Until", "By")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (s.target, s.reason, format_time(s.ends_at), s.created_by)[column]
        if role == SortRole:
            return (s.target, s.reason, s.ends_at, s.created_by)[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return s.reason
        return None


def ago(seconds: float) -> str:
    """``just now``, ``45 s ago``, ``3 min ago``, ``2 h ago``, ``4 d ago``."""
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 2 * 86_400:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86_400:.0f} d ago"


def _since(timestamp: float, now: float | None = None) -> str:
    """``10:42:23 · 3 min ago`` today, ``2026-11-26 10:42 · 1 d ago`` before."""
    now = time.time() if now is None else now
    shown = format_time(timestamp)
    today = shown[:10] == format_time(now)[:10]
    shown = shown[11:] if today else shown[:16]
    return f"{shown} · {ago(now - timestamp)}" if now >= timestamp else shown
