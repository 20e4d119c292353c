"""Alerts: what is firing now, what fired before, the rules behind them and the silences.

Open alerts (pending and firing; firing and most severe first) show their value, since
when, whether someone acknowledged or silenced them, and in full below the list: message,
labels, the history of their states and every notification sent. Acknowledge and Silence
ask for a note, a duration and a reason. Past alerts are paged on the server. The rules
table shows each rule's condition in one line, with a checkbox to enable it; the rule
editor has the fields of each kind and checks them as you type.

The page reloads when the alert service announces a change (and every few seconds while
shown, for other consoles' changes). Buttons follow the signed-in role — analytics write:
acknowledge, silence, edit rules; delete: delete rules; execute: evaluate now — and the
service refuses regardless.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.ui.models.alert_models import (
    OpenAlertTableModel,
    PastAlertTableModel,
    RuleTableModel,
    SilenceTableModel,
)
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.alert_detail import AlertDetailView
from auterity_desktop.ui.widgets.alert_dialogs import AcknowledgeDialog, SilenceDialog
from auterity_desktop.ui.widgets.alert_rule_dialog import RuleEditorDialog
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.row_selection import select_row
from auterity_desktop.ui.widgets.table_views import sortable_table, stacked

POLL_MS = 5000
EVENT_DELAY_MS = 100
PAGE_SIZE = 100
EVENTS = frozenset(
    {"alert_firing", "alert_resolved", "alert_acknowledged", "alerts_changed",
     "alert_rules_changed", "team_resync"}
)  # fmt: skip
OPEN_TAB, HISTORY_TAB, RULES_TAB, SILENCES_TAB = range(4)
SENDING_KINDS = ("email", "rest", "dms")

Index = QModelIndex | QPersistentModelIndex


class _RuleToggleModel(RuleTableModel):
    """The rules table, whose checkbox asks the page to enable or disable a rule."""

    def __init__(self, page: AlertsPage) -> None:
        super().__init__(page._colours)
        self._page = page
        self.checkable = False

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == 0 and self.checkable:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0 and self.checkable:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            self._page.set_enabled(self.item(index.row()).id, checked)
        return False  # the reload shows what the service made of it


def _widths(table: QTableView, widths: tuple[int, ...], stretch: int) -> None:
    for column, width in enumerate(widths):
        if width:
            table.setColumnWidth(column, width)
    table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


class AlertsPage(ServicePage):
    sig_loaded = Signal()  # open alerts, rules and silences were (re)loaded
    sig_history_loaded = Signal()

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_alerts")
        self.loaded = False
        self.history_offset = 0
        self.history_total = 0
        self.metric_names: list[str] = []
        self.notifiers: list[tuple[str, str]] = []
        self.rule_dialog: RuleEditorDialog | None = None
        self.action_dialog: Any = None
        self._wanted: str | None = None  # an alert to select once it is loaded
        self._stopped = False
        self.reload = Coalesced(self, self._load)
        self.reload_history = Coalesced(self, self._load_history)

        self.new_rule_button = QPushButton("&New rule…")
        self.new_rule_button.setToolTip("Watch a metric: threshold, rate, anomaly or absence")
        self.new_rule_button.clicked.connect(self.new_rule)
        self.evaluate_button = QPushButton("&Evaluate now")
        self.evaluate_button.setToolTip("Check every rule against the latest samples now")
        self.evaluate_button.clicked.connect(self.evaluate_now)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload alerts, rules and silences (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("")
        self.summary.setObjectName("PageSubtitle")
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.new_rule_button)
        toolbar.addWidget(self.evaluate_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.summary)
        toolbar.addWidget(self.refresh_button)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_open_tab(), "&Firing now")
        self.tabs.addTab(self._build_history_tab(), "&History")
        self.tabs.addTab(self._build_rules_tab(), "&Rules")
        self.tabs.addTab(self._build_silences_tab(), "&Silences")
        self.tabs.currentChanged.connect(self._tab_changed)

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addLayout(toolbar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)

        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=scope)
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

    # -- building ---------------------------------------------------------------------
    def _build_open_tab(self) -> QWidget:
        self.open_model = OpenAlertTableModel(self._colours)
        self.open_table = sortable_table("OpenAlertTable", self.open_model, sort_column=0)
        self.open_table.setAccessibleName("Open alerts")
        _widths(self.open_table, (95, 250, 0, 80, 150, 190, 120), 2)
        self.open_table.selectionModel().selectionChanged.connect(self._open_selected)
        self.open_empty = EmptyStateWidget()
        self.open_empty.set_text("Nothing is firing", "")
        self.open_rules_button = self.open_empty.add_button(
            "Show rules", "See what the rules watch and when they fire"
        )
        self.open_rules_button.clicked.connect(lambda: self.tabs.setCurrentIndex(RULES_TAB))
        self.open_stack = stacked(self.open_table, self.open_empty)
        self.open_detail = AlertDetailView()
        self.ack_button = QPushButton("&Acknowledge…")
        self.ack_button.setToolTip("Record that you are on it, with a note")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.silence_button = QPushButton("Si&lence…")
        self.silence_button.setToolTip("Send nothing about it (or its rule) for a while")
        self.silence_button.clicked.connect(self.silence_selected)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.ack_button)
        actions.addWidget(self.silence_button)
        actions.addStretch(1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.open_stack, 1)
        top_layout.addLayout(actions)
        return self._split(top, self.open_detail, None)

    def _build_history_tab(self) -> QWidget:
        self.past_model = PastAlertTableModel(self._colours)
        self.past_table = sortable_table(
            "PastAlertTable", self.past_model, sort_column=4, descending=True
        )
        self.past_table.setAccessibleName("Past alerts")
        _widths(self.past_table, (95, 230, 0, 150, 150, 95, 110), 2)
        self.past_table.selectionModel().selectionChanged.connect(self._past_selected)
        self.past_empty = EmptyStateWidget()
        self.past_empty.set_text(
            "No past alerts", "Alerts appear here once they have resolved, with how long they "
            "lasted, who acknowledged them and what was sent. Check Firing now for alerts "
            "that still hold."
        )  # fmt: skip
        self.past_stack = stacked(self.past_table, self.past_empty)
        self.past_detail = AlertDetailView()
        self.range_label = QLabel("")
        self.range_label.setObjectName("PageSubtitle")
        self.newer_button = QPushButton("◀ Newer")
        self.newer_button.setToolTip(f"The {PAGE_SIZE} alerts that resolved after these")
        self.newer_button.clicked.connect(lambda: self._turn(-1))
        self.older_button = QPushButton("Older ▶")
        self.older_button.setToolTip(f"The {PAGE_SIZE} alerts that resolved before these")
        self.older_button.clicked.connect(lambda: self._turn(1))
        pager = QHBoxLayout()
        pager.addStretch(1)
        pager.addWidget(self.range_label)
        pager.addWidget(self.newer_button)
        pager.addWidget(self.older_button)
        return self._split(self.past_stack, self.past_detail, pager)

    def _build_rules_tab(self) -> QWidget:
        self.rule_model = _RuleToggleModel(self)
        self.rule_table = sortable_table("RuleTable", self.rule_model, sort_column=1)
        self.rule_table.setAccessibleName("Alert rules")
        _widths(self.rule_table, (40, 300, 120, 0, 95, 200), 3)
        self.rule_table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.rule_table.activated.connect(lambda _i: self.edit_rule())
        self.rule_empty = EmptyStateWidget()
        self.rule_empty.set_text(
            "No alert rules", "Rules watch the metrics: a threshold (memory above 95 %), a rate "
            "of change (failed runs per minute), an anomaly, or data that stops arriving."
        )  # fmt: skip
        self.rule_stack = stacked(self.rule_table, self.rule_empty)
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.setToolTip("Change the selected rule (Enter)")
        self.edit_button.clicked.connect(self.edit_rule)
        self.toggle_button = QPushButton("Disable")
        self.toggle_button.setToolTip("Stop or resume watching with the selected rule")
        self.toggle_button.clicked.connect(self.toggle_selected_rule)
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.setToolTip("Delete the selected rule; its past alerts stay")
        self.delete_button.clicked.connect(self.delete_selected_rule)
        self.add_rule_button = QPushButton("New rule…")
        self.add_rule_button.setToolTip("Watch a metric: threshold, rate, anomaly or absence")
        self.add_rule_button.clicked.connect(self.new_rule)
        actions = QHBoxLayout()
        actions.addStretch(1)
        for button in (self.add_rule_button, self.edit_button, self.toggle_button,
                       self.delete_button):  # fmt: skip
            actions.addWidget(button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.rule_stack, 1)
        layout.addLayout(actions)
        return tab

    def _build_silences_tab(self) -> QWidget:
        self.silence_model = SilenceTableModel(self._colours)
        self.silence_table = sortable_table("SilenceTable", self.silence_model, sort_column=2)
        self.silence_table.setAccessibleName("Silences")
        _widths(self.silence_table, (260, 0, 160, 110), 1)
        self.silence_table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_buttons()
        )
        self.silence_empty = EmptyStateWidget()
        self.silence_empty.set_text(
            "No silences", "Silence an alert or a rule from the Firing now tab, for example "
            "during planned maintenance. Lifted or expired silences disappear from here."
        )  # fmt: skip
        self.silence_stack = stacked(self.silence_table, self.silence_empty)
        self.unsilence_button = QPushButton("&Lift silence")
        self.unsilence_button.setToolTip("Send notifications about it again from now on")
        self.unsilence_button.clicked.connect(self.unsilence_selected)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.unsilence_button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.silence_stack, 1)
        layout.addLayout(actions)
        return tab

    @staticmethod
    def _split(top: QWidget, bottom: QWidget, actions: QHBoxLayout | None) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([300, 200])
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(splitter, 1)
        if actions is not None:
            layout.addLayout(actions)
        return tab

    def _colours(self) -> dict[str, str]:
        return self.context.theme.colors

    @property
    def service(self) -> Any:
        return self.platform.alerts

    # -- permissions ------------------------------------------------------------------
    def can(self, action: str) -> bool:
        principal = self.context.session.principal
        return principal is not None and f"analytics:{action}" in principal.permissions

    def _apply_permissions(self, principal: Any) -> None:
        granted = set(principal.permissions) if principal is not None else set()
        write = "analytics:write" in granted
        for button in (self.new_rule_button, self.add_rule_button, self.edit_button,
                       self.toggle_button, self.ack_button, self.silence_button,
                       self.unsilence_button):  # fmt: skip
            button.setVisible(write)
        self.delete_button.setVisible("analytics:delete" in granted)
        self.evaluate_button.setVisible("analytics:execute" in granted)
        self.rule_model.checkable = write

    def on_signed_in(self, principal: Any) -> None:
        self._apply_permissions(principal)
        self._update_buttons()
        self.poll.start()
        self.refresh()

    def _live(self) -> bool:
        platform = self.context.bridge.platform
        return (
            not self._stopped
            and self.context.session.signed_in
            and platform is not None
            and platform.running
        )

    # -- loading ----------------------------------------------------------------------
    def refresh(self) -> Any:
        if not self._live():
            return None
        if self.tabs.currentIndex() == HISTORY_TAB or not self.past_model.rowCount():
            self.reload_history()
        return self.reload()

    async def _load(self) -> None:
        principal = self.context.session.require()
        service = self.service
        page = await service.list_alerts(principal, state="open", limit=500)
        rules = await service.list_rules(principal)
        silences = await service.list_silences(principal)
        if "integrations:read" in principal.permissions:
            integrations = await self.platform.integrations.list_integrations(principal)
            self.notifiers = [(i.name, i.kind) for i in integrations if i.kind in SENDING_KINDS]
        self.metric_names = service.metric_names()
        _keep_selection(self.open_table, self.open_model, page.items)
        firing_by_rule: dict[str, int] = {}
        for alert in page.items:
            if alert.rule_id:
                firing_by_rule[alert.rule_id] = firing_by_rule.get(alert.rule_id, 0) + 1
        self.rule_model.firing = firing_by_rule
        _keep_selection(self.rule_table, self.rule_model, rules)
        _keep_selection(self.silence_table, self.silence_model, silences)
        self._show_open_state(page.items, rules)
        self.rule_stack.setCurrentWidget(self.rule_table if rules else self.rule_empty)
        self.silence_stack.setCurrentWidget(self.silence_table if silences else self.silence_empty)
        firing = sum(a.state == "firing" for a in page.items)
        pending = len(page.items) - firing
        self.tabs.setTabText(OPEN_TAB, f"&Firing now ({firing})" if firing else "&Firing now")
        self.tabs.setTabText(RULES_TAB, f"&Rules ({len(rules)})")
        self.tabs.setTabText(SILENCES_TAB, f"&Silences ({len(silences)})" if silences
                             else "&Silences")  # fmt: skip
        enabled = sum(r.enabled for r in rules)
        self.summary.setText(
            f"{firing} firing · {pending} pending · {enabled} of {len(rules)} rules on"
        )
        self._open_selected()
        self.loaded = True
        if self._wanted is not None:
            self.select_alert(self._wanted)
        self._update_buttons()
        self.sig_loaded.emit()

    def _show_open_state(self, alerts: list[Any], rules: list[Any]) -> None:
        if alerts:
            self.open_stack.setCurrentWidget(self.open_table)
            return
        enabled = sum(r.enabled for r in rules)
        self.open_empty.set_text(
            "Nothing is firing",
            f"{enabled} rule{'' if enabled == 1 else 's'} watching the metrics; an alert shows "
            "here while its condition holds, and under History once it has cleared."
            if enabled
            else "No rule is enabled, so nothing is being watched. Enable a rule on the Rules "
            "tab or create one.",
        )
        self.open_stack.setCurrentWidget(self.open_empty)

    def _turn(self, pages: int) -> None:
        self.history_offset = max(0, self.history_offset + pages * PAGE_SIZE)
        if self._live():
            self.reload_history()

    async def _load_history(self) -> None:
        page = await self.service.list_alerts(
            self.context.session.require(),
            state="resolved",
            offset=self.history_offset,
            limit=PAGE_SIZE,
        )
        if page.total and self.history_offset >= page.total:
            self.history_offset = (page.total - 1) // PAGE_SIZE * PAGE_SIZE
            self.reload_history()
            return
        self.history_total = page.total
        _keep_selection(self.past_table, self.past_model, page.items)
        self.past_stack.setCurrentWidget(self.past_table if page.items else self.past_empty)
        first = self.history_offset + 1
        self.range_label.setText(
            f"{first:,}–{self.history_offset + len(page.items):,} of {page.total:,}"
            if page.total
            else ""
        )
        self.newer_button.setEnabled(self.history_offset > 0)
        self.older_button.setEnabled(self.history_offset + len(page.items) < page.total)
        self._past_selected()
        if self._wanted is not None:
            self.select_alert(self._wanted)
        self.sig_history_loaded.emit()

    # -- selection --------------------------------------------------------------------
    def _selected(self, table: QTableView, model: Any) -> Any:
        rows = table.selectionModel().selectedRows()
        if not rows:
            return None
        proxy: Any = table.model()
        return model.item(proxy.mapToSource(rows[0]).row())

    def selected_alert(self) -> Any:
        return self._selected(self.open_table, self.open_model)

    def selected_rule(self) -> Any:
        return self._selected(self.rule_table, self.rule_model)

    def selected_silence(self) -> Any:
        return self._selected(self.silence_table, self.silence_model)

    def _open_selected(self, *_args: QItemSelection) -> None:
        self.open_detail.show_alert(self.selected_alert())
        self._update_buttons()

    def _past_selected(self, *_args: QItemSelection) -> None:
        self.past_detail.show_alert(self._selected(self.past_table, self.past_model))

    def _select(self, table: QTableView, model: Any, key: str) -> bool:
        row = model.row_of(key)
        if row < 0:
            return False
        proxy: Any = table.model()
        select_row(table, proxy.mapFromSource(model.index(row, 0)))
        return True

    def select_alert(self, alert_id: str) -> bool:
        """Show one alert: open ones on the first tab, past ones under History."""
        if self._select(self.open_table, self.open_model, alert_id):
            self.tabs.setCurrentIndex(OPEN_TAB)
        elif self._select(self.past_table, self.past_model, alert_id):
            self.tabs.setCurrentIndex(HISTORY_TAB)
        else:
            self._wanted = alert_id  # not loaded yet (the event came first)
            return False
        self._wanted = None
        return True

    def select_rule(self, rule_id: str) -> bool:
        return self._select(self.rule_table, self.rule_model, rule_id)

    def _update_buttons(self) -> None:
        alert = self.selected_alert()
        self.ack_button.setEnabled(alert is not None and not alert.acknowledged)
        self.silence_button.setEnabled(alert is not None)
        rule = self.selected_rule()
        self.edit_button.setEnabled(rule is not None)
        self.toggle_button.setEnabled(rule is not None)
        self.toggle_button.setText("Enable" if rule is not None and not rule.enabled
                                   else "Disable")  # fmt: skip
        self.delete_button.setEnabled(rule is not None)
        self.unsilence_button.setEnabled(self.selected_silence() is not None)

    def _tab_changed(self, index: int) -> None:
        if index == HISTORY_TAB and self._live():
            self.reload_history()

    # -- live updates -----------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self._stopped = True
            self.poll.stop()
            self.soon.stop()
        elif event.name in EVENTS:
            if event.name == "alert_resolved":
                self.history_offset = 0
            self.soon.start()

    def _tick(self) -> None:
        if not self._live():
            self.poll.stop()
        elif self.isVisible():
            self.reload()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.loaded:
            self.refresh()

    # -- acknowledging and silencing --------------------------------------------------
    def acknowledge_selected(self) -> AcknowledgeDialog | None:
        alert = self.selected_alert()
        if alert is None or alert.acknowledged or not self._live() or not self.can("write"):
            return None
        dialog = AcknowledgeDialog(alert, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.acknowledge(alert.id, dialog.value()))
        dialog.finished.connect(lambda _r: setattr(self, "action_dialog", None))
        self.action_dialog = dialog
        dialog.open()
        return dialog

    def acknowledge(self, alert_id: str, note: str) -> Any:
        work = self.service.acknowledge(self.context.session.require(), alert_id, note)

        def done(alert: Any) -> None:
            resolved = " It is resolved." if alert.state == "resolved" else ""
            self.show_message(f"Acknowledged {alert.name}.{resolved}")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def silence_selected(self) -> SilenceDialog | None:
        alert = self.selected_alert()
        if alert is None or not self._live() or not self.can("write"):
            return None
        dialog = SilenceDialog(alert, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.silence(dialog.request()))
        dialog.finished.connect(lambda _r: setattr(self, "action_dialog", None))
        self.action_dialog = dialog
        dialog.open()
        return dialog

    def silence(self, request: Any) -> Any:
        work = self.service.silence(
            self.context.session.require(),
            rule_id=request.rule_id,
            alert_id=request.alert_id,
            duration=request.duration,
            reason=request.reason,
        )

        def done(silence: Any) -> None:
            from auterity_desktop.ui.models.run_display import format_time

            self.show_message(f"Silenced {silence.target} until {format_time(silence.ends_at)}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def unsilence_selected(self) -> Any:
        silence = self.selected_silence()
        if silence is None or not self._live() or not self.can("write"):
            return None
        work = self.service.unsilence(self.context.session.require(), silence.id)

        def done(lifted: Any) -> None:
            self.show_message(f"Lifted the silence of {lifted.target}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def evaluate_now(self) -> Any:
        if not self._live() or not self.can("execute"):
            return None
        work = self.service.evaluate_now(self.context.session.require())

        def done(report: Any) -> None:
            text = (
                f"Checked {report.rules} rule{'' if report.rules == 1 else 's'}: "
                f"{len(report.fired)} started firing, {len(report.resolved)} resolved."
            )
            if report.errors:
                text += " Could not check: " + "; ".join(
                    f"{name} ({why})" for name, why in report.errors.items()
                )
            self.show_message(text, error=bool(report.errors))
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    # -- rules ------------------------------------------------------------------------
    def new_rule(self) -> RuleEditorDialog | None:
        return self._open_rule_dialog(None)

    def edit_rule(self) -> RuleEditorDialog | None:
        rule = self.selected_rule()
        return None if rule is None else self._open_rule_dialog(rule)

    def _open_rule_dialog(self, rule: Any) -> RuleEditorDialog | None:
        if not self._live() or not self.can("write"):
            return None
        if self.rule_dialog is not None:
            self.rule_dialog.close()
        dialog = RuleEditorDialog(self.metric_names, self.notifiers, rule, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_submitted.connect(lambda data: self._save_rule(dialog, rule, data))
        dialog.sig_preview_requested.connect(lambda data: self._preview(dialog, data))
        dialog.finished.connect(lambda _r: setattr(self, "rule_dialog", None))
        self.rule_dialog = dialog
        dialog.open()
        return dialog

    def _save_rule(self, dialog: RuleEditorDialog, rule: Any, data: dict[str, Any]) -> Any:
        principal = self.context.session.require()
        if rule is None:
            work = self.service.create_rule(principal, data)
        else:
            work = self.service.update_rule(principal, rule.id, data)

        def done(saved: Any) -> None:
            dialog.accept()
            self.show_message(f"Saved the rule {saved.name}: {saved.condition}.")
            self.tabs.setCurrentIndex(RULES_TAB)
            task = self.refresh()
            if task is not None:
                task.add_done_callback(lambda _t: self.select_rule(saved.id))

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ServiceError):
                dialog.show_error(exc)
            else:
                self.context.tasks.report_error(exc)

        return self.context.tasks.spawn(work, on_done=done, on_error=failed)

    def _preview(self, dialog: RuleEditorDialog, data: dict[str, Any]) -> Any:
        work = self.service.preview_rule(self.context.session.require(), data)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ServiceError):
                dialog.show_error(exc)
            else:
                self.context.tasks.report_error(exc)

        return self.context.tasks.spawn(work, on_done=dialog.show_preview, on_error=failed)

    def set_enabled(self, rule_id: str, enabled: bool) -> Any:
        if not self._live() or not self.can("write"):
            return None
        work = self.service.set_rule_enabled(self.context.session.require(), rule_id, enabled)

        def done(rule: Any) -> None:
            state = "on" if rule.enabled else "off: its open alerts are resolved"
            self.show_message(f"The rule {rule.name} is {state}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def toggle_selected_rule(self) -> Any:
        rule = self.selected_rule()
        return None if rule is None else self.set_enabled(rule.id, not rule.enabled)

    def delete_selected_rule(self) -> Any:
        rule = self.selected_rule()
        if rule is None or not self._live() or not self.can("delete"):
            return None
        answer = QMessageBox.question(
            self,
            "Delete alert rule",
            f"Delete the rule {rule.name}?\n\nIts open alerts are resolved; past alerts stay "
            "in the history."
            + (" It is a default rule and will not come back." if rule.builtin else ""),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        work = self.service.delete_rule(self.context.session.require(), rule.id)

        def done(_result: Any) -> None:
            self.show_message(f"Deleted the rule {rule.name}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)


def _keep_selection(table: QTableView, model: Any, rows: list[Any]) -> None:
    """Replace the rows, keeping the same one selected (a live refresh must not make the
    user lose their place)."""
    proxy: Any = table.model()
    selection = table.selectionModel()
    keys = model.keys()
    selected = [keys[proxy.mapToSource(index).row()] for index in selection.selectedRows()]
    model.set_rows(rows)
    for key in selected[:1]:
        row = model.row_of(key)
        if row >= 0:
            index = proxy.mapFromSource(model.index(row, 0))
            selection.select(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
