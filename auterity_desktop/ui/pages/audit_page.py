"""Audit log: a lazily loaded, filterable, sortable table with a detail pane, chain
verification with progress, and export of the filtered view."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QWidget,
)

from auterity_desktop.services.compliance.audit_trail import OUTCOMES, AuditFilter, VerifyResult
from auterity_desktop.ui.models.audit_table_model import AuditTableModel
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.style import restyle

ANY = "(any)"


class AuditPage(ServicePage):
    sig_verified = Signal(object)  # VerifyResult
    sig_exported = Signal(int)

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_audit")
        self.model: AuditTableModel | None = None

        # filters
        now = QDateTime.currentDateTime()
        self.use_start = QCheckBox("From")
        self.start = QDateTimeEdit(now.addDays(-7))
        self.use_end = QCheckBox("To")
        self.end = QDateTimeEdit(now.addDays(1))
        for edit, name in ((self.start, "From date"), (self.end, "To date")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setAccessibleName(name)
        self.actor = QComboBox()
        self.actor.setEditable(True)
        self.action = QComboBox()
        self.action.setEditable(True)
        for combo, label in ((self.actor, "Actor"), (self.action, "Action")):
            combo.addItem(ANY)
            combo.setAccessibleName(label)
            combo.setMinimumWidth(140)
        self.resource = QLineEdit()
        self.resource.setPlaceholderText("e.g. users/alice")
        self.outcome = QComboBox()
        self.outcome.addItems([ANY, *OUTCOMES])
        self.outcome.setMaximumWidth(160)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Search in entries…")
        self.text.setClearButtonEnabled(True)
        self.apply_button = QPushButton("&Apply filters")
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip("Show the entries that match the filters (Enter)")
        self.apply_button.clicked.connect(self.apply_filters)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Reset the filters and show every entry")
        self.clear_button.clicked.connect(self.clear_filters)
        for line in (self.resource, self.text):
            line.returnPressed.connect(self.apply_filters)

        self.text.setAccessibleName("Search")

        def label(text: str, buddy: QWidget) -> QLabel:
            widget = QLabel(text)
            widget.setBuddy(buddy)
            return widget

        grid = QGridLayout()
        grid.addWidget(self.use_start, 0, 0)
        grid.addWidget(self.start, 0, 1)
        grid.addWidget(self.use_end, 0, 2)
        grid.addWidget(self.end, 0, 3)
        grid.addWidget(label("O&utcome:", self.outcome), 0, 4)
        grid.addWidget(self.outcome, 0, 5)
        grid.addWidget(label("Ac&tor:", self.actor), 1, 0)
        grid.addWidget(self.actor, 1, 1)
        grid.addWidget(label("Acti&on:", self.action), 1, 2)
        grid.addWidget(self.action, 1, 3)
        grid.addWidget(label("&Resource:", self.resource), 1, 4)
        grid.addWidget(self.resource, 1, 5)
        grid.addWidget(self.text, 2, 0, 1, 4)
        grid.addWidget(self.apply_button, 2, 4)
        grid.addWidget(self.clear_button, 2, 5, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(5, 1)

        # table and detail
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.table.setObjectName("AuditTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlaceholderText("Select an entry to see everything it recorded.")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        # actions
        self.status = QLabel("")
        self.status.setObjectName("PageSubtitle")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.verify_button = QPushButton("&Verify chain")
        self.verify_button.setToolTip(
            "Recompute every hash and name the first entry that was changed"
        )
        self.verify_button.clicked.connect(self.verify)
        self.export_button = QPushButton("&Export view…")
        self.export_button.setToolTip(
            "Write the filtered entries with their hashes (JSON Lines or CSV)"
        )
        self.export_button.clicked.connect(self._choose_export)
        self.verify_result = QLabel("")
        self.verify_result.setWordWrap(True)
        actions = QHBoxLayout()
        actions.addWidget(self.status, 1)
        actions.addWidget(self.progress)
        actions.addWidget(self.verify_button)
        actions.addWidget(self.export_button)

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addLayout(grid)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.verify_result)
        layout.addWidget(self.message)
        layout.addLayout(actions)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.text.setFocus)

        self.watch_session()

    # -- wiring -------------------------------------------------------------------------
    def on_signed_in(self, principal: Any) -> None:
        if self.model is not None:
            return
        self.model = AuditTableModel(self._page, self.context.tasks)
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((70, 150, 120, 190, 200)):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.sig_loaded.connect(
            lambda n: self.status.setText(f"{n:,} entries loaded — scroll for more")
        )
        self.context.tasks.spawn(self.model.reload())
        self.context.tasks.spawn(self._fill_choices())

    async def _page(self, flt: AuditFilter, **kwargs: Any) -> Any:
        return await self.platform.compliance.audit_page(
            self.context.session.require(), flt, **kwargs
        )

    async def _fill_choices(self) -> None:
        for combo, column in ((self.actor, "actor"), (self.action, "action")):
            values = await self.platform.compliance.audit_values(
                self.context.session.require(), column
            )
            current = combo.currentText()
            combo.clear()
            combo.addItems([ANY, *values])
            combo.setCurrentText(current)

    def current_filter(self) -> AuditFilter:
        def value(combo: QComboBox) -> str | None:
            text = combo.currentText().strip()
            return None if text in ("", ANY) else text

        def when(check: QCheckBox, edit: QDateTimeEdit) -> datetime | None:
            return edit.dateTime().toPython().astimezone(UTC) if check.isChecked() else None  # type: ignore[union-attr]

        return AuditFilter(
            start=when(self.use_start, self.start),
            end=when(self.use_end, self.end),
            actor=value(self.actor),
            action=value(self.action),
            resource=self.resource.text().strip() or None,
            outcome=value(self.outcome),
            text=self.text.text().strip() or None,
        )

    def apply_filters(self) -> Any:
        if self.model is None:
            return None
        self.detail.clear()
        return self.context.tasks.spawn(self.model.reload(self.current_filter()))

    def clear_filters(self) -> Any:
        for check in (self.use_start, self.use_end):
            check.setChecked(False)
        for combo in (self.actor, self.action, self.outcome):
            combo.setCurrentIndex(0)
        self.resource.clear()
        self.text.clear()
        return self.apply_filters()

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self.model is None or not selected.indexes():
            return
        entry = self.model.entry(selected.indexes()[0].row())
        self.detail.setPlainText(json.dumps(entry.to_export(), indent=2, ensure_ascii=False))

    # -- verify and export --------------------------------------------------------------
    def verify(self) -> Any:
        platform = self.platform
        self.verify_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.verify_result.setText("Verifying the chain…")

        def progress(done: int, total: int) -> None:
            # called from the worker thread on SQLite: hop to the GUI thread
            QTimer.singleShot(0, self, lambda: self._progress(done, total))

        async def run() -> VerifyResult:
            return await platform.compliance.verify_audit(self.context.session.require(), progress)

        return self.context.tasks.spawn(run(), on_done=self._verified, on_error=self._verify_failed)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _verified(self, result: VerifyResult) -> None:
        self.verify_button.setEnabled(True)
        self.progress.hide()
        if result.ok:
            restyle(self.verify_result, "HealthOk")
            self.verify_result.setText(f"✔ {result.message} Head hash {result.head_hash}")
        else:
            restyle(self.verify_result, "HealthError")
            self.verify_result.setText(
                f"✘ Verification failed at entry {result.first_bad_seq}: {result.message}"
            )
        self.sig_verified.emit(result)

    def _verify_failed(self, exc: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.progress.hide()
        self.verify_result.setText("")
        self.failed(exc)

    def _choose_export(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export audit entries", "audit-export.jsonl", "JSON Lines (*.jsonl);;CSV (*.csv)"
        )
        if path:
            self.export_to(
                Path(path), "csv" if "csv" in chosen or path.endswith(".csv") else "jsonl"
            )

    def export_to(self, path: Path, fmt: str) -> Any:
        platform = self.platform
        flt = self.current_filter()

        async def run() -> int:
            return await platform.compliance.export_audit(
                self.context.session.require(), path, fmt, flt
            )

        def done(count: int) -> None:
            self.status.setText(f"Exported {count:,} entries to {path}")
            self.sig_exported.emit(count)

        return self.context.tasks.spawn(run(), on_done=done, on_error=self.failed)
