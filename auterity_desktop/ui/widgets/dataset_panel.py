"""The "Data sets" tab of the Analysis page: open a CSV, Parquet, Excel or XES file, browse
it in a lazy table, group or pivot it, chart the result, list automatic insights and export
the grouping as a report.

Everything that touches the whole frame (loading, describing, sorting, grouping, insights,
exporting) runs in a worker thread through the task runner, because a million-row frame
takes seconds and the window must keep painting. Each load gets a generation number: a
result that arrives after a newer load or a Cancel is dropped rather than shown. Failures
are shown in the panel's message line, never as a crash dialog: a bad file is the user's
everyday mistake, not a bug.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.analytics import datasets
from auterity_desktop.services.analytics.datasets import (
    AGGREGATES,
    FILE_FILTER,
    ColumnInfo,
    describe_columns,
    group_and_pivot,
    load_dataset,
    result_label,
    sort_order,
)
from auterity_desktop.services.samples.loader import FOLDER as SAMPLES_FOLDER
from auterity_desktop.ui.models.dataset_models import ColumnInfoModel, DatasetTableModel
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.widgets.dataset_chart import DatasetChart
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget

log = logging.getLogger(__name__)

NO_COLUMN = "(none)"
ROW_COUNT = "(rows)"
SHORTCUT = "Ctrl+Shift+O"
REPORT_FILTER = "Excel (*.xlsx);;CSV (*.csv);;HTML (*.html);;PDF (*.pdf)"
# the report module's aggregate for each of the builder's
_REPORT_AGGREGATES = {"nunique": "count_distinct"}


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, ServiceError):
        return exc.message
    if isinstance(exc, MemoryError):
        return "Not enough memory for this data set"
    return f"Unexpected error: {type(exc).__name__}: {exc}"


def _evidence_text(evidence: dict[str, Any]) -> str:
    parts: list[str] = []
    for key, value in evidence.items():
        if isinstance(value, float):
            text = str(np.format_float_positional(value, precision=4, trim="-"))
        elif isinstance(value, list | tuple):
            text = "[" + ", ".join(str(v) for v in value[:4]) + (", …]" if len(value) > 4 else "]")
        elif isinstance(value, dict):
            continue
        else:
            text = str(value)
        parts.append(f"{key}={text}")
    return ", ".join(parts)


def _quoted(column: str) -> str:
    return column if column.isidentifier() else f"`{column}`"


class DatasetsPanel(QWidget):
    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.frame: pd.DataFrame | None = None
        self.path: Path | None = None
        self.result: pd.DataFrame | None = None
        self.result_spec: dict[str, Any] | None = None
        self.insight_report: Any = None
        self.columns_info: list[ColumnInfo] = []
        self._generation = 0
        self._cancel: threading.Event | None = None
        self.loading = False
        self.working = 0  # grouping, sorting, insights, exports in flight

        # -- top bar ------------------------------------------------------------------
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip(f"Open a CSV, Parquet, Excel or XES data set ({SHORTCUT})")
        self.open_button.clicked.connect(self.choose_file)
        self.product_button = QToolButton()
        self.product_button.setText("Product data")
        self.product_button.setToolTip(
            "This console's own data as a table: its workflow runs, or its stored metrics"
        )
        self.product_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        product_menu = QMenu(self.product_button)
        product_menu.addAction("Workflow runs", lambda: self.use_product_data("runs"))
        product_menu.addAction("Metrics", lambda: self.use_product_data("metrics"))
        self.product_button.setMenu(product_menu)
        self.source_label = QLabel("No data set open")
        self.source_label.setObjectName("PageSubtitle")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.cancel_button.hide()
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.product_button)
        top.addWidget(self.source_label, 1)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        # -- empty state --------------------------------------------------------------
        self.empty = EmptyStateWidget()
        self.empty.set_text(
            "No data set open",
            "Open a CSV, Parquet, Excel or XES file to browse it, group it, chart it and "
            "find insights in it.",
        )
        self.empty.add_button("Open data set…", self.open_button.toolTip()).clicked.connect(
            self.choose_file
        )

        # -- tabs ---------------------------------------------------------------------
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_table_tab(), "Table")
        self.tabs.addTab(self._build_columns_tab(), "Columns")
        self.tabs.addTab(self._build_group_tab(), "Group by")
        self.tabs.addTab(self._build_insights_tab(), "Insights")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.stack, 1)

        self.shortcut = QShortcut(QKeySequence(SHORTCUT), self)
        self.shortcut.activated.connect(self.choose_file)
        context.theme.sig_theme_changed.connect(self._theme_changed)
        self._set_enabled()

    # -- building ------------------------------------------------------------------------
    def _build_table_tab(self) -> QWidget:
        self.model = DatasetTableModel(parent=self)
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._sort_requested)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table_summary = QLabel("")
        self.table_summary.setObjectName("PageSubtitle")
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 6, 0, 0)
        box.addWidget(self.table_summary)
        box.addWidget(self.table, 1)
        return page

    def _build_columns_tab(self) -> QWidget:
        self.columns_model = ColumnInfoModel(self)
        self.columns_view = QTableView()
        self.columns_view.setTabKeyNavigation(False)
        self.columns_view.setModel(self.columns_model)
        self.columns_view.setAlternatingRowColors(True)
        self.columns_view.verticalHeader().hide()
        self.columns_view.horizontalHeader().setStretchLastSection(True)
        self.columns_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        return self.columns_view

    def _build_group_tab(self) -> QWidget:
        self.row_fields = QListWidget()
        self.row_fields.setToolTip("Tick the fields that make one group (one result row)")
        self.row_fields.setMinimumWidth(180)
        self.row_fields.setMaximumHeight(240)
        self.column_field = QComboBox()
        self.column_field.setToolTip("Optional: spread this field's values across columns")
        self.value_field = QComboBox()
        self.aggregate = QComboBox()
        self.aggregate.addItems(list(AGGREGATES))
        self.chart_kind = QComboBox()
        self.chart_kind.addItems(["Bar", "Line"])
        self.chart_kind.currentTextChanged.connect(self._redraw_chart)
        self.group_button = QPushButton("Group")
        self.group_button.setDefault(True)
        self.group_button.clicked.connect(self.run_group_by)
        self.report_button = QPushButton("Report…")
        self.report_button.setToolTip("Export this grouping as an Excel, CSV, HTML or PDF report")
        self.report_button.clicked.connect(self.choose_report_file)

        form = QFormLayout()
        form.addRow("Rows", self.row_fields)
        form.addRow("Columns", self.column_field)
        form.addRow("Values", self.value_field)
        form.addRow("Aggregate", self.aggregate)
        form.addRow("Chart", self.chart_kind)
        buttons = QHBoxLayout()
        buttons.addWidget(self.group_button)
        buttons.addWidget(self.report_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        builder = QWidget()
        outer = QVBoxLayout(builder)
        outer.setContentsMargins(0, 6, 6, 0)
        outer.addLayout(form)
        outer.addStretch(1)
        builder.setMaximumWidth(320)

        self.result_model = DatasetTableModel(parent=self)
        self.result_view = QTableView()
        self.result_view.setTabKeyNavigation(False)
        self.result_view.setModel(self.result_model)
        self.result_view.setAlternatingRowColors(True)
        self.result_view.verticalHeader().hide()
        self.result_summary = QLabel("Choose fields and press Group.")
        self.result_summary.setObjectName("PageSubtitle")
        self.chart = DatasetChart(lambda: self.context.theme.colors)
        results = QSplitter(Qt.Orientation.Vertical)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.result_summary)
        table_layout.addWidget(self.result_view, 1)
        results.addWidget(table_box)
        results.addWidget(self.chart)
        results.setStretchFactor(0, 1)
        results.setStretchFactor(1, 2)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(builder)
        split.addWidget(results)
        split.setStretchFactor(1, 1)
        return split

    def _build_insights_tab(self) -> QWidget:
        self.insights_source = QComboBox()
        self.insights_source.addItems(["Whole data set", "Group-by result"])
        self.insights_button = QPushButton("Find insights")
        self.insights_button.clicked.connect(self.run_insights)
        self.insights_status = QLabel(
            "Trends, shifts, anomalies, forecasts and correlations in the numeric columns."
        )
        self.insights_status.setObjectName("PageSubtitle")
        self.insights_status.setWordWrap(True)
        self.insights_tree = QTreeWidget()
        self.insights_tree.setHeaderLabels(
            ["Finding", "Kind", "Column", "Method", "Confidence", "Evidence"]
        )
        self.insights_tree.setRootIsDecorated(False)
        self.insights_tree.setAlternatingRowColors(True)
        self.insights_tree.setWordWrap(True)
        self.insights_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.insights_tree.setColumnWidth(0, 360)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Analyse"))
        bar.addWidget(self.insights_source)
        bar.addWidget(self.insights_button)
        bar.addStretch(1)
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 6, 0, 0)
        box.addLayout(bar)
        box.addWidget(self.insights_status)
        box.addWidget(self.insights_tree, 1)
        return page

    # -- messages and state ----------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setObjectName("HealthError" if error else "PageSubtitle")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _set_enabled(self) -> None:
        has_frame = self.frame is not None
        self.group_button.setEnabled(has_frame)
        self.insights_button.setEnabled(has_frame)
        self.report_button.setEnabled(self.result is not None)

    def _spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        on_done: Callable[[Any], Any],
        what: str,
    ) -> asyncio.Task[Any]:
        """Run ``coro`` and show its failure as a message; ``working`` counts it meanwhile
        so tests (and the busy cursor) know when the panel is idle."""
        self.working += 1

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, ServiceError):
                log.error("%s failed", what, exc_info=exc)
            self.show_message(f"{what} failed: {_describe_error(exc)}", error=True)

        task = self.context.tasks.spawn(coro, on_done=on_done, on_error=failed)
        task.add_done_callback(lambda _t: self._finished_work())
        return task

    def _finished_work(self) -> None:
        self.working -= 1

    @property
    def busy(self) -> bool:
        return self.loading or self.working > 0

    # -- opening -------------------------------------------------------------------------
    def choose_file(self) -> None:
        samples = Path(self.context.settings.data_dir) / SAMPLES_FOLDER
        start = str(self.path.parent if self.path else samples if samples.is_dir() else Path.home())
        name, _ = QFileDialog.getOpenFileName(self, "Open data set", start, FILE_FILTER)
        if not name:
            return
        sheet: str | None = None
        if Path(name).suffix.lower() in (".xlsx", ".xlsm"):
            try:
                sheets = datasets.excel_sheets(name)
            except ServiceError as exc:
                self.show_message(exc.message, error=True)
                return
            if len(sheets) > 1:
                picked, ok = QInputDialog.getItem(
                    self, "Choose a sheet", "Sheet:", sheets, 0, False
                )
                if not ok:
                    return
                sheet = picked
        self.open_dataset(name, sheet=sheet)

    def open_dataset(
        self, path: str | Path, *, sheet: str | int | None = None
    ) -> asyncio.Task[Any]:
        """Load ``path`` in a worker thread and show it; a load already running is
        cancelled."""
        if self._cancel is not None:
            self._cancel.set()
        self._generation += 1
        generation = self._generation
        cancel = threading.Event()
        self._cancel = cancel
        file = Path(path)
        self.loading = True
        self.show_message("")
        self.source_label.setText(f"Opening {file.name}…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.open_button.setEnabled(False)

        async def load() -> tuple[pd.DataFrame, list[ColumnInfo]]:
            loop = asyncio.get_running_loop()

            def progress(done: int, total: int) -> None:
                loop.call_soon_threadsafe(self._progressed, generation, done, total)

            frame = await asyncio.to_thread(
                load_dataset, file, sheet=sheet, progress=progress, cancel=cancel
            )
            columns = await asyncio.to_thread(describe_columns, frame)
            return frame, columns

        def done(value: tuple[pd.DataFrame, list[ColumnInfo]]) -> None:
            if generation == self._generation:
                self._loaded(file, *value)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self._stop_loading()
            if not isinstance(exc, ServiceError):
                log.error("opening %s failed", file, exc_info=exc)
            self.source_label.setText(self._source_text())
            self.show_message(f"Could not open {file.name}: {_describe_error(exc)}", error=True)

        return self.context.tasks.spawn(load(), on_done=done, on_error=failed)

    def use_product_data(self, kind: str) -> asyncio.Task[Any] | None:
        """Open this console's workflow runs (``kind`` "runs") or its stored metrics
        ("metrics", every series over the last 30 days) as the data set."""
        platform = self.context.bridge.platform
        principal = self.context.session.principal
        if platform is None or principal is None:
            self.show_message("Sign in first: the data comes from the running console.")
            return None
        analytics = platform.analytics
        name = "workflow runs" if kind == "runs" else "metrics"
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None
        self._generation += 1
        generation = self._generation
        self.loading = True
        self.show_message("")
        self.source_label.setText(f"Reading the {name}…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.open_button.setEnabled(False)
        self.product_button.setEnabled(False)

        async def load() -> tuple[pd.DataFrame, list[ColumnInfo]]:
            if kind == "runs":
                frame = await analytics.runs_dataset(principal)
            else:
                frame = await analytics.metrics_dataset(principal)
            return frame, await asyncio.to_thread(describe_columns, frame)

        def done(value: tuple[pd.DataFrame, list[ColumnInfo]]) -> None:
            if generation == self._generation:
                self._loaded(Path(name), *value)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self._stop_loading()
            if not isinstance(exc, ServiceError):
                log.error("reading the %s failed", name, exc_info=exc)
            self.source_label.setText(self._source_text())
            self.show_message(f"Could not read the {name}: {_describe_error(exc)}", error=True)

        return self.context.tasks.spawn(load(), on_done=done, on_error=failed)

    def cancel_loading(self) -> None:
        """Stop waiting for the load; the worker stops at its next check and its result,
        if any, is dropped."""
        if not self.loading:
            return
        if self._cancel is not None:
            self._cancel.set()
        self._generation += 1
        self._stop_loading()
        self.source_label.setText(self._source_text())
        self.show_message("Opening the data set was cancelled.")

    def _progressed(self, generation: int, done: int, total: int) -> None:
        if generation != self._generation or total <= 0:
            return
        scale = 1000
        self.progress.setRange(0, scale)
        self.progress.setValue(int(scale * min(done, total) / total))

    def _stop_loading(self) -> None:
        self.loading = False
        self._cancel = None
        self.progress.hide()
        self.cancel_button.hide()
        self.open_button.setEnabled(True)
        self.product_button.setEnabled(True)

    def _source_text(self) -> str:
        if self.frame is None or self.path is None:
            return "No data set open"
        rows, columns = self.frame.shape
        return f"{self.path.name} — {rows:,} rows × {columns:,} columns"

    def _loaded(self, path: Path, frame: pd.DataFrame, columns: list[ColumnInfo]) -> None:
        self._stop_loading()
        self.set_frame(frame, path, columns)

    def set_frame(
        self,
        frame: pd.DataFrame,
        path: str | Path = "data set",
        columns: list[ColumnInfo] | None = None,
    ) -> None:
        """Show ``frame`` as the open data set (the loader's end, and a way in for tests
        and the screenshot script)."""
        self.frame = frame
        self.path = Path(path)
        self.columns_info = columns if columns is not None else describe_columns(frame)
        self.model.set_frame(frame)
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)
        if frame.shape[1] <= 60:
            self.table.resizeColumnsToContents()
            for column in range(frame.shape[1]):
                if self.table.columnWidth(column) > 320:
                    self.table.setColumnWidth(column, 320)
        self.columns_model.set_columns(self.columns_info)
        self.columns_view.resizeColumnsToContents()
        self._fill_builder(frame)
        self.result = None
        self.result_spec = None
        self.result_model.clear()
        self.result_summary.setText("Choose fields and press Group.")
        self.chart.show_empty("No chart yet", "Group the data set to chart the result.")
        self.insights_tree.clear()
        self.insight_report = None
        self.source_label.setText(self._source_text())
        self.table_summary.setText(self._table_text())
        self.stack.setCurrentWidget(self.tabs)
        self._set_enabled()

    def _table_text(self) -> str:
        if self.frame is None:
            return ""
        return f"{len(self.frame):,} rows; rows load as you scroll. Click a column header to sort."

    def _fill_builder(self, frame: pd.DataFrame) -> None:
        info = {c.name: c for c in self.columns_info}
        self.row_fields.clear()
        for name in frame.columns:
            item = QListWidgetItem(str(name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            column = info.get(str(name))
            if column is not None:
                item.setToolTip(f"{column.dtype}, {column.distinct:,} distinct values")
            self.row_fields.addItem(item)
        self.column_field.clear()
        self.column_field.addItems([NO_COLUMN, *map(str, frame.columns)])
        self.value_field.clear()
        self.value_field.addItems([ROW_COUNT, *map(str, frame.columns)])
        numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)]
        if numeric:
            self.value_field.setCurrentText(numeric[0])
            self.aggregate.setCurrentText("sum")
        else:
            self.aggregate.setCurrentText("count")

    # -- sorting -------------------------------------------------------------------------
    def _sort_requested(self, section: int, order: Qt.SortOrder) -> None:
        if self.frame is None or not 0 <= section < self.frame.shape[1]:
            return
        self.sort_by(str(self.frame.columns[section]), order == Qt.SortOrder.AscendingOrder)

    def sort_by(self, column: str, ascending: bool = True) -> asyncio.Task[Any] | None:
        """Sort the table by ``column`` in a worker thread; the view keeps its loaded
        rows."""
        frame = self.frame
        if frame is None:
            return None

        def sorted_(order: np.ndarray) -> None:
            if self.frame is frame:
                self.model.set_order(order)

        return self._spawn(
            asyncio.to_thread(sort_order, frame, column, ascending), sorted_, "Sorting"
        )

    # -- group by ------------------------------------------------------------------------
    def checked_row_fields(self) -> list[str]:
        return [
            self.row_fields.item(i).text()
            for i in range(self.row_fields.count())
            if self.row_fields.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_group_by(
        self,
        rows: list[str],
        column: str | None = None,
        values: str | None = None,
        aggregate: str = "sum",
    ) -> None:
        """Fill the builder (what a user ticks and picks)."""
        for i in range(self.row_fields.count()):
            item = self.row_fields.item(i)
            wanted = item.text() in rows
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        self.column_field.setCurrentText(column or NO_COLUMN)
        self.value_field.setCurrentText(values or ROW_COUNT)
        self.aggregate.setCurrentText(aggregate)

    def builder_spec(self) -> dict[str, Any]:
        column = self.column_field.currentText()
        values = self.value_field.currentText()
        return {
            "rows": self.checked_row_fields(),
            "columns": [] if column in ("", NO_COLUMN) else [column],
            "values": None if values in ("", ROW_COUNT) else values,
            "aggregate": self.aggregate.currentText(),
        }

    def run_group_by(self) -> asyncio.Task[Any] | None:
        frame = self.frame
        if frame is None:
            return None
        spec = self.builder_spec()
        self.show_message("")
        self.result_summary.setText("Grouping…")

        def grouped(result: pd.DataFrame) -> None:
            if self.frame is not frame:
                return
            self.result = result
            self.result_spec = spec
            self.result_model.set_frame(result)
            self.result_view.resizeColumnsToContents()
            groups = len(result)
            self.result_summary.setText(
                f"{groups:,} group{'s' if groups != 1 else ''}: "
                f"{result_label(spec['values'], spec['aggregate'])} by "
                + " / ".join(spec["rows"])
                + (f", across {spec['columns'][0]}" if spec["columns"] else "")
            )
            self._redraw_chart()
            self._set_enabled()

        def work() -> pd.DataFrame:
            return group_and_pivot(
                frame, spec["rows"], spec["columns"], spec["values"], spec["aggregate"]
            )

        task = self._spawn(asyncio.to_thread(work), grouped, "Grouping")
        task.add_done_callback(lambda _t: self._group_finished())
        return task

    def _group_finished(self) -> None:
        if self.result_summary.text() == "Grouping…":
            self.result_summary.setText("Choose fields and press Group.")

    def _redraw_chart(self, *_args: Any) -> None:
        if self.result is None or self.result_spec is None:
            return
        kind = "line" if self.chart_kind.currentText() == "Line" else "bar"
        self.chart.show_result(self.result, self.result_spec["rows"], kind)

    # -- insights ------------------------------------------------------------------------
    def run_insights(self) -> asyncio.Task[Any] | None:
        use_result = self.insights_source.currentIndex() == 1
        data = self.result if use_result else self.frame
        if data is None:
            self.show_message(
                "Group the data set first to analyse the result." if use_result else "",
                error=use_result,
            )
            return None
        from auterity_desktop.services.analytics.insights import generate_insights

        self.show_message("")
        self.insights_tree.clear()
        self.insights_status.setText("Looking for insights…")
        self.insights_button.setEnabled(False)

        def found(report: Any) -> None:
            self.insights_button.setEnabled(self.frame is not None)
            self.show_insights(report)

        task = self._spawn(asyncio.to_thread(generate_insights, data), found, "Insights")

        def finished(_t: asyncio.Task[Any]) -> None:
            self.insights_button.setEnabled(self.frame is not None)
            if self.insights_status.text() == "Looking for insights…":
                self.insights_status.setText("No insights: see the message above.")

        task.add_done_callback(finished)
        return task

    def show_insights(self, report: Any) -> None:
        self.insight_report = report
        self.insights_tree.clear()
        order = sorted(report.insights, key=lambda i: -float(i.confidence or 0.0))
        for insight in order:
            item = QTreeWidgetItem(
                [
                    insight.title,
                    insight.kind.replace("_", " "),
                    insight.column,
                    insight.method,
                    f"{float(insight.confidence):.0%}",
                    _evidence_text(insight.evidence),
                ]
            )
            item.setToolTip(0, insight.details or insight.title)
            item.setToolTip(5, _evidence_text(insight.evidence))
            item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.insights_tree.addTopLevelItem(item)
        for column in (1, 2, 3, 4):
            self.insights_tree.resizeColumnToContents(column)
        time = f", time column {report.time_column!r}" if report.time_column else ""
        frequency = f", frequency {report.frequency}" if report.frequency else ""
        skipped = f"; {len(report.notes)} checks skipped (too few points)" if report.notes else ""
        self.insights_status.setText(
            f"{len(report.insights)} insight{'s' if len(report.insights) != 1 else ''} in "
            f"{len(report.columns)} numeric column{'s' if len(report.columns) != 1 else ''}"
            f"{time}{frequency}{skipped}. Sorted by confidence."
        )

    @property
    def insight_count(self) -> int:
        return int(self.insights_tree.topLevelItemCount())

    # -- report --------------------------------------------------------------------------
    def report_spec(self) -> dict[str, Any]:
        """The current grouping as a ``reports.build_report`` spec (a pivot's column
        field becomes one more group level: reports are long tables)."""
        spec = self.result_spec or self.builder_spec()
        values, aggregate = spec["values"], spec["aggregate"]
        if values is None:
            metric = {"name": "count", "expression": "1", "aggregate": "sum"}
        else:
            metric = {
                "name": result_label(values, aggregate),
                "expression": _quoted(values),
                "aggregate": _REPORT_AGGREGATES.get(aggregate, aggregate),
            }
        name = self.path.stem if self.path else "data set"
        return {
            "title": f"{name}: {metric['name']} by {' / '.join(spec['rows'] + spec['columns'])}",
            "metrics": [metric],
            "filters": [],
            "groupBy": spec["rows"] + spec["columns"],
        }

    def choose_report_file(self) -> None:
        if self.frame is None or self.result is None:
            return
        start = str((self.path.parent if self.path else Path.home()) / "report.xlsx")
        name, _ = QFileDialog.getSaveFileName(self, "Export report", start, REPORT_FILTER)
        if name:
            self.export_report(name)

    def export_report(self, path: str | Path) -> asyncio.Task[Any] | None:
        """Build the report of the current grouping and write it; the format is the
        suffix (.xlsx, .csv, .html, .pdf)."""
        frame = self.frame
        platform = self.context.bridge.platform
        principal = self.context.session.principal
        if frame is None or platform is None or principal is None:
            return None
        spec = self.report_spec()
        analytics = platform.analytics  # guarded and audited, like every export

        async def work() -> dict[str, Any]:
            result = await analytics.build_report(principal, frame, spec)
            written: dict[str, Any] = await analytics.export_report(principal, result, path)
            return written

        def written(info: dict[str, Any]) -> None:
            self.show_message(f"Report saved to {info['path']} ({info['bytes']:,} bytes).")

        return self._spawn(work(), written, "The report")

    # -- theme ---------------------------------------------------------------------------
    def _theme_changed(self, _name: str) -> None:
        self.chart.apply_theme()
