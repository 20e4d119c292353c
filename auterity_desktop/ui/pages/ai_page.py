"""AI: the model deployments the platform calls, how calls are routed between them, a
playground to try them, and what they were used for and cost.

*Providers & deployments* lists each deployment (provider, model, prices, context window,
capabilities, limits, weight, status, whether a key is stored). Add…/Edit… open a form whose
API key field is masked and goes to the system keyring only; *Test* calls the selected
deployment once and shows the latency and its reply, or the precise error; Delete asks
first. *Routing* holds the routing policies (strategy, deployments in order, fallbacks,
retries, failures allowed, cooldown) and the budgets (scope, period, limit, spent so far).
*Playground* streams a reply token by token (see ``PlaygroundWidget``). *Usage & spend*
charts requests, tokens and cost per hour or day by deployment over a chosen range and
tabulates latency percentiles, time to first token, tokens per second, error rate and
spend per deployment; its charts (pyqtgraph) load the first time there is usage to draw.

Buttons follow the role — ai write: add and edit; delete: delete; execute: test and send —
and the service refuses regardless. A viewer sees everything without those buttons.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.ui.models.ai_table_models import (
    BudgetTableModel,
    DeploymentTableModel,
    PolicyTableModel,
    budget_scope_text,
    money,
    seconds,
)
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.ai_deployment_dialog import DeploymentDialog
from auterity_desktop.ui.widgets.ai_playground import PlaygroundWidget
from auterity_desktop.ui.widgets.ai_routing_dialogs import BudgetDialog, PolicyDialog
from auterity_desktop.ui.widgets.ai_table_view import KeyedTableView
from auterity_desktop.ui.widgets.ai_usage_view import UsageView
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.table_views import stacked

DEPLOYMENTS_TAB, ROUTING_TAB, PLAYGROUND_TAB, USAGE_TAB = range(4)
EVENT_DELAY_MS = 200
USAGE_POLL_MS = 30_000
EMPTY_TITLE = "No deployments yet"
EMPTY_TEXT = (
    "No deployments yet — add an Ollama server or an OpenAI-compatible endpoint "
    "(OpenAI, vLLM, LM Studio, llama.cpp) or Anthropic. API keys stay in the system keyring."
)
EMPTY_READ_ONLY = " An administrator can add them."
KEY_CODE = ErrorCode.SECRET_STORE_UNAVAILABLE


def _button(text: str, tip: str, slot: Any) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


def _row(*widgets: QWidget, stretch_first: bool = False) -> QHBoxLayout:
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    if not stretch_first:
        for widget in widgets:
            layout.addWidget(widget)
        layout.addStretch(1)
    else:
        layout.addStretch(1)
        for widget in widgets:
            layout.addWidget(widget)
    return layout


class AIPage(ServicePage):
    sig_loaded = Signal()  # deployments, policies and budgets were (re)loaded
    sig_usage_loaded = Signal()
    sig_tested = Signal(str, object)  # deployment name, its DeploymentTest

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_ai")
        self.loaded = False
        self.usage_loaded = False
        self.dialog: Any = None  # the open editor, if any
        self.testing: set[str] = set()
        self.tests: dict[str, Any] = {}  # deployment → its last DeploymentTest (or error)
        self.workflow_names: dict[str, str] = {}  # for budgets per workflow
        self._wanted: dict[str, str] = {}  # table → key to select after the next load
        self.reload = Coalesced(self, self._load)
        self.reload_usage = Coalesced(self, self._load_usage)

        self.summary = QLabel("")
        self.summary.setObjectName("PageSubtitle")
        self.refresh_button = _button(
            "Refresh", "Reload everything on this page (F5)", self.refresh
        )
        toolbar = _row(self.summary, self.refresh_button, stretch_first=True)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("AITabs")
        self.tabs.addTab(self._build_deployments_tab(), "Providers && &deployments")
        self.tabs.addTab(self._build_routing_tab(), "&Routing && budgets")
        self.playground = PlaygroundWidget(context.tasks)
        self.tabs.addTab(self.playground, "&Playground")
        self.tabs.addTab(self._build_usage_tab(), "&Usage && spend")
        self.tabs.setTabToolTip(DEPLOYMENTS_TAB, "The models the platform can call")
        self.tabs.setTabToolTip(ROUTING_TAB, "How calls pick a deployment, and spending limits")
        self.tabs.setTabToolTip(PLAYGROUND_TAB, "Try a prompt and watch the reply stream in")
        self.tabs.setTabToolTip(USAGE_TAB, "Requests, tokens, cost and latency per deployment")
        self.tabs.currentChanged.connect(self._tab_changed)

        layout = page_layout(self)
        header = PageHeaderWidget(spec.title, spec.summary)
        layout.addWidget(header)
        layout.addLayout(toolbar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)

        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=scope)
        here = Qt.ShortcutContext.WidgetShortcut
        tab = self.deployments_tab
        QShortcut(QKeySequence.StandardKey.New, tab, activated=self.add_deployment, context=scope)
        QShortcut(QKeySequence("Ctrl+T"), tab, activated=self.test_selected, context=scope)
        for table, slot in (
            (self.deployment_table, self.delete_selected),
            (self.policy_table, self.delete_policy),
            (self.budget_table, self.delete_budget),
        ):
            QShortcut(QKeySequence.StandardKey.Delete, table, activated=slot, context=here)

        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(EVENT_DELAY_MS)
        self.soon.timeout.connect(self._reload_live)
        self.usage_poll = QTimer(self)
        self.usage_poll.setInterval(USAGE_POLL_MS)
        self.usage_poll.timeout.connect(self._usage_tick)
        self._usage_stale = False
        self.playground.sig_finished.connect(lambda _r: self._mark_usage_stale())
        self.playground.sig_failed.connect(lambda _e: self._mark_usage_stale())
        context.bridge.sig_event.connect(self._on_event)
        context.theme.sig_theme_changed.connect(self._theme_changed)
        context.session.sig_signed_out.connect(self._signed_out)
        self._apply_permissions()
        self._update_buttons()
        self.watch_session()

    # -- building -----------------------------------------------------------------------
    def _build_deployments_tab(self) -> QWidget:
        self.deployment_model = DeploymentTableModel(self._colours)
        self.deployment_table = KeyedTableView(
            "DeploymentTable",
            self.deployment_model,
            "Deployments",
            (130, 125, 140, 140, 75, 105, 120, 62, 170, 100),
            stretch=2,
        )
        self.deployment_table.activated.connect(lambda _i: self.edit_selected())
        self.deployment_table.selectionModel().selectionChanged.connect(self._deployment_changed)
        self.empty = EmptyStateWidget()
        self.empty.set_text(EMPTY_TITLE, EMPTY_TEXT)
        self.empty_add_button = self.empty.add_button(
            "Add deployment…", "Add a deployment: a provider, its address and a model (Ctrl+N)"
        )
        self.empty_add_button.clicked.connect(self.add_deployment)
        self.deployment_stack = stacked(self.deployment_table, self.empty)

        self.add_button = _button(
            "&Add…",
            "Add a deployment: a provider, its address and a model (Ctrl+N)",
            self.add_deployment,
        )
        self.edit_button = _button(
            "&Edit…", "Change the selected deployment (Enter)", self.edit_selected
        )
        self.test_button = _button(
            "&Test",
            "Call the selected deployment once and show the "
            "latency and its reply, or the error (Ctrl+T)",
            self.test_selected,
        )
        self.delete_button = _button(
            "De&lete",
            "Delete the selected deployment and its stored key (Del)",
            self.delete_selected,
        )
        self.deployment_count = QLabel("")
        self.deployment_count.setObjectName("PageSubtitle")
        actions = _row(self.add_button, self.edit_button, self.test_button, self.delete_button)
        actions.addWidget(self.deployment_count)

        self.test_box = QGroupBox("Test")
        self.test_status = QLabel("Select a deployment and press Test to call it once.")
        self.test_status.setObjectName("PageSubtitle")
        self.test_status.setWordWrap(True)
        self.test_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_reply = QLabel("")
        self.test_reply.setWordWrap(True)
        self.test_reply.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_reply.hide()
        self.deployment_detail = QLabel("")
        self.deployment_detail.setObjectName("PageSubtitle")
        self.deployment_detail.setWordWrap(True)
        self.deployment_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_layout = QVBoxLayout(self.test_box)
        test_layout.addWidget(self.deployment_detail)
        test_layout.addWidget(self.test_status)
        test_layout.addWidget(self.test_reply)
        test_layout.addStretch(1)
        self.test_box.hide()  # until there is a deployment to test

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.deployment_stack)
        splitter.addWidget(self.test_box)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([440, 110])
        self.deployments_tab = QWidget()
        layout = QVBoxLayout(self.deployments_tab)
        layout.addLayout(actions)
        layout.addWidget(splitter, 1)
        return self.deployments_tab

    def _build_routing_tab(self) -> QWidget:
        self.policy_model = PolicyTableModel(self._colours)
        self.policy_table = KeyedTableView(
            "PolicyTable",
            self.policy_model,
            "Routing policies",
            (160, 120, 300, 200, 65, 100, 85),
            stretch=2,
        )
        self.policy_table.activated.connect(lambda _i: self.edit_policy())
        self.policy_table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_buttons()
        )
        self.policy_empty = EmptyStateWidget()
        self.policy_empty.set_text(
            "No routing policies",
            "A policy picks a deployment for each call — the cheapest, the fastest, the least "
            "busy, weighted or in order — retries, falls back and cools failing ones down.",
        )
        self.policy_empty_add = self.policy_empty.add_button(
            "New policy…", "Create a routing policy"
        )
        self.policy_empty_add.clicked.connect(self.new_policy)
        self.policy_stack = stacked(self.policy_table, self.policy_empty)
        self.new_policy_button = _button("&New policy…", "Create a routing policy", self.new_policy)
        self.edit_policy_button = _button(
            "&Edit…", "Change the selected policy (Enter)", self.edit_policy
        )
        self.delete_policy_button = _button(
            "Delete", "Delete the selected policy (Del)", self.delete_policy
        )
        policies = QGroupBox("Routing policies")
        policy_layout = QVBoxLayout(policies)
        policy_layout.addWidget(self.policy_stack, 1)
        policy_layout.addLayout(
            _row(self.new_policy_button, self.edit_policy_button, self.delete_policy_button)
        )

        self.budget_model = BudgetTableModel(self._colours)
        self.budget_table = KeyedTableView(
            "BudgetTable", self.budget_model, "Budgets", (300, 110, 110, 130, 90)
        )
        self.budget_table.activated.connect(lambda _i: self.edit_budget())
        self.budget_table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_buttons()
        )
        self.budget_empty = EmptyStateWidget()
        self.budget_empty.set_text(
            "No budgets",
            "A budget caps what calls may cost per day or month — for everything or one "
            "deployment. Once it is spent, routing refuses calls in its scope.",
        )
        self.budget_empty_add = self.budget_empty.add_button(
            "New budget…", "Cap the spend per day or month"
        )
        self.budget_empty_add.clicked.connect(self.new_budget)
        self.budget_stack = stacked(self.budget_table, self.budget_empty)
        self.new_budget_button = _button(
            "New &budget…", "Cap the spend per day or month", self.new_budget
        )
        self.edit_budget_button = _button(
            "Ed&it…", "Change the selected budget (Enter)", self.edit_budget
        )
        self.delete_budget_button = _button(
            "Delete", "Delete the selected budget (Del)", self.delete_budget
        )
        budgets = QGroupBox("Budgets")
        budget_layout = QVBoxLayout(budgets)
        budget_layout.addWidget(self.budget_stack, 1)
        budget_layout.addLayout(
            _row(self.new_budget_button, self.edit_budget_button, self.delete_budget_button)
        )

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(policies)
        splitter.addWidget(budgets)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([280, 220])
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(splitter, 1)
        return tab

    def _build_usage_tab(self) -> QWidget:
        self.usage = UsageView(self._colours)
        self.usage.sig_window_changed.connect(self.refresh_usage)
        return self.usage

    @property
    def service(self) -> Any:
        return self.platform.ai

    # -- permissions --------------------------------------------------------------------
    def can(self, action: str) -> bool:
        return self.has(f"ai:{action}")

    def _apply_permissions(self) -> None:
        write, delete, execute = self.can("write"), self.can("delete"), self.can("execute")
        writers = (
            self.add_button,
            self.empty_add_button,
            self.edit_button,
            self.new_policy_button,
            self.policy_empty_add,
            self.edit_policy_button,
            self.new_budget_button,
            self.budget_empty_add,
            self.edit_budget_button,
        )
        for widget in writers:
            widget.setVisible(write)
        for widget in (self.delete_button, self.delete_policy_button, self.delete_budget_button):
            widget.setVisible(delete)
        self.test_button.setVisible(execute)
        if not execute:
            self.test_status.setText("Your role may not call models, so it cannot test them.")
        self.playground.set_stream(self._chat_stream if execute else None)

    def _chat_stream(self, request: Any) -> Any:
        """The playground's calls, as whoever is signed in when one is sent."""
        return self.service.chat_stream(self.context.session.require(), request)

    def _signed_out(self, _reason: str) -> None:
        self.playground.stop()  # a reply streaming to someone who left

    def on_signed_in(self, principal: Any) -> None:
        self._apply_permissions()
        self._update_buttons()
        self.refresh()

    # -- loading ------------------------------------------------------------------------
    def refresh(self) -> Any:
        if not self._live():
            return None
        if self.tabs.currentIndex() == USAGE_TAB:
            self.refresh_usage()
        return self.reload()

    async def _load(self) -> None:
        actor = self.context.session.require()
        service = self.service
        deployments = await service.list_deployments(actor)
        policies = await service.list_policies(actor)
        budgets = await service.list_budgets(actor)
        if self.has("workflows:read"):
            workflows = await self.platform.workflows.list_workflows(actor)
            self.workflow_names = {str(w.id): w.name for w in workflows}
            self.budget_model.workflow_names = self.workflow_names
        wanted = self._wanted
        self._wanted = {}
        self.deployment_table.set_rows(deployments, wanted.get("deployments"))
        self.policy_table.set_rows(policies, wanted.get("policies"))
        self.budget_table.set_rows(budgets, wanted.get("budgets"))
        self.deployment_stack.setCurrentWidget(self.deployment_table if deployments else self.empty)
        self.empty.set_text(
            EMPTY_TITLE, EMPTY_TEXT + ("" if self.can("write") else EMPTY_READ_ONLY)
        )
        self.policy_stack.setCurrentWidget(self.policy_table if policies else self.policy_empty)
        self.budget_stack.setCurrentWidget(self.budget_table if budgets else self.budget_empty)
        default = next((p.name for p in policies if p.is_default), None)
        self.playground.set_targets(
            [d.name for d in deployments], [p.name for p in policies], default
        )
        shown = len(deployments)
        self.deployment_count.setText(
            f"{shown} deployment{'' if shown == 1 else 's'}" if shown else ""
        )
        usable = sum(1 for d in deployments if d.enabled)
        self.summary.setText(
            (f"{usable} of {shown} deployments on" if shown else "No deployments")
            + f" · {len(policies)} polic{'y' if len(policies) == 1 else 'ies'} · "
            f"{len(budgets)} budget{'' if len(budgets) == 1 else 's'}"
        )
        self.test_box.setVisible(bool(shown))
        self.tabs.setTabText(
            DEPLOYMENTS_TAB,
            f"Providers && &deployments ({shown})" if shown else "Providers && &deployments",
        )
        self._show_deployment()
        self.loaded = True
        self._update_buttons()
        self.sig_loaded.emit()

    def selected_deployment(self) -> Any:
        return self.deployment_table.selected_item()

    def selected_policy(self) -> Any:
        return self.policy_table.selected_item()

    def selected_budget(self) -> Any:
        return self.budget_table.selected_item()

    def select_deployment(self, name: str) -> bool:
        return self.deployment_table.select_key(name)

    def select_policy(self, name: str) -> bool:
        return self.policy_table.select_key(name)

    def _deployment_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_deployment()
        self._update_buttons()

    def _show_deployment(self) -> None:
        d = self.selected_deployment()
        if d is None:
            self.test_box.setTitle("Test")
            self.deployment_detail.setText("")
            self.deployment_detail.hide()
            if self.can("execute"):
                self._show_test_text("Select a deployment and press Test to call it once.", None)
            return
        self.test_box.setTitle(f"{d.name}")
        self.deployment_detail.setText(f"{d.model} at {d.api_base}")
        self.deployment_detail.show()
        if d.name in self.testing:
            self._show_test_text(f"Testing {d.name}…", None)
        elif d.name in self.tests:
            self._show_test(d.name, self.tests[d.name])
        elif self.can("execute"):
            self._show_test_text("Not tested in this session: press Test to call it once.", None)

    def _update_buttons(self) -> None:
        d = self.selected_deployment()
        self.edit_button.setEnabled(d is not None)
        self.delete_button.setEnabled(d is not None)
        self.test_button.setEnabled(d is not None and d.name not in self.testing)
        policy = self.selected_policy()
        self.edit_policy_button.setEnabled(policy is not None)
        self.delete_policy_button.setEnabled(policy is not None)
        budget = self.selected_budget()
        self.edit_budget_button.setEnabled(budget is not None)
        self.delete_budget_button.setEnabled(budget is not None)

    # -- usage --------------------------------------------------------------------------
    def refresh_usage(self) -> Any:
        if not self._live():
            return None
        return self.reload_usage()

    async def _load_usage(self) -> None:
        actor = self.context.session.require()
        window = self.usage.window()
        since, until, bucket, _size = window
        rows = await self.service.usage(actor, since, until, bucket=bucket)
        stats = await self.service.deployment_stats(actor)
        self.usage.show_usage(rows, stats, window)
        self.usage_loaded = True
        self._usage_stale = False
        self.sig_usage_loaded.emit()

    def _mark_usage_stale(self) -> None:
        self._usage_stale = True
        if self.tabs.currentIndex() == USAGE_TAB:
            self.refresh_usage()

    def _usage_tick(self) -> None:
        if not self._live():
            self.usage_poll.stop()
        elif self.isVisible() and self.tabs.currentIndex() == USAGE_TAB:
            self.refresh_usage()

    def _tab_changed(self, index: int) -> None:
        if index == USAGE_TAB:
            self.usage_poll.start()
            if not self.usage_loaded or self._usage_stale:
                self.refresh_usage()
        else:
            self.usage_poll.stop()

    # -- live updates -------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self.stopped = True
            self.soon.stop()
            self.usage_poll.stop()
            self.playground.shutdown()
        elif event.name.startswith("ai_"):
            self.soon.start()

    def _reload_live(self) -> None:
        if not self._live():
            return
        self.reload()
        self._mark_usage_stale()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.loaded:
            self.refresh()

    def _theme_changed(self, _name: str) -> None:
        self.usage.apply_theme()

    # -- deployments --------------------------------------------------------------------
    def add_deployment(self) -> DeploymentDialog | None:
        return self._open_deployment_dialog(None)

    def edit_selected(self) -> DeploymentDialog | None:
        d = self.selected_deployment()
        return None if d is None else self._open_deployment_dialog(d)

    def _open_deployment_dialog(self, existing: Any) -> DeploymentDialog | None:
        if not self._live() or not self.can("write"):
            return None
        actor = self.context.session.require()
        service = self.service

        async def save(values: dict[str, Any]) -> Any:
            key = values.pop("api_key")
            return await service.save_deployment(actor, values, api_key=key)

        async def load_models(api_base: str) -> list[str]:
            return list(await service.list_local_models(actor, api_base))

        dialog = DeploymentDialog(
            save=save,
            tasks=self.context.tasks,
            load_models=load_models,
            existing=existing,
            taken_names=self.deployment_model.keys(),
            parent=self,
        )
        return self._open(dialog, lambda saved: self._deployment_saved(saved, existing is None))

    def _open(self, dialog: Any, on_saved: Any) -> Any:
        if self.dialog is not None:
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_saved.connect(on_saved)
        dialog.finished.connect(lambda _r: self._dialog_closed(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: Any) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _deployment_saved(self, saved: Any, created: bool) -> None:
        name = getattr(saved, "name", None)
        if name:
            self._wanted["deployments"] = name
            self.tests.pop(name, None)
        hint = " — press Test to call it once." if created and self.can("execute") else "."
        self.show_message(f"Saved the deployment {name}{hint}")
        self.refresh()

    def test_selected(self) -> Any:
        d = self.selected_deployment()
        if d is None or not self._live() or not self.can("execute") or d.name in self.testing:
            return None
        name = d.name
        self.testing.add(name)
        self._show_deployment()
        self._update_buttons()
        work = self.service.test_deployment(self.context.session.require(), name)

        def ended() -> None:
            self.testing.discard(name)
            self._update_buttons()

        def done(result: Any) -> None:
            ended()
            self.tests[name] = result
            self._show_selected_test(name)
            self.sig_tested.emit(name, result)
            self.refresh()
            self._mark_usage_stale()  # a test is a call: its tokens and cost count

        def failed(exc: BaseException) -> None:
            ended()
            if not isinstance(exc, ServiceError):
                self.context.tasks.report_error(exc)
                return
            self.tests[name] = exc
            self._show_selected_test(name)
            self.sig_tested.emit(name, exc)

        return self.context.tasks.spawn(work, on_done=done, on_error=failed)

    def _show_selected_test(self, name: str) -> None:
        selected = self.selected_deployment()
        if selected is not None and selected.name == name:
            self._show_test(name, self.tests[name])
        result = self.tests[name]
        self.show_message(f"{name}: {self.test_headline(result)}", error=not _ok(result))

    @staticmethod
    def test_headline(result: Any) -> str:
        if isinstance(result, ServiceError):
            return f"✖ {result.code.value}: {result.message}"
        if result.ok:
            model = f" by {result.model}" if result.model else ""
            cost = f" · {money(result.cost)}" if result.cost else ""
            return f"✔ Answered in {seconds(result.latency_s)}{model}{cost}"
        latency = f" after {seconds(result.latency_s)}" if result.latency_s else ""
        code = f" {result.error_code}:" if result.error_code else ":"
        return f"✖ Failed{latency} —{code} {result.error}"

    def _show_test(self, name: str, result: Any) -> None:
        self._show_test_text(self.test_headline(result), _ok(result))
        reply = None if isinstance(result, ServiceError) else getattr(result, "reply", None)
        self.test_reply.setText(f"Reply: “{reply.strip()}”" if reply else "")
        self.test_reply.setVisible(bool(reply))

    def _show_test_text(self, text: str, ok: bool | None) -> None:
        self.test_status.setText(text)
        restyle(
            self.test_status, "PageSubtitle" if ok is None else "HealthOk" if ok else "HealthError"
        )
        if ok is None:
            self.test_reply.hide()

    def delete_selected(self) -> Any:
        d = self.selected_deployment()
        if d is None or not self._live() or not self.can("delete"):
            return None
        key = " Its API key is removed from the system keyring." if d.has_key else ""
        if not self._confirm(
            "Delete deployment",
            f"Delete the deployment “{d.name}” ({d.model})?{key}\n\nPolicies that list it skip "
            "it from now on; its usage history stays. This cannot be undone.",
        ):
            return None
        name = d.name
        work = self.service.delete_deployment(self.context.session.require(), name)

        def done(_result: Any) -> None:
            self.tests.pop(name, None)
            self.show_message(f"Deleted the deployment {name}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- policies and budgets -----------------------------------------------------------
    def new_policy(self) -> PolicyDialog | None:
        return self._open_policy_dialog(None)

    def edit_policy(self) -> PolicyDialog | None:
        policy = self.selected_policy()
        return None if policy is None else self._open_policy_dialog(policy)

    def _open_policy_dialog(self, existing: Any) -> PolicyDialog | None:
        if not self._live() or not self.can("write"):
            return None
        actor = self.context.session.require()
        service = self.service

        async def save(values: dict[str, Any]) -> Any:
            return await service.save_policy(actor, values)

        dialog = PolicyDialog(
            save=save,
            tasks=self.context.tasks,
            deployments=self.deployment_model.keys(),
            policies=self.policy_model.keys(),
            existing=existing,
            taken_names=self.policy_model.keys(),
            parent=self,
        )

        def saved(policy: Any) -> None:
            name = getattr(policy, "name", None) or dialog.values()["name"]
            self._wanted["policies"] = name
            self.show_message(f"Saved the routing policy {name}.")
            self.refresh()

        return self._open(dialog, saved)

    def delete_policy(self) -> Any:
        policy = self.selected_policy()
        if policy is None or not self._live() or not self.can("delete"):
            return None
        if not self._confirm(
            "Delete routing policy",
            f"Delete the routing policy “{policy.name}”?\n\nWorkflows that name it fall back "
            "to the default routing.",
        ):
            return None
        name = policy.name
        work = self.service.delete_policy(self.context.session.require(), name)

        def done(_result: Any) -> None:
            self.show_message(f"Deleted the routing policy {name}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def new_budget(self) -> BudgetDialog | None:
        return self._open_budget_dialog(None)

    def edit_budget(self) -> BudgetDialog | None:
        budget = self.selected_budget()
        return None if budget is None else self._open_budget_dialog(budget)

    def _open_budget_dialog(self, existing: Any) -> BudgetDialog | None:
        if not self._live() or not self.can("write"):
            return None
        actor = self.context.session.require()
        service = self.service

        async def save(values: dict[str, Any]) -> Any:
            return await service.save_budget(actor, values)

        dialog = BudgetDialog(
            save=save,
            tasks=self.context.tasks,
            deployments=self.deployment_model.keys(),
            workflows=sorted(self.workflow_names.items(), key=lambda item: item[1].lower()),
            existing=existing,
            parent=self,
        )

        def saved(budget: Any) -> None:
            if getattr(budget, "id", None) is not None:
                self._wanted["budgets"] = str(budget.id)
            self.show_message("Saved the budget.")
            self.refresh()

        return self._open(dialog, saved)

    def delete_budget(self) -> Any:
        budget = self.selected_budget()
        if budget is None or not self._live() or not self.can("delete"):
            return None
        scope = budget_scope_text(budget, self.workflow_names)
        if not self._confirm(
            "Delete budget",
            f"Delete {budget.label} ({money(budget.limit)})?\n\nCalls in its scope are no "
            "longer capped.",
        ):
            return None
        work = self.service.delete_budget(self.context.session.require(), budget.id)

        def done(_result: Any) -> None:
            self.show_message(f"Deleted the budget for {scope}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    # -- errors -------------------------------------------------------------------------
    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, ServiceError) and exc.code == KEY_CODE:
            self.show_message(f"⚠ System keyring: {exc.message}", error=True)
            return
        super().failed(exc)

    def closeEvent(self, event: Any) -> None:
        self.playground.shutdown()
        super().closeEvent(event)


def _ok(result: Any) -> bool:
    return not isinstance(result, ServiceError) and bool(result.ok)
