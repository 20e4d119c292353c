"""Runs: the history with filters, and the selected run in detail (timeline, each node's
input, output and error), with re-run, cancel, resume and approve/reject.

The history and the selected run refresh live while something is unfinished: engine events
(run and node started/finished) trigger a reload at once, and a one-second poll keeps
progress and running durations moving. Reloads coalesce: at most one list load and one
detail load are in flight, and a request that arrives meanwhile runs once when it ends, so a
burst of node events costs two queries, not one per event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.ui.models.run_display import RUN_STATUSES, is_unfinished
from auterity_desktop.ui.models.run_table_model import RunFilterModel, RunTableModel
from auterity_desktop.ui.pages import PAGES, PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.row_selection import select_row
from auterity_desktop.ui.widgets.run_detail import RunDetailWidget

HISTORY_LIMIT = 200
POLL_MS = 1000
EVENT_DELAY_MS = 100  # gather a burst of engine events into one reload
# team_resync: back on the team database after an outage, events may have been missed
RUN_EVENTS = frozenset(
    {"run_started", "run_waiting", "run_finished", "runs_interrupted", "run_queued",
     "team_resync"}
)  # fmt: skip
NODE_EVENTS = frozenset({"node_started", "node_waiting", "node_finished"})
ANY_WORKFLOW, ANY_STATUS = "All workflows", "Any status"


class RunsPage(ServicePage):
    sig_loaded = Signal()  # the history was (re)loaded
    sig_run_loaded = Signal(str)  # the detail of this run id was (re)loaded
    sig_run_started = Signal(str)  # a re-run started: its run id

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_runs")
        self.model = RunTableModel(self._colours)
        self.proxy = RunFilterModel(self.model)
        self.names: dict[str, str] = {}
        self.documents: dict[tuple[str, int], list[Any]] = {}
        self.wanted_run: str | None = None
        self.stopped = False
        self._names_stale = True
        self.reload_list = Coalesced(self, self._load_list)
        self.reload_detail = Coalesced(self, self._load_detail)

        # filters
        self.workflow_filter = QComboBox()
        self.workflow_filter.setAccessibleName("Workflow")
        self.workflow_filter.setMinimumWidth(200)
        self.workflow_filter.addItem(ANY_WORKFLOW, None)
        self.workflow_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.status_filter = QComboBox()
        self.status_filter.setAccessibleName("Status")
        self.status_filter.addItem(ANY_STATUS, None)
        for status in RUN_STATUSES:
            self.status_filter.addItem(status, status)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.search = QLineEdit()
        self.search.setPlaceholderText("Run id or workflow name…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload the history (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.count = QLabel("")
        self.count.setObjectName("PageSubtitle")
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Workflow:"))
        filters.addWidget(self.workflow_filter)
        filters.addWidget(QLabel("Status:"))
        filters.addWidget(self.status_filter)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.refresh_button)

        # history
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.table.setObjectName("RunTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((150, 200, 64, 110, 72, 90, 90, 80)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.empty = EmptyStateWidget()
        self.history = QStackedWidget()
        self.history.addWidget(self.table)
        self.history.addWidget(self.empty)

        # actions on the selected run
        self.rerun_button = QPushButton("&Re-run")
        self.rerun_button.setToolTip("Run the same workflow version with the same parameters")
        self.rerun_button.clicked.connect(self.rerun)
        self.cancel_button = QPushButton("&Cancel run")
        self.cancel_button.setToolTip("Stop the run; running nodes are cancelled")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Res&ume")
        self.resume_button.setToolTip("Continue a run a crash cut off; finished nodes keep results")
        self.resume_button.clicked.connect(self.resume)
        actions = QHBoxLayout()
        actions.addWidget(self.count, 1)
        for button in (self.rerun_button, self.cancel_button, self.resume_button):
            actions.addWidget(button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.history, 1)
        top_layout.addLayout(actions)

        self.detail = RunDetailWidget(self._colours)
        self.detail.approval.sig_decided.connect(self.decide)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([260, 420])

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)

        context_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=context_)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.search.setFocus, context=context_)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.rerun, context=context_)

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._tick)
        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(EVENT_DELAY_MS)
        self.soon.timeout.connect(self._reload_live)
        self._events_want_detail = False
        context.bridge.sig_event.connect(self._on_event)
        self._update_buttons()
        self.watch_session()

    # -- permissions ------------------------------------------------------------------
    def on_signed_in(self, principal: Any) -> None:
        self.rerun_button.setVisible("workflows:execute" in principal.permissions)
        self.cancel_button.setVisible("runs:write" in principal.permissions)
        self.resume_button.setVisible("runs:execute" in principal.permissions)
        self.refresh()

    @property
    def can_decide(self) -> bool:
        return self.has("runs:execute")

    # -- history ----------------------------------------------------------------------
    def refresh(self) -> Any:
        """Reload workflow names and the history (F5, filter changes)."""
        if not self._live():
            return None
        self._names_stale = True
        return self.reload_list()

    async def _load_list(self) -> None:
        actor = self.context.session.require()
        engine = self.platform.engine
        if self._names_stale and "workflows:read" in actor.permissions:
            self._names_stale = False
            workflows = await self.platform.workflows.list_workflows(actor)
            self.names.update({w.id: w.name for w in workflows})
            self._fill_workflow_filter(workflows)
        runs = await engine.list_runs(
            actor,
            workflow_id=self.workflow_filter.currentData(),
            status=self.status_filter.currentData(),
            limit=HISTORY_LIMIT,
        )
        keep = self.wanted_run
        self.model.set_rows(runs, self.names)
        if keep is not None and self.selected_run_id() != keep:
            self._select_row(keep)
        self._update_empty_state(len(runs))
        self._schedule_poll()
        self.sig_loaded.emit()

    def _fill_workflow_filter(self, workflows: list[Any]) -> None:
        current = self.workflow_filter.currentData()
        self.workflow_filter.blockSignals(True)
        self.workflow_filter.clear()
        self.workflow_filter.addItem(ANY_WORKFLOW, None)
        for wf in workflows:
            self.workflow_filter.addItem(wf.name, wf.id)
        index = self.workflow_filter.findData(current) if current else 0
        self.workflow_filter.setCurrentIndex(max(index, 0))
        self.workflow_filter.blockSignals(False)

    def _filtered(self) -> bool:
        return bool(
            self.workflow_filter.currentData()
            or self.status_filter.currentData()
            or self.search.text().strip()
        )

    def _update_empty_state(self, loaded: int) -> None:
        shown = self.proxy.rowCount()
        more = (
            " (the newest; narrow the filters to see older runs)" if loaded >= HISTORY_LIMIT else ""
        )
        self.count.setText(f"{shown:,} run{'' if shown == 1 else 's'}{more}")
        if shown:
            self.history.setCurrentWidget(self.table)
            return
        if self._filtered():
            self.empty.set_text("No run matches", "Change or clear the filters above.")
        else:
            self.empty.set_text(
                "No runs yet",
                f"Run a workflow from the Workflows page (Ctrl+{_page_number('workflows')}, "
                "then Ctrl+R); its runs, each node's data and errors appear here.",
            )
        self.history.setCurrentWidget(self.empty)

    def _search_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self._update_empty_state(self.model.rowCount())

    # -- selection --------------------------------------------------------------------
    def selected_run_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(self.model.run(self.proxy.mapToSource(rows[0]).row())["run_id"])

    def _select_row(self, run_id: str) -> bool:
        row = self.model.row_of(run_id)
        index = self.proxy.mapFromSource(self.model.index(row, 0)) if row >= 0 else None
        if index is None or not index.isValid():
            return False
        select_row(self.table, index)
        return True

    def select_run(self, run_id: str) -> Any:
        """Show one run (from the Workflows page or after a re-run), clearing filters that
        would hide it."""
        self.wanted_run = run_id
        if self._filtered():
            for combo in (self.workflow_filter, self.status_filter):
                combo.blockSignals(True)
                combo.setCurrentIndex(0)
                combo.blockSignals(False)
            self.search.clear()
        self.reload_detail()
        return self.refresh()

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        run_id = self.selected_run_id()
        if run_id is None or run_id == self.wanted_run:
            return  # nothing selected, or this run is already shown or on its way
        self.wanted_run = run_id
        self.reload_detail()

    # -- detail -----------------------------------------------------------------------
    async def _nodes_of(self, workflow_id: str, version: int) -> list[Any]:
        key = (workflow_id, version)
        if key not in self.documents:  # versions never change: cache them
            try:
                saved = await self.platform.workflows.load(workflow_id, version)
            except ServiceError as exc:
                if exc.code is not ErrorCode.NOT_FOUND:
                    raise
                return []  # the workflow was deleted: show node ids
            self.documents[key] = list(saved.document.nodes)
            self.names.setdefault(workflow_id, saved.document.name)
        return self.documents[key]

    async def _load_detail(self) -> None:
        run_id = self.wanted_run
        if run_id is None:
            return
        actor = self.context.session.require()
        engine = self.platform.engine
        status = await engine.status(actor, run_id)
        nodes = await self._nodes_of(status["workflow_id"], status["version"])
        approvals: list[dict[str, Any]] = []
        if status["status"] == "waiting":
            approvals = await engine.pending_approvals(actor, run_id)
        if run_id != self.wanted_run:
            return  # the user picked another run meanwhile
        name = self.names.get(status["workflow_id"]) or status["workflow_id"][:8]
        decider = actor.username if self.can_decide else None
        self.detail.show_run(status, nodes, name, approvals, decider)
        self._update_buttons()
        self._schedule_poll()
        self.sig_run_loaded.emit(run_id)

    def _update_buttons(self) -> None:
        status = self.detail.status
        state = status["status"] if status else None
        self.rerun_button.setEnabled(status is not None)
        self.cancel_button.setEnabled(is_unfinished(state))
        self.resume_button.setEnabled(state == "interrupted")

    # -- live updates -----------------------------------------------------------------
    def _detail_unfinished(self) -> bool:
        status = self.detail.status
        return status is not None and is_unfinished(status["status"])

    def _schedule_poll(self) -> None:
        if self._detail_unfinished() or self.model.any_unfinished():
            if not self.poll.isActive():
                self.poll.start()
        else:
            self.poll.stop()

    def _tick(self) -> None:
        if not self._live():
            self.poll.stop()
            return
        if not self.isVisible():
            return  # keep the timer; catch up when shown
        if self.model.any_unfinished():
            self.reload_list()
        if self._detail_unfinished():
            self.reload_detail()
        self._schedule_poll()

    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self.stopped = True
            self.poll.stop()
            self.soon.stop()
            return
        if event.name in RUN_EVENTS or (
            event.name in NODE_EVENTS and event.payload.get("run_id") == self.wanted_run
        ):
            self._events_want_detail |= event.payload.get("run_id") in (self.wanted_run, None)
            self.soon.start()

    def _reload_live(self) -> None:
        if not self._live():
            return
        self.reload_list()
        if self._events_want_detail and self.wanted_run is not None:
            self.reload_detail()
        self._events_want_detail = False

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._live() and self.poll.isActive():
            self._tick()

    # -- actions ----------------------------------------------------------------------
    def _act(self, work: Any, done: Callable[[Any], Any]) -> Any:
        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def rerun(self) -> Any:
        status = self.detail.status
        if status is None or not self.has("workflows:execute"):
            return None
        work = self.platform.engine.execute_workflow(
            self.context.session.require(),
            status["workflow_id"],
            dict(status.get("params") or {}),
            status["version"],
        )

        def done(run_id: str) -> None:
            self.show_message(f"Started run {run_id[:8]} (a re-run of {status['run_id'][:8]}).")
            self.sig_run_started.emit(run_id)
            self.select_run(run_id)

        return self._act(work, done)

    def cancel(self) -> Any:
        run_id = self.detail.run_id
        if run_id is None or not self.has("runs:write"):
            return None
        self.cancel_button.setEnabled(False)
        work = self.platform.engine.cancel(self.context.session.require(), run_id)

        def done(outcome: Any) -> None:
            self.show_message(
                f"Cancelled run {run_id[:8]}."
                if outcome != "cancel_requested"
                else f"Asked the process running {run_id[:8]} to stop it (within a second)."
            )
            self.reload_detail()
            self.reload_list()

        return self.context.tasks.spawn(work, on_done=done, on_error=self._action_failed)

    def resume(self) -> Any:
        run_id = self.detail.run_id
        if run_id is None or not self.has("runs:execute"):
            return None
        work = self.platform.engine.resume(self.context.session.require(), run_id)

        def done(_result: Any) -> None:
            self.show_message(f"Resumed run {run_id[:8]}.")
            self.reload_detail()
            self.reload_list()

        return self.context.tasks.spawn(work, on_done=done, on_error=self._action_failed)

    def decide(self, node_id: str, approved: bool, comment: str = "") -> Any:
        """Approve or reject a pending approval of the selected run."""
        run_id = self.detail.run_id
        if run_id is None:
            return None
        box = self.detail.approval
        box.approve_button.setEnabled(False)
        box.reject_button.setEnabled(False)
        work = self.platform.engine.approve(
            self.context.session.require(),
            run_id,
            node_id,
            approved=approved,
            comment=comment,
        )

        def done(_result: Any) -> None:
            box.comment.clear()
            self._enable_decision(None)
            self.show_message(f"{'Approved' if approved else 'Rejected'}: the run continues.")
            self.reload_detail()
            self.reload_list()

        return self.context.tasks.spawn(work, on_done=done, on_error=self._enable_decision)

    def _enable_decision(self, exc: BaseException | None) -> None:
        self.detail.approval.approve_button.setEnabled(True)
        self.detail.approval.reject_button.setEnabled(True)
        if exc is not None:
            self._action_failed(exc)

    def _action_failed(self, exc: BaseException) -> None:
        self.failed(exc)
        self._update_buttons()
        self.reload_detail()


def _page_number(key: str) -> int:
    """The N of the page's Ctrl+N shortcut (its place on the navigation rail)."""
    return next(number for number, spec in enumerate(PAGES, start=1) if spec.key == key)
