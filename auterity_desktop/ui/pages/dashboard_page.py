"""Dashboard: today's KPIs and a grid of charts of the product's metrics over any range.

The tiles show today's runs, success rate, 95th-percentile node latency, queue depth and
firing alerts, refreshed every few seconds and whenever a run finishes. Each user arranges
their own grid (add, configure, remove charts; 1-4 columns), kept per user name in the
window-state file together with the chosen range.

*Live · 5 min* fills the charts from the stored history once, then appends the
performance service's live values every second without asking the history again. *1 h*,
*24 h*, *7 d* and a custom range read the stored history (the service picks raw samples or
minute or hour rollups) in a worker thread, again every half minute for ranges ending now.
*Pause* freezes the picture; live values keep arriving and show on *Resume*. The grid
exports as a PNG and the data it shows as CSV.

pyqtgraph and numpy are imported only when the charts are first built, after sign-in, so
the window opens without them.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.events import Event
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.dashboard_layout import (
    CUSTOM,
    LIVE,
    MAX_CHARTS,
    RANGES,
    ChartSpec,
    DashboardLayout,
    SeriesSpec,
    default_layout,
    load_layout,
    save_layout,
)
from auterity_desktop.ui.widgets.dashboard_tiles import DashboardTilesWidget
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget

if TYPE_CHECKING:
    from auterity_desktop.ui.widgets.chart_widget import ChartWidget
    from auterity_desktop.ui.widgets.dashboard_grid import DashboardGridWidget

LIVE_MS = 1000  # live values, once a second
HISTORY_REFRESH_MS = 30_000  # ranges that end now are read again this often
KPI_MS = 5000
EVENT_DELAY_MS = 300
MAX_POINTS = 1000  # per series and range; a chart is narrower than this in pixels
LIVE_KEEP = 1.2  # live charts keep this many windows of points
KPI_EVENTS = frozenset(
    {"run_finished", "alert_firing", "alert_resolved", "queue_declared", "team_resync"}
)


def labels_key(labels: dict[str, str] | None) -> str:
    from auterity_desktop.services.monitoring.metric_store import labels_key as canonical

    return canonical(labels)


class DashboardPage(ServicePage):
    sig_loaded = Signal()  # the charts show the stored history of the current range
    sig_live_tick = Signal()  # live values were appended
    sig_kpis_loaded = Signal()
    sig_layout_changed = Signal()

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_dashboard")
        self.layout_spec: DashboardLayout = default_layout()
        self.username: str | None = None
        self.grid: DashboardGridWidget | None = None
        self.paused = False
        self.kpis: Any = None
        self.window_bounds: tuple[float, float] | None = None
        self._kinds: dict[str, str] = {}  # metric → "gauge" | "counter", as stored
        self._stale = True  # the charts need the history read again
        self.reload = Coalesced(self, self._load_history)
        self.reload_kpis = Coalesced(self, self._load_kpis)
        self.tick_live = Coalesced(self, self._live_tick)

        self.tiles: DashboardTilesWidget | None = None  # built at the first sign-in
        self.chart_dialog: Any = None
        self.range_dialog: Any = None

        # the charts (built after sign-in) or what to do without any
        self.empty = EmptyStateWidget()
        self.empty.set_text("Sign in to see the dashboard", "")
        self.empty_add = self.empty.add_button("Add chart")
        self.empty_add.clicked.connect(lambda: self.open_chart_dialog(None))
        self.empty_add.hide()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.area = QStackedWidget()
        self.area.addWidget(self.empty)
        self.area.addWidget(self.scroll)

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addWidget(self.area, 1)
        layout.addWidget(self.message)

        context_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=context_)

        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_MS)
        self.live_timer.timeout.connect(self._on_live_timer)
        self.history_timer = QTimer(self)
        self.history_timer.setInterval(HISTORY_REFRESH_MS)
        self.history_timer.timeout.connect(self._on_history_timer)
        self.kpi_timer = QTimer(self)
        self.kpi_timer.setInterval(KPI_MS)
        self.kpi_timer.timeout.connect(self._on_kpi_timer)
        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(EVENT_DELAY_MS)
        self.soon.timeout.connect(self._on_kpi_timer)
        context.bridge.sig_event.connect(self._on_event)
        context.session.sig_signed_out.connect(self._signed_out)
        context.theme.sig_theme_changed.connect(self._theme_changed)
        self.watch_session()

    def _build_controls(self) -> None:
        """The tiles and the toolbar: built at the first sign-in, as nothing before it can
        use them (and the window opens sooner)."""
        # toolbar: range, pause, charts, export
        self.range_buttons = QButtonGroup(self)
        self.range_buttons.setExclusive(True)
        ranges = QHBoxLayout()
        ranges.setSpacing(0)
        for key, (text, _seconds) in RANGES.items():
            button = QPushButton(text)
            button.setCheckable(True)
            button.setObjectName(f"Range_{key}")
            button.setToolTip(
                "Pick dates and times" if key == CUSTOM else f"Show the last {text.lower()}"
            )
            button.clicked.connect(lambda _checked=False, k=key: self.choose_range(k))
            self.range_buttons.addButton(button)
            ranges.addWidget(button)
        self.range_label = QLabel("")
        self.range_label.setObjectName("PageSubtitle")
        self.range_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the charts (Space)")
        self.pause_button.toggled.connect(self.set_paused)
        self.add_button = QPushButton("Add chart")
        self.add_button.setToolTip("Add a chart of any metric")
        self.add_button.clicked.connect(lambda: self.open_chart_dialog(None))
        self.columns = QActionGroup(self)
        self.columns.setExclusive(True)
        self.more_button = QToolButton()
        self.more_button.setText("More ▾")
        self.more_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")
        self.more_button.setToolTip("Columns and export")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more = QMenu(self)
        columns_menu = more.addMenu("Columns")
        for n in range(1, 5):
            action = columns_menu.addAction(f"{n} column{'s' if n > 1 else ''}")
            action.setCheckable(True)
            action.setData(n)
            action.triggered.connect(lambda _checked=False, n=n: self.set_columns(n))
            self.columns.addAction(action)
        more.addSeparator()
        more.addAction("Export charts as PNG…", self.ask_export_png)
        more.addAction("Export shown data as CSV…", self.ask_export_csv)
        self.more_button.setMenu(more)
        toolbar = QHBoxLayout()
        toolbar.addLayout(ranges)
        toolbar.addSpacing(8)
        toolbar.addWidget(self.range_label, 1)
        toolbar.addWidget(self.pause_button)
        toolbar.addWidget(self.add_button)
        toolbar.addWidget(self.more_button)

        self.tiles = DashboardTilesWidget()
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, self.tiles)
        layout.insertSpacing(2, 6)
        layout.insertLayout(3, toolbar)
        QShortcut(
            QKeySequence("Space"),
            self,
            activated=self.pause_button.toggle,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self._theme_changed(self.context.theme.current)
        self._show_range_state()

    # -- session, theme, visibility -----------------------------------------------------
    def on_signed_in(self, principal: Any) -> None:
        if self.tiles is None:
            self._build_controls()
        if self.username != principal.username or self.grid is None:
            self.username = principal.username
            self.layout_spec = load_layout(self._state(), principal.username)
            self._build_charts()
        self.live_timer.start()
        self.history_timer.start()
        self.kpi_timer.start()
        self._stale = True
        self.refresh()

    def _signed_out(self, _reason: str) -> None:
        for timer in (self.live_timer, self.history_timer, self.kpi_timer, self.soon):
            timer.stop()

    def _theme_changed(self, _name: str) -> None:
        colours = self._colours()
        if self.tiles is not None:
            self.tiles.apply_colours(colours)
        if self.grid is not None:
            self.grid.apply_colours(colours)
            self.grid.redraw()
        self.setStyleSheet(
            f"QPushButton[checkable='true']:checked {{ background: {colours['accent']};"
            f" color: {colours['accent_text']}; border-color: {colours['accent']}; }}"
        )

    def _state(self) -> QSettings:
        from auterity_desktop.ui.main_window import window_state

        return window_state(self.context.settings)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale and self._live():
            self.refresh()

    # -- layout -------------------------------------------------------------------------
    def _build_charts(self) -> None:
        from auterity_desktop.ui.widgets.dashboard_grid import DashboardGridWidget

        if self.grid is None:
            self.grid = DashboardGridWidget(self._colours(), self.layout_spec.columns)
            self.scroll.setWidget(self.grid)
        self.grid.clear()
        self.grid.set_columns(self.layout_spec.columns)
        for chart in self.layout_spec.charts:
            self._add_chart_widget(chart)
        self._check_columns()
        self._show_range_state()
        self._show_area()

    def _add_chart_widget(self, spec: ChartSpec) -> ChartWidget:
        assert self.grid is not None
        chart = self.grid.add_chart(spec.title)
        chart.sig_configure.connect(lambda c=chart: self.open_chart_dialog(c))
        chart.sig_remove.connect(lambda c=chart: self.remove_chart(self.grid_index(c)))
        from auterity_desktop.ui.widgets.chart_series import unit_of

        first = spec.series[0].metric if spec.series else ""
        chart.set_unit(unit_of(first, self._kinds.get(first, "")))
        return chart

    def _show_area(self) -> None:
        if self.grid is not None and self.grid.charts:
            self.area.setCurrentWidget(self.scroll)
            return
        self.empty.set_text(
            "No charts",
            "Add a chart to watch workflow runs, queues, integrations or this computer's "
            "resources.",
        )
        self.empty_add.setVisible(self.grid is not None)
        self.area.setCurrentWidget(self.empty)

    def grid_index(self, chart: ChartWidget) -> int:
        assert self.grid is not None
        return self.grid.charts.index(chart)

    def _save(self) -> None:
        if self.username is not None:
            save_layout(self._state(), self.username, self.layout_spec)
        self.sig_layout_changed.emit()

    def add_chart(self, spec: ChartSpec) -> None:
        if len(self.layout_spec.charts) >= MAX_CHARTS:
            self.show_message(f"A dashboard holds at most {MAX_CHARTS} charts.", error=True)
            return
        self.layout_spec.charts.append(spec)
        self._add_chart_widget(spec)
        self._show_area()
        self._save()
        self._stale = True
        self.refresh()

    def configure_chart(self, index: int, spec: ChartSpec) -> None:
        assert self.grid is not None
        self.layout_spec.charts[index] = spec
        chart = self.grid.charts[index]
        chart.set_title(spec.title)
        from auterity_desktop.ui.widgets.chart_series import unit_of

        first = spec.series[0].metric if spec.series else ""
        chart.set_unit(unit_of(first, self._kinds.get(first, "")))
        self._save()
        self._stale = True
        self.refresh()

    def remove_chart(self, index: int) -> None:
        assert self.grid is not None
        del self.layout_spec.charts[index]
        self.grid.remove_chart(self.grid.charts[index])
        self._show_area()
        self._save()

    def set_columns(self, columns: int) -> None:
        self.layout_spec.columns = max(1, min(columns, 4))
        self._check_columns()
        if self.grid is not None:
            self.grid.set_columns(self.layout_spec.columns)
        self._save()

    def _check_columns(self) -> None:
        for action in self.columns.actions():
            action.setChecked(action.data() == self.layout_spec.columns)

    def open_chart_dialog(self, chart: ChartWidget | None) -> Any:
        """Add a chart (``chart`` None) or change one, choosing among the known series."""
        if not self._live():
            return None
        index = None if chart is None else self.grid_index(chart)
        current = ChartSpec("", []) if index is None else self.layout_spec.charts[index]
        return self.context.tasks.spawn(
            self._open_chart_dialog(index, current), on_error=self.failed
        )

    async def _open_chart_dialog(self, index: int | None, current: ChartSpec) -> Any:
        from auterity_desktop.ui.widgets.dashboard_dialogs import ChartConfigDialog

        available = await self.platform.performance.available_series()
        dialog = ChartConfigDialog(current, available, self)

        def done(result: int) -> None:
            if result != ChartConfigDialog.DialogCode.Accepted:
                return
            if index is None:
                self.add_chart(dialog.spec())
            else:
                self.configure_chart(index, dialog.spec())

        dialog.finished.connect(done)
        self.chart_dialog = dialog
        dialog.open()
        return dialog

    # -- range and pause ----------------------------------------------------------------
    @property
    def range_key(self) -> str:
        return self.layout_spec.range

    def choose_range(self, key: str) -> Any:
        """Switch to a range; ``custom`` asks for the dates."""
        if key == CUSTOM:
            self._show_range_state()  # the old choice stays checked until dates are given
            return self.open_range_dialog()
        self.layout_spec.range = key
        self._range_changed()
        return None

    def set_custom_range(self, start: float, end: float) -> None:
        self.layout_spec.range = CUSTOM
        self.layout_spec.custom = (start, end)
        self._range_changed()

    def open_range_dialog(self) -> Any:
        from auterity_desktop.ui.widgets.dashboard_dialogs import CustomRangeDialog

        start, end = self.layout_spec.custom or (time.time() - 86_400, time.time())
        dialog = CustomRangeDialog(start, end, self)

        def done(result: int) -> None:
            if result == CustomRangeDialog.DialogCode.Accepted:
                self.set_custom_range(*dialog.bounds())

        dialog.finished.connect(done)
        self.range_dialog = dialog
        dialog.open()
        return dialog

    def _range_changed(self) -> None:
        self._show_range_state()
        self._save()
        self._stale = True
        self.refresh()

    def bounds(self, now: float | None = None) -> tuple[float, float]:
        now = time.time() if now is None else now
        if self.range_key == CUSTOM and self.layout_spec.custom:
            return self.layout_spec.custom
        seconds = RANGES[self.range_key][1] or 300.0
        return now - seconds, now

    def _show_range_state(self) -> None:
        if self.tiles is None:
            return
        for button in self.range_buttons.buttons():
            button.setChecked(button.objectName() == f"Range_{self.range_key}")
        if self.range_key == CUSTOM and self.layout_spec.custom:
            from auterity_desktop.ui.models.run_display import format_time

            start, end = self.layout_spec.custom
            text = f"{format_time(start)} – {format_time(end)}"
        elif self.range_key == LIVE:
            text = "the last 5 minutes, a new point every second"
        else:
            text = "from the stored history"
        if self.paused:
            text += " · paused"
        self.range_label.setText(text)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if self.tiles is None:
            return
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
            return
        self.pause_button.setText("Resume" if paused else "Pause")
        self._show_range_state()
        if not paused:
            if self.range_key == LIVE and not self._stale:
                self._redraw()
            else:
                self.refresh()

    # -- loading ------------------------------------------------------------------------
    def refresh(self) -> Any:
        """Read the KPIs and the history of the current range again (F5)."""
        if not self._live():
            return None
        self.reload_kpis()
        if self.paused and not self._stale:
            return None
        return self.reload()

    def _wanted(self) -> list[tuple[str, dict[str, str] | None]]:
        seen: dict[tuple[str, str], tuple[str, dict[str, str] | None]] = {}
        for chart in self.layout_spec.charts:
            for series in chart.series:
                key = (series.metric, "*" if series.labels is None else labels_key(series.labels))
                seen.setdefault(key, (series.metric, series.labels))
        return list(seen.values())

    async def _load_history(self) -> None:
        if self.grid is None:
            return
        import numpy as np

        from auterity_desktop.ui.widgets.chart_series import unit_of

        start, end = self.bounds()
        layout = self.layout_spec
        found = await self.platform.performance.series_many(self._wanted(), start, end, MAX_POINTS)
        if self.grid is None or layout is not self.layout_spec:
            return
        if len(self.grid.charts) != len(layout.charts):  # edited meanwhile: read again
            self._stale = True
            self.reload()
            return
        now = time.time()
        for data in found:
            if data.kind:
                self._kinds[data.metric] = data.kind
        for chart, spec in zip(self.grid.charts, layout.charts, strict=True):
            first = spec.series[0].metric if spec.series else ""
            unit = unit_of(first, self._kinds.get(first, ""))
            chart.set_unit(unit)
            keys: list[tuple[str, str]] = []
            points: dict[Any, tuple[Any, Any]] = {}
            for data in found:
                if not any(_matches(s, data.metric, data.labels) for s in spec.series):
                    continue
                key = (data.metric, labels_key(data.labels))
                if key in points:
                    continue
                keys.append(key)
                points[key] = (
                    np.asarray(data.t, dtype=np.float64),
                    np.asarray(data.values(now), dtype=np.float64) * unit.scale,
                )
            for series in spec.series:  # chosen but never stored: a legend entry, no line
                if series.labels is not None:
                    key = (series.metric, labels_key(series.labels))
                    if key not in points:
                        keys.append(key)
            chart.set_curves(_named(keys, self._queue_titles()))
            chart.clear_data()
            for key, (t, v) in points.items():
                chart.set_history(key, t, v)
        self.window_bounds = (start, end)
        self._stale = False
        self._redraw()
        self.sig_loaded.emit()

    def _redraw(self) -> None:
        if self.grid is None:
            return
        live = self.range_key == LIVE
        start, end = self.bounds() if live else (self.window_bounds or self.bounds())
        self.window_bounds = (start, end)
        self.grid.set_window(start, end, live=live)
        self.grid.redraw()

    def _queue_titles(self) -> dict[str, str]:
        return self.platform.message_triggers.titles

    def _on_live_timer(self) -> None:
        if self.range_key == LIVE and self._live() and self.isVisible() and not self._stale:
            self.tick_live()

    async def _live_tick(self) -> None:
        if self.grid is None or self.range_key != LIVE:
            return
        from auterity_desktop.ui.widgets.chart_series import unit_of

        sample = await self.platform.performance.live()
        if self.grid is None or self.range_key != LIVE or self._stale:
            return
        if len(self.grid.charts) != len(self.layout_spec.charts):
            return  # a chart is being added: the history load that follows fills it
        window = RANGES[LIVE][1] or 300.0
        for chart, spec in zip(self.grid.charts, self.layout_spec.charts, strict=True):
            first = spec.series[0].metric if spec.series else ""
            unit = unit_of(first, self._kinds.get(first, ""))
            for (metric, key_text), value in sample.values.items():
                if not any(_matches_key(s, metric, key_text) for s in spec.series):
                    continue
                key = (metric, key_text)
                if key not in chart.curves:  # e.g. a queue declared since the history load
                    chart.set_curves(_named([*chart.curves, key], self._queue_titles()))
                if math.isfinite(value):
                    chart.append(key, sample.at, value * unit.scale)
            for curve in chart.curves.values():
                curve.buffer.drop_before(sample.at - window * LIVE_KEEP)
        if not self.paused:
            self._redraw()
        self.sig_live_tick.emit()

    def _on_history_timer(self) -> None:
        if (
            self.range_key not in (LIVE, CUSTOM)
            and not self.paused
            and self._live()
            and self.isVisible()
        ):
            self.reload()

    def _on_kpi_timer(self) -> None:
        if self._live() and self.isVisible():
            self.reload_kpis()

    def _on_event(self, event: Event) -> None:
        if event.name in KPI_EVENTS and self._live():
            self.soon.start()
        elif event.name == "platform_stopping":
            self.stopped = True
            self._signed_out("")

    async def _load_kpis(self) -> None:
        kpis = await self.platform.performance.kpis()
        self.kpis = kpis
        if self.tiles is not None:
            self.tiles.show_kpis(kpis)
        self.sig_kpis_loaded.emit()

    # -- export -------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> None:
        if self.grid is None:
            raise ValueError("no charts to export")
        if not self.grid.grab().save(str(path), "PNG"):
            raise OSError(f"Could not write {path}")

    def export_csv(self, path: str | Path) -> int:
        """Write every point the charts show; returns the number of data rows."""
        from datetime import datetime

        rows = 0
        with open(path, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["chart", "series", "unit", "time", "timestamp", "value"])
            for chart in self.grid.charts if self.grid else []:
                unit = chart.unit.label
                for name, t, v in chart.visible_points():
                    for moment, value in zip(t.tolist(), v.tolist(), strict=True):
                        shown = datetime.fromtimestamp(moment).astimezone()
                        out.writerow(
                            [
                                chart.title.text(),
                                name,
                                unit,
                                shown.isoformat(timespec="seconds"),
                                f"{moment:.3f}",
                                repr(value),
                            ]
                        )
                        rows += 1
        return rows

    def ask_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export charts", "dashboard.png", "PNG images (*.png)"
        )
        if path:
            self._export(lambda: self.export_png(path), f"Saved the charts as {path}")

    def ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export chart data", "dashboard.csv", "CSV files (*.csv)"
        )
        if path:
            self._export(lambda: self.export_csv(path), f"Saved the shown data as {path}")

    def _export(self, work: Any, done: str) -> None:
        try:
            work()
        except (OSError, ValueError) as exc:
            self.show_message(f"Export failed: {exc}", error=True)
        else:
            self.show_message(done)


def _named(
    keys: list[tuple[str, str]], queue_titles: dict[str, str]
) -> list[tuple[tuple[str, str], str, str]]:
    """(key, legend name, full name) of a chart's (metric, labels key) series. The legend
    names a message trigger's queue by its workflow and node; the full name (in the entry's
    tooltip and in exports) keeps the queue's own name, which the Messages page lists."""
    import json

    from auterity_desktop.ui.widgets.chart_series import legend_names, series_label

    series = [(metric, json.loads(text)) for metric, text in keys]
    short = legend_names(
        [
            (metric, {k: queue_titles.get(v, v) if k == "queue" else v for k, v in labels.items()})
            for metric, labels in series
        ]
    )
    return [
        (key, name, series_label(metric, labels))
        for key, name, (metric, labels) in zip(keys, short, series, strict=True)
    ]


def _matches(spec: SeriesSpec, metric: str, labels: dict[str, str]) -> bool:
    return spec.metric == metric and (spec.labels is None or spec.labels == labels)


def _matches_key(spec: SeriesSpec, metric: str, key_text: str) -> bool:
    if spec.metric != metric:
        return False
    return spec.labels is None or labels_key(spec.labels) == key_text
