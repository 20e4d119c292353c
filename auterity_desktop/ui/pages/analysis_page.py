"""Analysis: offline process mining of an event log, and the data sets behind reports.

*Process* opens an event log (CSV, XES, Parquet — or the product's own workflow runs) and
mines it: the process map (``ProcessMapWidget``) spans the width, and below it the cases
of a clicked path, the variants, a dotted chart, the histogram of case durations, the
bottlenecks and a conformance check against a Petri net. *Data sets* is
``DatasetsPanel``.

Reading and mining a large log takes seconds to minutes, so all of it runs in the
service's worker processes: the page shows a progress bar with Cancel (Esc) and stays usable.
The import reports bytes read on a service thread; those reports reach the GUI through a
queued signal. Every run of work carries a generation number, so what a cancelled or
superseded run delivers late is dropped instead of overwriting newer results. Mining needs
``analytics:execute``: a role without it sees the buttons disabled and why.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.services.samples.loader import EVENT_LOG as SAMPLE_LOG
from auterity_desktop.services.samples.loader import FOLDER as SAMPLES_FOLDER
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.dataset_panel import DatasetsPanel
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.mining_charts import DottedChartWidget, DurationHistogramWidget
from auterity_desktop.ui.widgets.mining_filter_dialog import LogFilterDialog
from auterity_desktop.ui.widgets.mining_views import (
    BottlenecksView,
    ConformanceView,
    EdgeCasesView,
    VariantsView,
)
from auterity_desktop.ui.widgets.process_map import ProcessMapWidget

PROCESS_TAB, DATASETS_TAB = range(2)
CASES, VARIANTS, DOTTED, DURATIONS, BOTTLENECKS, CONFORMANCE = range(6)
LOG_FILTER = "Event logs (*.csv *.xes *.xes.gz *.gz *.parquet);;All files (*)"
MODEL_FILTER = "Petri nets (*.pnml)"
EXPORT_FILTER = "Petri net (*.pnml);;BPMN (*.bpmn)"
MINING_STEPS = 4
PERMISSION = "analytics:execute"
NO_PERMISSION = (
    "Your role may look at analysis results but not run process mining (it needs the "
    "analytics execute permission) — ask an administrator."
)


def _button(text: str, tip: str, slot: Any, name: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    if name:
        button.setObjectName(name)
    button.clicked.connect(slot)
    return button


class AnalysisPage(ServicePage):
    sig_progress = Signal(int, object, object)  # generation, bytes read, total bytes
    sig_log_loaded = Signal()
    sig_analysed = Signal()  # map, variants, performance and dotted chart are shown
    sig_edge_cases = Signal(str, str)
    sig_conformance = Signal()
    sig_idle = Signal()  # a run of work ended (done, failed or cancelled)

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_analysis")
        self.log: Any = None  # what the views show: the source log, or it filtered
        self.source_log: Any = None
        self.filters: list[dict[str, Any]] = []
        self.filter_dialog: LogFilterDialog | None = None
        self.map_data: dict[str, Any] | None = None
        self.performance: dict[str, Any] | None = None
        self.variants: list[dict[str, Any]] = []
        self.busy: str | None = None  # what is running, for the progress line
        self._generation = 0
        self._cancel: threading.Event | None = None
        self._edge_request = 0
        self.sig_progress.connect(self._progress, Qt.ConnectionType.QueuedConnection)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("AnalysisTabs")
        self.tabs.addTab(self._build_process_tab(), "&Process")
        self.datasets = DatasetsPanel(context)
        self.tabs.addTab(self.datasets, "&Data sets")
        self.tabs.setTabToolTip(PROCESS_TAB, "Process mining of an event log")
        self.tabs.setTabToolTip(DATASETS_TAB, "Tables of data for reports and charts")

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)

        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        tab = self.process_tab
        QShortcut(QKeySequence.StandardKey.Open, tab, activated=self.choose_log, context=scope)
        QShortcut(QKeySequence("Escape"), tab, activated=self.cancel, context=scope)
        QShortcut(QKeySequence.StandardKey.Find, tab, activated=self.choose_filters, context=scope)
        context.bridge.sig_event.connect(self._on_event)
        context.theme.sig_theme_changed.connect(self._theme_changed)
        context.session.sig_signed_out.connect(self._signed_out)
        self._theme_changed()
        self._set_idle()
        self.watch_session()

    # -- building -----------------------------------------------------------------------
    def _build_process_tab(self) -> QWidget:
        self.open_button = _button(
            "&Open log…",
            "Read an event log: CSV, XES (.xes, .xes.gz) or Parquet (Ctrl+O)",
            self.choose_log,
            "OpenLogButton",
        )
        self.runs_button = _button(
            "Use workflow &runs",
            "Mine this product's own workflow runs: each run a case, each node an activity",
            self.use_runs,
            "UseRunsButton",
        )
        self.export_button = _button(
            "E&xport model…",
            "Mine a Petri net or BPMN model of the log (inductive miner) and save it",
            self.choose_export,
            "ExportModelButton",
        )
        self.filter_button = _button(
            "&Filter…",
            "Narrow the log: a period, the frequent variants, case duration or size, start "
            "and end activities, a path (Ctrl+F)",
            self.choose_filters,
            "FilterLogButton",
        )
        self.clear_filters_button = _button(
            "Clear filters", "Mine the whole log again", self.clear_filters, "ClearFiltersButton"
        )
        self.clear_filters_button.hide()
        self.log_label = QLabel("No event log open.")
        self.log_label.setObjectName("PageSubtitle")
        self.log_label.setWordWrap(True)  # a long name or filter note must not widen the page
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(0, 0, 0, 0)
        for widget in (
            self.open_button,
            self.runs_button,
            self.export_button,
            self.filter_button,
            self.clear_filters_button,
        ):
            toolbar.addWidget(widget)
        toolbar.addSpacing(12)
        toolbar.addWidget(self.log_label, 1)

        self.progress_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("MiningProgress")
        self.progress_bar.setMaximumWidth(320)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = _button(
            "Cancel", "Stop the running work (Esc)", self.cancel, "CancelMiningButton"
        )
        self.progress_row = QWidget()
        progress = QHBoxLayout(self.progress_row)
        progress.setContentsMargins(0, 0, 0, 0)
        progress.addWidget(self.progress_label)
        progress.addWidget(self.progress_bar, 1)
        progress.addWidget(self.cancel_button)
        progress.addStretch(1)
        self.status = QLabel("")  # what became of the last run: cancelled, failed
        self.status.setObjectName("PageSubtitle")
        self.status.setWordWrap(True)
        self.status.hide()

        self.map = ProcessMapWidget()
        self.map.sig_edge_clicked.connect(self.show_edge_cases)
        self.edge_cases = EdgeCasesView()
        self.variants_view = VariantsView()
        self.dotted = DottedChartWidget(self._colours)
        self.histogram = DurationHistogramWidget(self._colours)
        self.bottlenecks = BottlenecksView()
        self.bottlenecks.sig_selected.connect(self._bottleneck_selected)
        self.conformance = ConformanceView()
        self.conformance.sig_check.connect(self.choose_model)
        self.side = QTabWidget()
        self.side.setObjectName("MiningViews")
        views: tuple[tuple[QWidget, str, str], ...] = (
            (self.edge_cases, "Cases", "The cases of the path clicked on the map"),
            (
                self.variants_view,
                "Variants",
                "Distinct sequences of activities",
            ),
            (self.dotted, "Dotted chart", "Every event at its time, one row per case"),
            (self.histogram, "Durations", "How long cases take from first to last event"),
            (self.bottlenecks, "Bottlenecks", "Where the time goes between activities"),
            (self.conformance, "Conformance", "How well the log fits a process model"),
        )
        for view, title, tip in views:
            self.side.addTab(view, title)
            self.side.setTabToolTip(self.side.count() - 1, tip)

        # The map reads left to right, so it gets the full width; the views go below.
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.map)
        splitter.addWidget(self.side)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([380, 260])
        self.workspace = splitter

        self.empty = EmptyStateWidget()
        self.empty.set_text(
            "No event log open",
            "Open an event log — a CSV with a case id, an activity and a timestamp per row, "
            "an XES or a Parquet file — or mine this product's own workflow runs.",
        )
        self.empty_open = self.empty.add_button("Open log…", self.open_button.toolTip())
        self.empty_open.clicked.connect(self.choose_log)
        self.empty_runs = self.empty.add_button("Use workflow runs", self.runs_button.toolTip())
        self.empty_runs.clicked.connect(self.use_runs)
        self.empty_sample = self.empty.add_button(
            "Open the sample log",
            "The service department's repair orders from the dealership samples",
        )
        self.empty_sample.clicked.connect(lambda: self.open_log(self.sample_log()))

        self.process_tab = QWidget()
        layout = QVBoxLayout(self.process_tab)
        layout.addLayout(toolbar)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.status)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.workspace, 1)
        self.workspace.hide()
        return self.process_tab

    @property
    def mining(self) -> Any:
        return self.platform.process_mining

    # -- permissions and session --------------------------------------------------------
    def may_mine(self) -> bool:
        return self.has(PERMISSION)

    def _apply_permissions(self) -> None:
        allowed = self.may_mine()
        for button in (self.open_button, self.runs_button, self.empty_open, self.empty_runs):
            button.setEnabled(allowed)
        self.empty_sample.setEnabled(allowed)
        self.empty_sample.setVisible(self.sample_log().exists())
        self.export_button.setEnabled(allowed and self.log is not None)
        self.filter_button.setEnabled(allowed and self.source_log is not None)
        self.clear_filters_button.setEnabled(allowed)
        self.conformance.check_button.setEnabled(allowed and self.log is not None)
        if not allowed:
            self._set_status(NO_PERMISSION)
        elif self.status.text() == NO_PERMISSION:
            self._set_status("")

    def _set_status(self, text: str) -> None:
        """An empty line takes no room."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def on_signed_in(self, principal: Any) -> None:
        self._apply_permissions()

    def _signed_out(self, _reason: str) -> None:
        self.cancel(quiet=True)
        self._forget_log()

    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self.stopped = True
            self.cancel(quiet=True)

    def _theme_changed(self, _name: str = "") -> None:
        colours = self.context.theme.colors
        if colours:
            self.map.set_colors(colours)
            self.dotted.apply_theme()
            self.histogram.apply_theme()

    # -- running work -------------------------------------------------------------------
    def _begin(self, text: str, maximum: int) -> int:
        """Start a run of work (superseding any other); its generation number."""
        self._stop_current()
        self._generation += 1
        self.busy = text
        self.progress_label.setText(text)
        self.progress_bar.setRange(0, maximum)
        self.progress_bar.setValue(0)
        self.progress_row.show()
        self._set_status("")
        self.show_message("")
        return self._generation

    def _stop_current(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None

    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self.stopped

    def _set_idle(self) -> None:
        self.busy = None
        self._cancel = None
        self.progress_row.hide()
        self._apply_permissions()

    def _end(self, generation: int) -> None:
        if generation == self._generation:
            self._set_idle()
            self.sig_idle.emit()

    def cancel(self, quiet: bool = False) -> None:
        """Stop what runs: an import stops between chunks; a mining step still running in
        its thread finishes there, but its result is dropped."""
        if self.busy is None:
            return
        what = self.busy.rstrip("…").lower()
        self._stop_current()
        self._generation += 1
        self._set_idle()
        if not quiet:
            self._set_status(f"Cancelled ({what}).")
            self.show_message("Cancelled — the page shows what was finished before.")
        self.sig_idle.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if not isinstance(exc, ServiceError):
            self._end(generation)
            self.context.tasks.report_error(exc)
            return
        if not self._current(generation):
            return
        self._end(generation)
        if exc.code == ErrorCode.CANCELLED:
            self._set_status("Cancelled.")
            self.show_message("The import was cancelled.")
        else:
            self._set_status("")
            self.show_message(f"✖ {exc.message}", error=True)

    def _progress(self, generation: int, done: Any, total: Any) -> None:
        if generation != self._generation or not total or self.busy is None:
            return
        fraction = max(0.0, min(1.0, float(done) / float(total)))
        self.progress_bar.setValue(round(fraction * self.progress_bar.maximum()))

    def _step(self, generation: int, number: int, text: str) -> None:
        if self._current(generation):
            self.progress_bar.setValue(number)
            self.progress_label.setText(text)

    # -- opening a log ------------------------------------------------------------------
    def sample_log(self) -> Path:
        """Where the dealership samples put their event log (it may not be there)."""
        return Path(self.context.settings.data_dir) / SAMPLES_FOLDER / SAMPLE_LOG

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.empty_sample.setVisible(self.sample_log().exists())  # loaded since last shown

    def choose_log(self) -> Any:
        if not self._usable():
            return None
        samples = self.sample_log().parent  # a first look starts where the samples are
        start = str(samples) if samples.is_dir() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open event log", start, LOG_FILTER)
        return self.open_log(path) if path else None

    def _usable(self) -> bool:
        if not self._live():
            return False
        if not self.may_mine():
            self.show_message(NO_PERMISSION, error=True)
            return False
        return True

    def open_log(self, path: str | Path, mapping: dict[str, str | None] | None = None) -> Any:
        """Read ``path`` in the service's worker thread, then mine it."""
        if not self._usable():
            return None
        name = Path(path).name
        generation = self._begin(f"Reading {name}…", 1000)
        cancel = threading.Event()
        self._cancel = cancel

        def progress(done: int, total: int) -> None:  # called in a worker thread
            self.sig_progress.emit(generation, done, total)

        work = self.mining.import_log(
            self.context.session.require(), str(path), mapping, progress=progress, cancel=cancel
        )
        return self.context.tasks.spawn(
            work,
            on_done=lambda log: self._log_ready(generation, log),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def use_runs(self) -> Any:
        """Mine the product's own workflow runs."""
        if not self._usable():
            return None
        generation = self._begin("Reading workflow runs…", 0)
        work = self.mining.runs_log(self.context.session.require())
        return self.context.tasks.spawn(
            work,
            on_done=lambda log: self._log_ready(generation, log),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def _log_ready(self, generation: int, log: Any) -> None:
        if not self._current(generation):
            return
        self._cancel = None
        if getattr(log, "n_events", 0) == 0:
            self._end(generation)
            self.show_message("The log has no events to mine.", error=True)
            return
        self._forget_log()
        self.source_log = log
        self._show_log(generation, log)

    def _show_log(self, generation: int, log: Any) -> None:
        """Show ``log`` (the source log or it filtered) and mine it."""
        self.log = log
        name = getattr(log, "name", "") or "log"
        text = f"{name}: {log.n_events:,} events in {log.n_cases:,} cases"
        if self.filters:
            text += (
                f" (filtered from {self.source_log.n_cases:,} cases by "
                f"{len(self.filters)} filter{'s' if len(self.filters) > 1 else ''})"
            )
        self.log_label.setText(text)
        self.clear_filters_button.setVisible(bool(self.filters))
        self.edge_cases.clear()
        self.conformance.clear()
        self.empty.hide()
        self.workspace.show()
        self.sig_log_loaded.emit()
        self._analyse(generation)

    # -- filters ------------------------------------------------------------------------
    def choose_filters(self) -> LogFilterDialog | None:
        """Open the filter dialog on the source log; Apply mines the narrowed log."""
        if self.source_log is None or not self._usable():
            return None
        stamps = self.source_log.timestamps_ns()
        first, last = (
            datetime.fromtimestamp(int(x) / 1e9, UTC) for x in (stamps.min(), stamps.max())
        )
        dialog = LogFilterDialog(self.source_log.activities(), first, last, self.filters, self)
        dialog.accepted.connect(lambda: self.apply_filters(dialog.filters()))
        self.filter_dialog = dialog
        dialog.open()
        return dialog

    def apply_filters(self, filters: list[dict[str, Any]]) -> Any:
        """Narrow the source log by ``filters`` in the service and mine what is left; a
        filter list that leaves nothing keeps the current view."""
        if self.source_log is None or not self._usable():
            return None
        if not filters:
            return self.clear_filters()
        generation = self._begin("Filtering the log…", 0)
        wanted = [dict(f) for f in filters]
        work = self.mining.filter_log(self.context.session.require(), self.source_log, wanted)
        return self.context.tasks.spawn(
            work,
            on_done=lambda log: self._filtered(generation, log, wanted),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def _filtered(self, generation: int, log: Any, filters: list[dict[str, Any]]) -> None:
        if not self._current(generation):
            return
        if log.n_events == 0:
            self._end(generation)
            self.show_message(
                "No case passes these filters; the page still shows the previous view.",
                error=True,
            )
            return
        self.filters = filters
        self._show_log(generation, log)

    def clear_filters(self) -> Any:
        """Mine the whole source log again."""
        if self.source_log is None or not self._usable():
            return None
        generation = self._begin("Mining the whole log…", MINING_STEPS)
        self.filters = []
        self._show_log(generation, self.source_log)
        return None

    def _forget_log(self) -> None:
        self.log = None
        self.source_log = None
        self.filters = []
        self.clear_filters_button.hide()
        self.map_data = None
        self.performance = None
        self.variants = []
        self.map.clear()
        self.edge_cases.clear()
        self.conformance.clear()
        self.variants_view.show_variants([], None)
        self.bottlenecks.show_performance({})
        self.histogram.show_empty("No durations", "Open an event log to see how long cases take.")
        self.dotted.show_empty("No events", "Open an event log to see its events over time.")
        self.log_label.setText("No event log open.")
        self.workspace.hide()
        self.empty.show()

    # -- mining -------------------------------------------------------------------------
    def _analyse(self, generation: int) -> None:
        """Mine the open log step by step, showing each result as it arrives."""
        self.busy = "Mining…"
        self.progress_label.setText("Mining the process map…")
        self.progress_bar.setRange(0, MINING_STEPS)
        self.progress_bar.setValue(0)
        actor = self.context.session.require()
        mining, log = self.mining, self.log

        async def work() -> None:
            found = await mining.process_map(actor, log)
            if not self._current(generation):
                return
            self.map_data = found
            self.map.set_data(found)
            self._step(generation, 1, "Finding the variants…")
            variants = await mining.variants(actor, log)
            if not self._current(generation):
                return
            self.variants = list(variants)
            self.variants_view.show_variants(self.variants, getattr(log, "n_cases", None))
            self._step(generation, 2, "Measuring times…")
            performance = await mining.performance(actor, log)
            if not self._current(generation):
                return
            self.performance = performance
            self.bottlenecks.show_performance(performance)
            self.histogram.show_durations(
                performance.get("case_duration_values") or [],
                performance.get("case_durations"),
            )
            self._step(generation, 3, "Plotting the events…")
            chart = await mining.dotted_chart(actor, log)
            if not self._current(generation):
                return
            self.dotted.show_chart(chart)
            self._step(generation, 4, "Done")

        def done(_result: Any) -> None:
            if self._current(generation):
                self._end(generation)
                self.sig_analysed.emit()

        self.context.tasks.spawn(
            work(), on_done=done, on_error=lambda exc: self._failed(generation, exc)
        )

    # -- paths and their cases ----------------------------------------------------------
    def show_edge_cases(self, source: str, target: str) -> Any:
        """List the cases in which ``target`` directly follows ``source``."""
        if self.log is None or not self._usable():
            return None
        self._edge_request += 1
        request = self._edge_request
        self.map.select_edge(source, target)
        self.edge_cases.loading(source, target)
        self.side.setCurrentIndex(CASES)
        log = self.log
        work = self.mining.edge_cases(self.context.session.require(), log, source, target)
        edge = next(
            (
                e
                for e in (self.map_data or {}).get("edges", [])
                if e["source"] == source and e["target"] == target
            ),
            None,
        )

        def done(cases: Any) -> None:
            if request == self._edge_request and self.log is log:
                self.edge_cases.show_cases(source, target, list(cases), edge)
                self.sig_edge_cases.emit(source, target)

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def _bottleneck_selected(self, source: str, target: str) -> None:
        if self.map.select_edge(source, target):
            self.show_edge_cases(source, target)

    # -- conformance and export ---------------------------------------------------------
    def choose_model(self) -> Any:
        if self.log is None or not self._usable():
            return None
        path, _ = QFileDialog.getOpenFileName(self, "Check against model", "", MODEL_FILTER)
        return self.check_conformance(path) if path else None

    def check_conformance(self, pnml_path: str | Path) -> Any:
        """Replay the log on the Petri net at ``pnml_path`` and mark where it deviates."""
        if self.log is None or not self._usable():
            return None
        name = Path(pnml_path).name
        generation = self._begin(f"Checking against {name}…", 0)
        work = self.mining.conformance(self.context.session.require(), self.log, str(pnml_path))

        def done(result: dict[str, Any]) -> None:
            if not self._current(generation):
                return
            self._end(generation)
            self.conformance.show_result(result, name)
            deviating = [(d["source"], d["target"]) for d in result.get("deviating_edges") or []]
            self.map.set_deviating(deviating)
            self.side.setCurrentIndex(CONFORMANCE)
            fitness = float(result.get("fitness") or 0.0)
            self.show_message(
                f"Fitness {fitness:.3f} against {name}; "
                f"{result.get('unfit_cases', 0)} of {result.get('cases', 0)} cases deviate."
            )
            self.sig_conformance.emit()

        return self.context.tasks.spawn(
            work, on_done=done, on_error=lambda exc: self._failed(generation, exc)
        )

    def choose_export(self) -> Any:
        if self.log is None or not self._usable():
            return None
        path, chosen = QFileDialog.getSaveFileName(self, "Export model", "", EXPORT_FILTER)
        if not path:
            return None
        if not path.lower().endswith((".pnml", ".bpmn")):
            path += ".bpmn" if "bpmn" in chosen.lower() else ".pnml"
        return self.export_model(path)

    def export_model(self, path: str | Path) -> Any:
        if self.log is None or not self._usable():
            return None
        generation = self._begin(f"Exporting {Path(path).name}…", 0)
        work = self.mining.export_model(self.context.session.require(), self.log, str(path))

        def done(_result: Any) -> None:
            if self._current(generation):
                self._end(generation)
                self.show_message(f"Saved the model to {path}.")

        return self.context.tasks.spawn(
            work, on_done=done, on_error=lambda exc: self._failed(generation, exc)
        )
