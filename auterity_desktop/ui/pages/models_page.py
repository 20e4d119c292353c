"""Models: monitored models, their metrics over time, and drift of each feature.

The list shows every model version with its volume and last drift verdict. For the
selected model the left panel draws its metrics per day or hour (baselines dashed) over the
chosen window, the right panel its latest drift report: a table of features with test,
statistic, p-value, threshold and verdict (a word and a colour), and for the selected
feature its reference and current distributions overlaid. *Check drift now* compares the
window's predictions with the reference (optionally with PSI for every feature).

The page reloads when the service announces something (a model registered, predictions or
actual values logged, drift found or cleared); reloads coalesce. Buttons follow the role
(analytics write: register; execute: check drift; delete: delete); the service refuses
regardless.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.events import Event
from auterity_desktop.services.monitoring.drift import TEST_NAMES
from auterity_desktop.services.monitoring.ml_metrics import CLASSIFICATION, METRIC_NAMES, METRICS
from auterity_desktop.ui.models.monitored_model_tables import (
    DriftTableModel,
    ModelTableModel,
    number,
)
from auterity_desktop.ui.models.run_display import format_time
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.model_charts import DistributionChartWidget, MetricsChartWidget
from auterity_desktop.ui.widgets.model_register_dialog import RegisterModelDialog, Registration
from auterity_desktop.ui.widgets.row_selection import select_row
from auterity_desktop.ui.widgets.table_views import sortable_table, stacked

EVENT_DELAY_MS = 300  # gather a burst of logging events into one reload
EVENTS = frozenset(
    {
        "model_registered",
        "model_deleted",
        "model_predictions_logged",
        "model_actuals_logged",
        "model_drift_detected",
        "model_drift_cleared",
        "model_metric_degraded",
        "model_metric_recovered",
    }
)
DAY = 86400.0
WINDOWS = (
    ("Last 24 hours", DAY),
    ("Last 7 days", 7 * DAY),
    ("Last 30 days", 30 * DAY),
    ("Last 90 days", 90 * DAY),
    ("All kept", None),
)
DEFAULT_WINDOW = 2  # 30 days
BUCKETS = (("By day", "day", DAY), ("By hour", "hour", 3600.0))
METRIC_CHOICES = {
    CLASSIFICATION: (
        ("All scores", ("accuracy", "precision", "recall", "f1", "roc_auc")),
        *((METRIC_NAMES[m], (m,)) for m in METRICS[CLASSIFICATION]),
    ),
    "regression": (
        ("MAE and RMSE", ("mae", "rmse")),
        *((METRIC_NAMES[m], (m,)) for m in METRICS["regression"]),
    ),
}


class ModelsPage(ServicePage):
    sig_loaded = Signal()  # the list of models was (re)loaded
    sig_detail_loaded = Signal(str)  # "name:version" whose metrics and drift are shown
    sig_drift_checked = Signal(str)  # the id of a new drift report

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_models")
        self.wanted: tuple[str, str] | None = None
        self.info: Any = None  # the shown model's ModelInfo
        self.points: list[Any] = []
        self.summary_metrics: Any = None
        self.report: Any = None
        self.register_dialog: RegisterModelDialog | None = None
        self._stopped = False
        self._loaded_once = False
        self.reload = Coalesced(self, self._load)
        self.reload_detail = Coalesced(self, self._load_detail)
        colours = self._colours

        # toolbar
        self.register_button = QPushButton("&Register model…")
        self.register_button.setToolTip("Register a model version with its reference data (CSV)")
        self.register_button.clicked.connect(self.open_register_dialog)
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setToolTip("Delete the selected model version and all its data")
        self.delete_button.clicked.connect(self.delete_selected)
        self.window_choice = QComboBox()
        self.window_choice.setAccessibleName("Window")
        for text, seconds in WINDOWS:
            self.window_choice.addItem(text, seconds)
        self.window_choice.setCurrentIndex(DEFAULT_WINDOW)
        self.window_choice.setToolTip("The predictions that metrics and drift checks look at")
        self.window_choice.currentIndexChanged.connect(lambda _i: self.reload_detail())
        self.psi = QCheckBox("PSI")
        self.psi.setToolTip(
            "Test every feature with the population stability index (drift when ≥ 0.1) "
            "instead of the default tests"
        )
        self.check_button = QPushButton("&Check drift now")
        self.check_button.setToolTip(
            "Compare the features of the window's predictions with the reference data"
        )
        self.check_button.clicked.connect(self.check_drift)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload models, metrics and drift (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.register_button)
        toolbar.addWidget(self.delete_button)
        toolbar.addStretch(1)
        toolbar.addWidget(QLabel("Window:"))
        toolbar.addWidget(self.window_choice)
        toolbar.addWidget(self.psi)
        toolbar.addWidget(self.check_button)
        toolbar.addWidget(self.refresh_button)

        # models
        self.model = ModelTableModel(colours)
        self.table = sortable_table("ModelTable", self.model, stretch_last=True)
        for column, width in enumerate((190, 80, 110, 100, 90, 150)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.empty = EmptyStateWidget()
        self.empty.set_text(
            "No models monitored yet",
            "Register a model with its reference data — a CSV file of its training or "
            "validation data. Then log its predictions (and later the actual values) through "
            "the API or a workflow: metrics and drift of each feature show up here.",
        )
        self.empty_register = self.empty.add_button(
            "Register model…", self.register_button.toolTip()
        )
        self.empty_register.clicked.connect(self.open_register_dialog)
        self.list_stack = stacked(self.table, self.empty)

        # metrics
        self.bucket = QComboBox()
        self.bucket.setAccessibleName("Bucket")
        for text, key, _seconds in BUCKETS:
            self.bucket.addItem(text, key)
        self.bucket.currentIndexChanged.connect(lambda _i: self.reload_detail())
        self.metric_choice = QComboBox()
        self.metric_choice.setAccessibleName("Metric")
        self.metric_choice.setMinimumWidth(130)
        self.metric_choice.currentIndexChanged.connect(lambda _i: self._draw_metrics())
        self.metrics_summary = QLabel("")
        self.metrics_summary.setWordWrap(True)
        self.metrics_chart = MetricsChartWidget(colours)
        metric_bar = QHBoxLayout()
        metric_bar.addWidget(self.metric_choice)
        metric_bar.addWidget(self.bucket)
        metric_bar.addStretch(1)
        metrics_box = QGroupBox("Metrics over time")
        metrics_layout = QVBoxLayout(metrics_box)
        metrics_layout.addLayout(metric_bar)
        metrics_layout.addWidget(self.metrics_summary)
        metrics_layout.addWidget(self.metrics_chart, 1)

        # drift
        self.drift_summary = QLabel("")
        self.drift_summary.setWordWrap(True)
        self.drift_model = DriftTableModel(colours)
        self.drift_table = sortable_table("DriftTable", self.drift_model, stretch_last=True)
        header = self.drift_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(DriftTableModel.headers)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.drift_table.selectionModel().selectionChanged.connect(self._feature_changed)
        self.distribution = DistributionChartWidget(colours)
        drift_split = QSplitter(Qt.Orientation.Vertical)
        drift_split.addWidget(self.drift_table)
        drift_split.addWidget(self.distribution)
        drift_split.setSizes([190, 230])
        self.drift_empty = EmptyStateWidget()
        self.drift_check_empty = self.drift_empty.add_button(
            "Check drift now", self.check_button.toolTip()
        )
        self.drift_check_empty.clicked.connect(self.check_drift)
        drift_detail = QWidget()
        detail_layout = QVBoxLayout(drift_detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.drift_summary)
        detail_layout.addWidget(drift_split, 1)
        self.drift_stack = stacked(drift_detail, self.drift_empty)
        drift_box = QGroupBox("Drift by feature (latest check)")
        drift_layout = QVBoxLayout(drift_box)
        drift_layout.addWidget(self.drift_stack)

        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(metrics_box)
        bottom.addWidget(drift_box)
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 3)
        bottom.setSizes([430, 640])
        self.bottom = bottom
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(self.list_stack)
        vertical.addWidget(bottom)
        vertical.setStretchFactor(0, 1)
        vertical.setStretchFactor(1, 4)
        vertical.setSizes([130, 520])

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addLayout(toolbar)
        layout.addWidget(vertical, 1)
        layout.addWidget(self.message)

        context_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=context_)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.check_drift, context=context_)
        QShortcut(
            QKeySequence("Ctrl+N"), self, activated=self.open_register_dialog, context=context_
        )

        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(EVENT_DELAY_MS)
        self.soon.timeout.connect(self._reload_live)
        self._detail_stale = False
        context.bridge.sig_event.connect(self._on_event)
        context.theme.sig_theme_changed.connect(self._theme_changed)
        self._show_nothing_selected()
        self._update_buttons()
        self.watch_session()

    def _colours(self) -> dict[str, str]:
        return self.context.theme.colors

    @property
    def service(self) -> Any:
        return self.platform.ml_monitoring

    # -- permissions and state ----------------------------------------------------------
    def can(self, action: str) -> bool:
        principal = self.context.session.principal
        return principal is not None and f"analytics:{action}" in principal.permissions

    def on_signed_in(self, principal: Any) -> None:
        self._update_buttons()
        self.refresh()

    def _live(self) -> bool:
        platform = self.context.bridge.platform
        return (
            not self._stopped
            and self.context.session.signed_in
            and platform is not None
            and platform.running
        )

    def _update_buttons(self) -> None:
        selected = self.wanted is not None
        for widget, action in (
            (self.register_button, "write"),
            (self.empty_register, "write"),
            (self.delete_button, "delete"),
            (self.check_button, "execute"),
            (self.psi, "execute"),
            (self.drift_check_empty, "execute"),
        ):
            widget.setVisible(self.can(action))
        self.delete_button.setEnabled(selected)
        self.check_button.setEnabled(selected)
        self.drift_check_empty.setEnabled(selected)

    def window_seconds(self) -> float | None:
        value = self.window_choice.currentData()
        return None if value is None else float(value)

    def refresh(self) -> Any:
        if not self._live():
            return None
        self._detail_stale = True
        return self.reload()

    # -- the list -----------------------------------------------------------------------
    async def _load(self) -> None:
        actor = self.context.session.require()
        models = await self.service.list_models(actor)
        self.model.set_rows(models)
        self.list_stack.setCurrentWidget(self.table if models else self.empty)
        keys = [(m.name, m.version) for m in models]
        if self.wanted not in keys:
            self.wanted = None
            if keys:
                self.wanted = self._first_key()
        if self.wanted is not None:
            self._select_row(self.wanted)
            if self._detail_stale or not self._loaded_once:
                self.reload_detail()
        else:
            self._show_nothing_selected()
        self._detail_stale = False
        self._loaded_once = True
        self._update_buttons()
        self.sig_loaded.emit()

    def _first_key(self) -> tuple[str, str]:
        source = self.model.item(
            self.table.model().mapToSource(self.table.model().index(0, 0)).row()
        )
        return (source.name, source.version)

    def _select_row(self, key: tuple[str, str]) -> None:
        row = self.model.row_of(key)
        if row < 0:
            return
        proxy = self.table.model()
        index = proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid() and self.selected_key() != key:
            select_row(self.table, index)

    def selected_key(self) -> tuple[str, str] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.model.item(self.table.model().mapToSource(rows[0]).row())
        return (item.name, item.version)

    def select_model(self, name: str, version: str) -> Any:
        self.wanted = (name, version)
        self._select_row(self.wanted)
        return self.reload_detail()

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        key = self.selected_key()
        shown = None if self.info is None else (self.info.name, self.info.version)
        if key is None or (key == self.wanted and shown == key):
            return
        self.wanted = key
        self._update_buttons()
        self.reload_detail()

    # -- the selected model -------------------------------------------------------------
    async def _load_detail(self) -> None:
        key = self.wanted
        if key is None or not self._live():
            return
        actor = self.context.session.require()
        name, version = key
        window = self.window_seconds()
        info = await self.service.get_model(actor, name, version)
        points = await self.service.metrics_history(
            actor, name, version, self.bucket.currentData(), window
        )
        summary = await self.service.model_metrics(actor, name, version, window)
        report = await self.service.latest_drift_report(actor, name, version)
        if key != self.wanted:
            return  # another model was selected meanwhile
        task_changed = self.info is None or self.info.task != info.task
        self.info, self.points, self.summary_metrics = info, points, summary
        if task_changed:
            self._fill_metric_choice(info.task)
        self._draw_metrics()
        self._show_report(report)
        self._update_buttons()
        self.sig_detail_loaded.emit(f"{name}:{version}")

    def _fill_metric_choice(self, task: str) -> None:
        self.metric_choice.blockSignals(True)
        self.metric_choice.clear()
        for text, metrics in METRIC_CHOICES[task]:
            self.metric_choice.addItem(text, metrics)
        self.metric_choice.blockSignals(False)

    def _draw_metrics(self) -> None:
        if self.info is None:
            return
        bucket = next(s for _t, k, s in BUCKETS if k == self.bucket.currentData())
        metrics = self.metric_choice.currentData() or METRIC_CHOICES[self.info.task][0][1]
        self.metrics_chart.show_series(self.points, metrics, self.info.baseline, bucket)
        self.metrics_chart.caption.setText(
            f"{self.info.name} {self.info.version} · per {self.bucket.currentData()} · "
            "baselines dashed"
            if self.info.baseline
            else f"{self.info.name} {self.info.version} · per {self.bucket.currentData()} · "
            "no baseline to compare with"
        )
        self.metrics_summary.setText(self._metrics_text())
        restyle(self.metrics_summary, "HealthError" if self._degraded() else "PageSubtitle")

    def _degraded(self) -> list[str]:
        summary = self.summary_metrics
        return list(summary.degraded) if summary is not None else []

    def _metrics_text(self) -> str:
        summary = self.summary_metrics
        if summary is None:
            return ""
        window = self.window_choice.currentText().lower()
        head = f"{summary.predictions:,} predictions, {summary.labelled:,} labelled ({window})"
        if not summary.labelled:
            return head + "."
        parts = []
        for metric in METRICS[summary.task]:
            value = summary.metrics.get(metric)
            if value is None:
                continue
            text = f"{METRIC_NAMES[metric]} {value:.3g}"
            if summary.baseline and summary.baseline.get(metric) is not None:
                text += f" (baseline {summary.baseline[metric]:.3g})"
            parts.append(text)
        worse = self._degraded()
        warning = (
            f" — worse than the baseline allows: {', '.join(METRIC_NAMES[m] for m in worse)}"
            if worse
            else ""
        )
        return f"{head} · " + " · ".join(parts) + warning

    def _show_report(self, report: Any) -> None:
        self.report = report
        if report is None:
            self.drift_model.set_rows([])
            self.drift_empty.set_text(
                "No drift check yet",
                "Check drift now compares the features of this model's predictions in the "
                "window with its reference data, feature by feature.",
            )
            self.drift_stack.setCurrentWidget(self.drift_empty)
            return
        keep = self.distribution.feature
        self.drift_model.set_rows(report.features)
        self.drift_stack.setCurrentWidget(self.drift_stack.widget(0))
        tests = sorted({TEST_NAMES[f.test] for f in report.features if f.test != "none"})
        window = (
            "all kept predictions"
            if report.window_start is None
            else f"predictions since {format_time(report.window_start, seconds=False)}"
        )
        verdict = "Data-set drift" if report.dataset_drift else "No data-set drift"
        self.drift_summary.setText(
            f"{verdict}: {report.drifted} of {report.tested} features drifted "
            f"({report.share:.0%}; drift from {report.drift_share:.0%}). "
            f"{report.reference_rows:,} reference rows vs {report.current_rows:,} "
            f"{window} · {', '.join(tests)} · checked "
            f"{format_time(report.created_at, seconds=False)} by {report.created_by}"
        )
        restyle(self.drift_summary, "HealthError" if report.dataset_drift else "HealthOk")
        names = [f.feature for f in report.features]
        chosen = (
            keep
            if keep in names
            else next(
                (f.feature for f in report.features if f.drifted), names[0] if names else None
            )
        )
        if chosen is not None:
            self.select_feature(chosen)

    def select_feature(self, feature: str) -> None:
        row = self.drift_model.row_of(feature)
        if row < 0:
            return
        index = self.drift_table.model().mapFromSource(self.drift_model.index(row, 0))
        select_row(self.drift_table, index)
        self._show_distribution(feature)

    def _feature_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.drift_table.selectionModel().selectedRows()
        if rows:
            source = self.drift_table.model().mapToSource(rows[0]).row()
            self._show_distribution(self.drift_model.item(source).feature)

    def _show_distribution(self, feature: str) -> None:
        report = self.report
        if report is None:
            return
        drift = report.feature(feature)
        self.distribution.show_distribution(feature, report.distributions.get(feature))
        if drift is not None:
            verdict = self.drift_model.verdict(drift)
            test = TEST_NAMES.get(drift.test, drift.test)
            value = (
                f"p = {number(drift.p_value)}" if drift.p_value is not None
                else f"{number(drift.statistic)}"
            )  # fmt: skip
            self.distribution.caption.setText(
                f"{feature} ({drift.kind}): {test} {value} → {verdict.lower()}"
            )

    def _show_nothing_selected(self) -> None:
        self.info = None
        self.report = None
        self.summary_metrics = None
        self.metrics_summary.setText("")
        self.metrics_chart.caption.setText("")
        self.metrics_chart.show_empty("No model selected", "Select a model to see its metrics.")
        self.drift_model.set_rows([])
        self.drift_empty.set_text("No model selected", "Select a model to see its drift.")
        self.drift_stack.setCurrentWidget(self.drift_empty)

    def _theme_changed(self, _name: str) -> None:
        self.metrics_chart.apply_theme()
        self.distribution.apply_theme()
        self._draw_metrics()
        if self.report is not None and self.distribution.feature:
            self._show_distribution(self.distribution.feature)

    # -- live updates -------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self._stopped = True
            self.soon.stop()
            return
        if event.name in EVENTS:
            key = (event.payload.get("model"), str(event.payload.get("version")))
            self._detail_stale |= key == self.wanted
            self.soon.start()

    def _reload_live(self) -> None:
        if not self._live():
            return
        if self._detail_stale:
            self.reload_detail()
            self._detail_stale = False
        self.reload()

    # -- actions ------------------------------------------------------------------------
    def check_drift(self) -> Any:
        key = self.wanted
        if key is None or not self._live() or not self.can("execute"):
            return None
        self.check_button.setEnabled(False)
        psi = self.psi.isChecked()
        work = self.service.check_drift_as(
            self.context.session.require(), *key, self.window_seconds(), psi
        )

        def done(report: Any) -> None:
            self._update_buttons()
            self.show_message(
                f"{key[0]} {key[1]}: "
                + ("data-set drift" if report.dataset_drift else "no data-set drift")
                + f" — {report.drifted} of {report.tested} features drifted"
                + (" (PSI)." if psi else "."),
                error=report.dataset_drift,
            )
            if key == self.wanted:
                self._show_report(report)
            self.sig_drift_checked.emit(report.id)
            self.reload()

        def failed(exc: BaseException) -> None:
            self._update_buttons()
            self.failed(exc)

        return self.context.tasks.spawn(work, on_done=done, on_error=failed)

    def open_register_dialog(self) -> RegisterModelDialog | None:
        if not self._live() or not self.can("write"):
            return None
        if self.register_dialog is not None:
            self.register_dialog.raise_()
            return self.register_dialog
        dialog = RegisterModelDialog(self.context.tasks, self._register, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "register_dialog", None))
        self.register_dialog = dialog
        dialog.open()
        return dialog

    async def _register(self, form: Registration) -> Any:
        info = await self.service.register_model(
            self.context.session.require(),
            form.name,
            form.version,
            form.task,
            form.features,
            form.frame,
            target=form.target,
            prediction_column=form.prediction_column,
            score_column=form.score_column,
            positive_label=form.positive_label,
        )
        self.show_message(
            f"Registered {info.name} {info.version} with {info.reference_rows:,} reference rows "
            f"and {len(info.features)} features."
        )
        self.wanted = (info.name, info.version)
        self._detail_stale = True
        self.reload()
        return info

    def delete_selected(self) -> Any:
        key = self.wanted
        if key is None or not self._live() or not self.can("delete"):
            return None
        answer = QMessageBox.question(
            self,
            "Delete model",
            f"Delete {key[0]} {key[1]} with its reference data, predictions and drift "
            "reports? This cannot be undone.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        work = self.service.delete_model(self.context.session.require(), *key)

        def done(_result: Any) -> None:
            self.show_message(f"Deleted {key[0]} {key[1]}.")
            self.wanted = None
            self.reload()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)
