"""The dashboard's KPI tiles: runs today, success rate, p95 node latency, queue depth and
firing alerts, each a big number with one line saying what it counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

NO_VALUE = "–"
TILES = (
    ("runs", "Runs today"),
    ("success", "Success rate"),
    ("latency", "p95 node latency"),
    ("queue", "Queue depth"),
    ("alerts", "Firing alerts"),
)


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


class DashboardTileWidget(QFrame):
    def __init__(self, key: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DashboardTile")
        self.key = key
        self.title = QLabel(title)
        self.title.setObjectName("TileTitle")
        self.value = QLabel(NO_VALUE)
        self.value.setObjectName("TileValue")
        self.value.setAccessibleName(title)
        self.caption = QLabel("")
        self.caption.setObjectName("TileCaption")
        for label in (self.title, self.caption):  # a narrow window clips them, not the page
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)

    def show_value(self, value: str, caption: str, state: str = "") -> None:
        """``state`` "error" or "ok" colours the number."""
        self.value.setText(value)
        self.caption.setText(caption)
        self.value.setProperty("state", state)
        self.value.style().unpolish(self.value)
        self.value.style().polish(self.value)


class DashboardTilesWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = {key: DashboardTileWidget(key, title) for key, title in TILES}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        for tile in self.tiles.values():
            layout.addWidget(tile, 1)

    def apply_colours(self, colours: Mapping[str, str]) -> None:
        self.setStyleSheet(
            f"#DashboardTile {{ background: {colours['surface']}; border: 1px solid "
            f"{colours['border']}; border-radius: 8px; }}"
            f"#TileTitle {{ color: {colours['muted_text']}; font-weight: 600; }}"
            f"#TileValue {{ font-size: 24px; font-weight: 600; }}"
            f"#TileValue[state='error'] {{ color: {colours['error']}; }}"
            f"#TileValue[state='ok'] {{ color: {colours['ok']}; }}"
            f"#TileCaption {{ color: {colours['muted_text']}; }}"
        )

    def text(self, key: str) -> str:
        return str(self.tiles[key].value.text())

    def show_kpis(self, kpis: Any) -> None:
        """Fill the tiles from the performance service's ``Kpis``."""
        runs = self.tiles["runs"]
        if kpis.runs_today:
            failed = f"{kpis.failed_today} failed" if kpis.failed_today else "none failed"
            runs.show_value(f"{kpis.runs_today:,}", failed)
        else:
            runs.show_value("0", "none yet")
        success = self.tiles["success"]
        if kpis.success_rate is None:
            success.show_value(NO_VALUE, "no run has ended today")
        else:
            ended = kpis.succeeded_today + kpis.failed_today
            state = (
                "ok" if kpis.success_rate >= 0.95 else "error" if kpis.success_rate < 0.8 else ""
            )
            success.show_value(
                f"{kpis.success_rate * 100:.0f} %",
                f"{kpis.succeeded_today} of {ended} ended runs",
                state,
            )
        latency = self.tiles["latency"]
        if kpis.p95_node_latency is None:
            latency.show_value(NO_VALUE, "no node finished today")
        else:
            latency.show_value(format_seconds(kpis.p95_node_latency), "nodes finished today")
        self.tiles["queue"].show_value(f"{kpis.queue_depth:,}", "messages in all queues")
        alerts = self.tiles["alerts"]
        if kpis.firing_alerts:
            alerts.show_value(f"{kpis.firing_alerts:,}", "need attention", "error")
        else:
            alerts.show_value("0", "all quiet", "ok")

    def clear(self) -> None:
        for tile in self.tiles.values():
            tile.show_value(NO_VALUE, "")
