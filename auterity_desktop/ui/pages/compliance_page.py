"""Compliance: the policies, the latest violations (with a jump to the offending node) and
the report export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.compliance.engine import CheckResult, ComplianceReport, PolicyState
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.empty_state import set_empty_text

POLICY_COLUMNS = ("Enabled", "Policy", "Severity", "Applies to", "Id")
FINDING_COLUMNS = ("Checked", "Subject", "Policy", "Node", "Finding")
NO_CHECKS = "No checks have run yet. Press Check settings now to check the settings."
NO_FINDINGS = "No violations: everything checked passed the enabled policies. Nothing to do."


class CompliancePage(ServicePage):
    sig_open_node = Signal(str, str)  # workflow id, node id
    sig_loaded = Signal()

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_compliance")
        self.policies: list[PolicyState] = []
        self.findings: list[tuple[CheckResult, Any]] = []
        self.report: ComplianceReport | None = None
        self._filling = False

        self.policy_table = QTableWidget(0, len(POLICY_COLUMNS))
        self.policy_table.setObjectName("PolicyTable")
        self.policy_table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.policy_table.setHorizontalHeaderLabels(list(POLICY_COLUMNS))
        self.policy_table.verticalHeader().hide()
        self.policy_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.policy_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.policy_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.policy_table.itemChanged.connect(self._enabled_toggled)
        self.policy_editor = QPlainTextEdit()
        self.policy_editor.setPlaceholderText(
            '{"id": "pci-retention", "title": "Keep audit a year", "severity": "high",\n'
            ' "applies_to": "settings", "rule": {"kind": "min_audit_retention", "min_days": 365}}'
        )
        self.policy_editor.setMaximumHeight(90)
        self.policy_editor.setAccessibleName("Custom policy (JSON)")
        self.policy_editor.setTabChangesFocus(True)  # Tab goes on to "Add policy"
        self.add_policy_button = QPushButton("&Add policy")
        self.add_policy_button.setToolTip("Add or update a custom policy from the JSON above")
        self.add_policy_button.clicked.connect(
            lambda: self.add_policy(self.policy_editor.toPlainText())
        )
        policies_box = QGroupBox("Policies")
        policies_layout = QVBoxLayout(policies_box)
        policies_layout.addWidget(self.policy_table)
        row = QHBoxLayout()
        row.addWidget(self.policy_editor, 1)
        row.addWidget(self.add_policy_button, 0, Qt.AlignmentFlag.AlignTop)
        policies_layout.addLayout(row)

        self.summary = QLabel("No checks have run yet.")
        self.summary.setObjectName("PageSubtitle")
        self.findings_table = QTableWidget(0, len(FINDING_COLUMNS))
        self.findings_table.setObjectName("FindingsTable")
        self.findings_table.setTabKeyNavigation(False)
        self.findings_table.setHorizontalHeaderLabels(list(FINDING_COLUMNS))
        self.findings_table.verticalHeader().hide()
        self.findings_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.findings_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.findings_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.findings_table.horizontalHeader().setStretchLastSection(True)
        self.findings_table.setToolTip(
            "Double-click a finding to open the node in the workflow editor"
        )
        self.findings_table.cellDoubleClicked.connect(lambda r, _c: self.open_finding(r))
        set_empty_text(self.findings_table, NO_CHECKS)
        self.check_settings_button = QPushButton("Check &settings now")
        self.check_settings_button.setToolTip(
            "Check the current settings against the enabled policies now"
        )
        self.check_settings_button.clicked.connect(self.check_settings)
        self.export_button = QPushButton("&Export report…")
        self.export_button.setToolTip("Write the policies and the latest results as an HTML report")
        self.export_button.clicked.connect(self._choose_export)
        findings_box = QGroupBox("Latest results")
        findings_layout = QVBoxLayout(findings_box)
        findings_layout.addWidget(self.summary)
        findings_layout.addWidget(self.findings_table)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_settings_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        findings_layout.addLayout(buttons)

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addWidget(policies_box, 1)
        layout.addWidget(findings_box, 1)
        layout.addWidget(self.message)

        self.watch_session()

    @property
    def _engine(self) -> Any:
        return self.platform.compliance

    def on_signed_in(self, principal: Any) -> None:
        can_edit = "settings:write" in principal.permissions
        self.add_policy_button.setVisible(can_edit)
        self.policy_editor.setVisible(can_edit)
        self.refresh()

    def refresh(self) -> Any:
        return self.context.tasks.spawn(self._load())

    async def _load(self) -> None:
        self.policies = await self._engine.policies()
        self.report = await self._engine.report_for(self.context.session.require())
        can_edit = "settings:write" in self.context.session.require().permissions
        self._filling = True
        self.policy_table.setRowCount(len(self.policies))
        for row, state in enumerate(self.policies):
            enabled = QTableWidgetItem()
            flags = Qt.ItemFlag.ItemIsEnabled | (
                Qt.ItemFlag.ItemIsUserCheckable if can_edit else Qt.ItemFlag.NoItemFlags
            )
            enabled.setFlags(flags)
            enabled.setCheckState(
                Qt.CheckState.Checked if state.enabled else Qt.CheckState.Unchecked
            )
            self.policy_table.setItem(row, 0, enabled)
            p = state.policy
            for column, text in enumerate((p.title, p.severity, p.applies_to, p.id), start=1):
                item = QTableWidgetItem(text)
                item.setToolTip(p.description)
                self.policy_table.setItem(row, column, item)
        self._filling = False
        self.findings = [(result, v) for result in self.report.latest for v in result.violations]
        self.findings_table.setRowCount(len(self.findings))
        for row, (result, violation) in enumerate(self.findings):
            values = (
                result.checked_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                result.subject_id,
                violation.policy_id,
                violation.node_id or "—",
                violation.message,
            )
            for column, text in enumerate(values):
                self.findings_table.setItem(row, column, QTableWidgetItem(text))
        report = self.report
        set_empty_text(self.findings_table, NO_FINDINGS if report.checks else NO_CHECKS)
        score = "n/a" if report.score is None else f"{report.score:.0f}"
        self.summary.setText(
            f"{report.checks} checks · {report.violations} violations · score {score} "
            f"(share of applicable policies passed, averaged over all checks)"
        )
        self.sig_loaded.emit()

    def _enabled_toggled(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        state = self.policies[item.row()]
        enabled = item.checkState() == Qt.CheckState.Checked
        work = self._engine.set_enabled(self.context.session.require(), state.policy.id, enabled)
        self.context.tasks.spawn(work, on_done=lambda _r: self.refresh(), on_error=self.failed)

    def add_policy(self, text: str) -> Any:
        work = self._engine.save_policy(self.context.session.require(), text)

        def done(policy: Any) -> None:
            self.show_message(f"Saved policy {policy.id}.")
            self.policy_editor.clear()
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def check_settings(self) -> Any:
        settings = self.context.settings
        actor = self.context.session.require().username
        work = self._engine.check_settings(settings, actor=actor)
        return self.context.tasks.spawn(
            work, on_done=lambda _r: self.refresh(), on_error=self.failed
        )

    def open_finding(self, row: int) -> None:
        result, violation = self.findings[row]
        if result.subject_type == "workflow" and violation.node_id:
            self.sig_open_node.emit(result.subject_id, violation.node_id)
        else:
            self.show_message("This finding is about the settings; see Settings for the value.")

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export compliance report", "compliance-report.html", "HTML (*.html)"
        )
        if path:
            self.export_report(Path(path))

    def export_report(self, path: Path) -> Any:
        work = self._engine.export_report_html(self.context.session.require(), path)
        return self.context.tasks.spawn(
            work,
            on_done=lambda _r: self.show_message(f"Report written to {path}."),
            on_error=self.failed,
        )
