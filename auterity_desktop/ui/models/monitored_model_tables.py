"""The Models page's tables: monitored models with their volume and last drift verdict,
and one drift report's features with test, statistic, p-value, threshold and verdict.

Both keep the service's frozen rows as they came (``ModelInfo``, ``FeatureDrift``) and
format them; ``SortRole`` gives raw values so numbers sort as numbers. A verdict is a word
and a colour (never colour alone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from auterity_desktop.services.monitoring.drift import P_VALUE_TESTS, TEST_NAMES
from auterity_desktop.ui.models.rows_model import KeyedRowsModel, SortRole
from auterity_desktop.ui.models.run_display import format_time

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
Colours = Callable[[], Mapping[str, str]]


def number(value: float | None) -> str:
    """Four significant digits; tiny and huge values in scientific notation."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e6:
        return f"{value:.2e}"
    return f"{value:.4g}"


def threshold_text(test: str, threshold: float) -> str:
    if test == "none":
        return "—"
    return f"p ≤ {threshold:g}" if test in P_VALUE_TESTS else f"≥ {threshold:g}"


def drift_verdict(dataset_drift: bool | None, share: float | None) -> str:
    if dataset_drift is None:
        return "not checked"
    share_text = f" ({share:.0%})" if share is not None else ""
    return ("Drift" if dataset_drift else "No drift") + share_text


class ModelTableModel(KeyedRowsModel):
    headers = ("Model", "Version", "Task", "Predictions", "Labelled", "Last drift check", "Checked")
    NUMERIC = frozenset({3, 4})

    def __init__(self, colours: Colours) -> None:
        super().__init__()
        self._colours = colours

    def key(self, row: Any) -> tuple[str, str]:
        return (row.name, row.version)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                m.name, m.version, m.task, f"{m.predictions:,}", f"{m.labelled:,}",
                drift_verdict(m.last_dataset_drift, m.last_drift_share),
                format_time(m.last_drift_at, seconds=False),
            )[column]  # fmt: skip
        if role == SortRole:
            return (
                m.name.lower(), m.version, m.task, m.predictions, m.labelled,
                -1 if m.last_dataset_drift is None else m.last_drift_share,
                m.last_drift_at or 0.0,
            )[column]  # fmt: skip
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.NUMERIC:
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == 5:
            colours = self._colours()
            if m.last_dataset_drift is True:
                return QColor(colours["error"])
            if m.last_dataset_drift is False:
                return QColor(colours["ok"])
            return QColor(colours["muted_text"])
        if role == Qt.ItemDataRole.ForegroundRole and column == 0 and m.degraded:
            return QColor(self._colours()["warning"])
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            features = ", ".join(f"{n} ({k})" for n, k in m.features.items())
            degraded = f"\nDegraded: {', '.join(m.degraded)}" if m.degraded else ""
            return (
                f"{m.name} {m.version} — {m.task}, target {m.target or 'not named'}\n"
                f"Features: {features}\nReference: {m.reference_rows:,} rows{degraded}"
            )
        return None


class DriftTableModel(KeyedRowsModel):
    headers = ("Feature", "Kind", "Test", "Statistic", "p-value", "Threshold", "Verdict")
    NUMERIC = frozenset({3, 4})

    def __init__(self, colours: Colours) -> None:
        super().__init__()
        self._colours = colours

    def key(self, row: Any) -> str:
        return str(row.feature)

    @staticmethod
    def verdict(f: Any) -> str:
        if f.test == "none":
            return "Not tested"
        return "Drift" if f.drifted else "OK"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        f = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                f.feature, f.kind, TEST_NAMES.get(f.test, f.test), number(f.statistic),
                number(f.p_value), threshold_text(f.test, f.threshold), self.verdict(f),
            )[column]  # fmt: skip
        if role == SortRole:
            return (
                f.feature.lower(), f.kind, f.test, f.statistic or 0.0,
                1.0 if f.p_value is None else f.p_value, f.threshold,
                (2 if f.drifted else 1 if f.test != "none" else 0),
            )[column]  # fmt: skip
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.NUMERIC:
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == 6:
            colours = self._colours()
            key = "error" if f.drifted else "ok" if f.test != "none" else "muted_text"
            return QColor(colours[key])
        if role == Qt.ItemDataRole.FontRole and column == 6 and f.drifted:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            counts = f"{f.reference_count:,} reference values vs {f.current_count:,} current"
            return f"{counts}" + (f"\n{f.note}" if f.note else "")
        return None
