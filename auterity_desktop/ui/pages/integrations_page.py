"""Integrations: the connections to DMS/CRM systems, databases, e-mail and web APIs.

The list shows each integration's health as a badge (colour, symbol and word), when it was
last checked, its latency and its circuit breaker. New… opens the wizard (connector type,
then a form generated from the connector's fields, with a connection test before saving);
Edit… opens the same form filled in, with stored secrets left empty to keep them; Test
checks a saved integration and records the outcome; Delete asks first and says the
secrets leave the keyring too. Buttons follow the signed-in role (read, write, execute,
delete); the controller refuses regardless. Every service call runs on the task runner.

The list reloads when the controller reports a change or a check (also the periodic health
checks of other consoles' actions are picked up by a slow poll while the page is shown).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QItemSelection, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.integration_fields import CHOICE_LABELS
from auterity_desktop.ui.widgets.integration_table import (
    STATUS_COLUMN,
    STATUS_TIPS,
    IntegrationTableModel,
    SortRole,
    StatusBadgeDelegate,
    circuit_text,
    latency_text,
    status_text,
)
from auterity_desktop.ui.widgets.integration_wizard import IntegrationWizardDialog
from auterity_desktop.ui.widgets.row_selection import select_row

POLL_MS = 15_000  # the circuit breaker half-opens by itself: keep the list honest
EVENT_DELAY_MS = 100
EVENTS = frozenset({"integration_changed", "integration_checked"})
EMPTY_TITLE = "No integrations yet"
EMPTY_TEXT = (
    "No integrations yet — connect your DMS, CRM, a database, e-mail or any REST API. "
    "Secrets stay in the system keyring."
)
SECRET_CODE = ErrorCode.SECRET_STORE_UNAVAILABLE.value


class IntegrationsPage(ServicePage):
    sig_loaded = Signal()  # the list was (re)loaded
    sig_tested = Signal(str, object)  # integration id, its TestResult

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_integrations")
        self.model = IntegrationTableModel(self._colours)
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.wizard: IntegrationWizardDialog | None = None
        self.wanted: str | None = None  # the id to select after the next load
        self.stopped = False
        self._loaded_once = False
        self.reload = Coalesced(self, self._load)

        # a missing keyring is said loudly: nothing with a secret works without it
        self.keyring_banner = QLabel("")
        self.keyring_banner.setObjectName("HealthError")
        self.keyring_banner.setWordWrap(True)
        self.keyring_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.keyring_banner.font()
        font.setBold(True)
        self.keyring_banner.setFont(font)
        self.keyring_banner.hide()

        # actions
        self.new_button = QPushButton("&New…")
        self.new_button.setToolTip("Connect another system (Ctrl+N)")
        self.new_button.clicked.connect(self.new_integration)
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.setToolTip("Change the selected integration's settings (Enter)")
        self.edit_button.clicked.connect(self.edit_selected)
        self.test_button = QPushButton("&Test")
        self.test_button.setToolTip(
            "Check the selected connection now and record the result (Ctrl+T)"
        )
        self.test_button.clicked.connect(self.test_selected)
        self.delete_button = QPushButton("&Delete")
        self.delete_button.setToolTip("Delete the selected integration and its secrets (Del)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload the list (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.count = QLabel("")
        self.count.setObjectName("PageSubtitle")
        actions = QHBoxLayout()
        for button in (self.new_button, self.edit_button, self.test_button, self.delete_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.count)
        actions.addWidget(self.refresh_button)

        # the list
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.table.setObjectName("IntegrationTable")
        self.table.setAccessibleName("Integrations")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setItemDelegateForColumn(STATUS_COLUMN, StatusBadgeDelegate(self._colours, self))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((220, 200, 150, 150, 90, 200)):
            self.table.setColumnWidth(column, width)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.activated.connect(lambda _index: self.edit_selected())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.empty = EmptyStateWidget()
        self.empty.set_text(EMPTY_TITLE, EMPTY_TEXT)
        self.empty_new_button = self.empty.add_button("New integration…", self.new_button.toolTip())
        self.empty_new_button.clicked.connect(self.new_integration)
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(self.empty)

        # the selected integration
        self.details = QGroupBox("Details")
        self.details_form = QFormLayout(self.details)
        self.details_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.detail_labels: dict[str, QLabel] = {}
        for key, title in (
            ("type", "Type"),
            ("status", "Status"),
            ("checked", "Last checked"),
            ("latency", "Latency"),
            ("circuit", "Circuit breaker"),
            ("error", "Last error"),
            ("settings", "Settings"),
            ("secrets", "Secrets"),
            ("changed", "Changed"),
        ):
            label = QLabel("")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.detail_labels[key] = label
            self.details_form.addRow(f"{title}:", label)
        self.detail_labels["error"].setObjectName("HealthError")
        self.details.hide()

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.list_stack, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([330, 300])

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addWidget(self.keyring_banner)
        layout.addLayout(actions)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)

        context_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=context_)
        QShortcut(QKeySequence.StandardKey.New, self, activated=self.new_integration,
                  context=context_)  # fmt: skip
        QShortcut(QKeySequence("Ctrl+T"), self, activated=self.test_selected, context=context_)
        QShortcut(QKeySequence.StandardKey.Delete, self.table, activated=self.delete_selected,
                  context=Qt.ShortcutContext.WidgetShortcut)  # fmt: skip

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._tick)
        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(EVENT_DELAY_MS)
        self.soon.timeout.connect(self.refresh)
        context.bridge.sig_event.connect(self._on_event)
        self._apply_permissions(None)
        self._update_buttons()
        self.watch_session()

    @property
    def controller(self) -> Any:
        return self.platform.integrations

    # -- permissions ------------------------------------------------------------------
    def can(self, action: str) -> bool:
        return self.has(f"integrations:{action}")

    def _apply_permissions(self, principal: Any) -> None:
        granted = set(principal.permissions) if principal is not None else set()
        self.new_button.setVisible("integrations:write" in granted)
        self.empty_new_button.setVisible("integrations:write" in granted)
        self.edit_button.setVisible("integrations:write" in granted)
        self.test_button.setVisible("integrations:execute" in granted)
        self.delete_button.setVisible("integrations:delete" in granted)

    def on_signed_in(self, principal: Any) -> None:
        self._apply_permissions(principal)
        self._update_buttons()
        self.poll.start()
        self.refresh()

    # -- loading ----------------------------------------------------------------------
    def refresh(self) -> Any:
        if not self._live():
            return None
        return self.reload()

    async def _load(self) -> None:
        actor = self.context.session.require()
        controller = self.controller
        if not self.model.titles:
            self.model.titles = {c.kind: c.title for c in controller.connector_types()}
        rows = await controller.list_integrations(actor)
        keep = self.wanted or self.selected_id()
        self.model.set_rows(rows)
        if keep is not None and self.model.row_of(keep) >= 0:
            self.select(keep)
            if keep == self.wanted:
                self.wanted = None
        self._loaded_once = True
        self._update_empty_state()
        self._show_details()
        self._update_buttons()
        self.sig_loaded.emit()

    def _update_empty_state(self) -> None:
        shown = self.model.rowCount()
        self.count.setText(f"{shown} integration{'' if shown == 1 else 's'}" if shown else "")
        self.list_stack.setCurrentWidget(self.table if shown else self.empty)
        if not shown and not self.can("write"):
            self.empty.set_text(EMPTY_TITLE, EMPTY_TEXT + " An administrator can set them up.")
        elif not shown:
            self.empty.set_text(EMPTY_TITLE, EMPTY_TEXT)

    # -- selection --------------------------------------------------------------------
    def selected_id(self) -> str | None:
        info = self.selected()
        return None if info is None else str(info.id)

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.integration(self.proxy.mapToSource(rows[0]).row())

    def select(self, integration_id: str) -> bool:
        row = self.model.row_of(integration_id)
        if row < 0:
            return False
        select_row(self.table, self.proxy.mapFromSource(self.model.index(row, 0)))
        return True

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_details()
        self._update_buttons()

    def _update_buttons(self) -> None:
        info = self.selected()
        for button in (self.edit_button, self.delete_button):
            button.setEnabled(info is not None)
        self.test_button.setEnabled(info is not None and info.id not in self.model.testing)

    def _show_details(self) -> None:
        info = self.selected()
        self.details.setVisible(info is not None)
        if info is None:
            return
        self.details.setTitle(info.name)
        labels = self.detail_labels
        labels["type"].setText(self.model.titles.get(info.kind, info.kind))
        status = self.model.status_of(info)
        labels["status"].setText(f"{status_text(status)} — {STATUS_TIPS.get(status, '')}")
        labels["checked"].setText(_when(info.last_checked_at) or "never")
        labels["latency"].setText(latency_text(info.last_latency))
        labels["circuit"].setText(circuit_text(info.circuit))
        labels["error"].setText(info.last_error or "—")
        restyle(labels["error"], "HealthError" if info.last_error else "PageSubtitle")
        labels["settings"].setText(_settings_text(info.config, self._spec(info.kind)))
        labels["secrets"].setText(self._secrets_text(info) or "none needed")
        labels["changed"].setText(f"{_when(info.updated_at)}  ·  set up by {info.created_by}")

    def _spec(self, kind: str) -> Any:
        return next((c for c in self._connectors() if c.kind == kind), None)

    def _field_labels(self, kind: str) -> dict[str, str]:
        spec = self._spec(kind)
        return {f.name: f.label for f in spec.fields} if spec is not None else {}

    def _secrets_text(self, info: Any) -> str:
        spec = self._spec(info.kind)
        label = self._field_labels(info.kind)
        return "\n".join(
            f"{label.get(name, name)}: {'stored in the system keyring' if stored else 'not set'}"
            for name, stored in info.secrets.items()
            if stored or spec is None or _relevant(spec, name, info.config)
        )

    def _connectors(self) -> list[Any]:
        platform = self.context.bridge.platform
        return list(platform.integrations.connector_types()) if platform is not None else []

    # -- live updates -----------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self.stopped = True
            self.poll.stop()
            self.soon.stop()
        elif event.name in EVENTS:
            self.soon.start()

    def _tick(self) -> None:
        if not self._live():
            self.poll.stop()
        elif self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._loaded_once:
            self.refresh()

    # -- errors -----------------------------------------------------------------------
    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, ServiceError) and exc.code == ErrorCode.SECRET_STORE_UNAVAILABLE:
            self.show_keyring_problem(exc.message)
        super().failed(exc)

    def show_keyring_problem(self, text: str) -> None:
        self.keyring_banner.setText(f"⚠ System keyring: {text}")
        self.keyring_banner.show()

    # -- actions ----------------------------------------------------------------------
    def _open_wizard(self, existing: Any | None) -> IntegrationWizardDialog | None:
        if not self._live() or not self.can("write"):
            return None
        actor = self.context.session.require()
        controller = self.controller
        saved_id = existing.id if existing is not None else None

        def test(config: dict[str, Any]) -> Any:
            # an edited form: secrets left empty are the stored ones
            return controller.test_connection(actor, integration_id=saved_id, config=config)

        def save(config: dict[str, Any]) -> Any:
            if saved_id is None:
                return controller.establish_connection(actor, config)
            return controller.update(actor, saved_id, config)

        dialog = IntegrationWizardDialog(
            controller.connector_types(),
            validate=controller.validate_config,
            test=test if self.can("execute") else None,
            save=save,
            tasks=self.context.tasks,
            existing=existing,
            taken_names=[self.model.integration(r).name for r in range(self.model.rowCount())],
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_saved.connect(lambda info: self._saved(info, existing is None))
        dialog.sig_tested.connect(self._wizard_tested)
        dialog.finished.connect(lambda _r: self._wizard_closed(dialog))
        self.wizard = dialog
        dialog.open()
        return dialog

    def _wizard_closed(self, dialog: IntegrationWizardDialog) -> None:
        if self.wizard is dialog:
            self.wizard = None

    def _wizard_tested(self, result: Any) -> None:
        code = getattr(result, "code", None) or (getattr(result, "details", None) or {}).get("code")
        if str(code) == SECRET_CODE:
            self.show_keyring_problem(getattr(result, "message", ""))

    def _saved(self, info: Any, created: bool) -> None:
        self.show_message(f"Saved {info.name}" + (" — press Test to check it." if created else "."))
        self.keyring_banner.hide()  # the keyring just took a secret (or was not needed)
        self.wanted = info.id
        self.refresh()

    def new_integration(self) -> IntegrationWizardDialog | None:
        return self._open_wizard(None)

    def edit_selected(self) -> IntegrationWizardDialog | None:
        info = self.selected()
        return None if info is None else self._open_wizard(info)

    def test_selected(self) -> Any:
        info = self.selected()
        if info is None or not self._live() or not self.can("execute"):
            return None
        if info.id in self.model.testing:
            return None
        self.model.set_testing(info.id, True)
        self._update_buttons()
        self._show_details()
        self.show_message(f"Testing {info.name}…")
        work = self.controller.test_connection(self.context.session.require(), info.id)

        def ended() -> None:
            self.model.set_testing(info.id, False)
            self._update_buttons()

        def done(result: Any) -> None:
            ended()
            text = f"{info.name}: {status_text(result.status)}"
            if result.latency is not None:
                text += f" · {latency_text(result.latency)}"
            if result.message:
                text += f" — {result.message}"
            self.show_message(text, error=not result.ok)
            if (result.details or {}).get("code") == SECRET_CODE:
                self.show_keyring_problem(result.message)
            self.sig_tested.emit(info.id, result)
            self.refresh()

        def failed(exc: BaseException) -> None:
            ended()
            self.failed(exc)
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=failed)

    def delete_selected(self) -> Any:
        info = self.selected()
        if info is None or not self._live() or not self.can("delete"):
            return None
        stored = [name for name, is_set in info.secrets.items() if is_set]
        secrets = (
            f"Its stored secrets ({len(stored)}) are removed from the system keyring."
            if stored
            else "Its stored secrets are removed from the system keyring (it has none now)."
        )
        answer = QMessageBox.question(
            self,
            "Delete integration",
            f"Delete the integration “{info.name}”?\n\n{secrets} Workflows that use it "
            "fail until it is set up again. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        work = self.controller.delete(self.context.session.require(), info.id)

        def done(_result: Any) -> None:
            self.show_message(f"Deleted {info.name} and its secrets.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _settings_text(config: dict[str, Any], spec: Any) -> str:
    """The settings that apply, in the form's order and with its labels."""
    if spec is not None:
        order = [(f.name, f.label) for f in spec.relevant(config) if not f.secret]
        enums = {f.name for f in spec.fields if f.type == "enum"}
    else:
        order, enums = [(key, key) for key in config], set()
    lines = []
    for key, label in order:
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, dict):
            value = ", ".join(f"{k} → {v}" for k, v in value.items()) or "—"
        elif isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, str):
            value = CHOICE_LABELS.get(value, value) if key in enums else value
        lines.append(f"{label}: {value}")
    return "\n".join(lines) or "—"


def _relevant(spec: Any, field: str, config: dict[str, Any]) -> bool:
    return any(f.name == field for f in spec.relevant(config))
