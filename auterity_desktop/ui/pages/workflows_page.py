"""Workflows: the saved workflows with search; new, duplicate, delete, import, export,
validate and run with parameters. Selecting one shows its nodes, versions and problems.

Every action is one service call run on the asyncio loop; the buttons follow the signed-in
role (the store refuses regardless). Starting a run can jump to the Runs page with the new
run selected (``sig_show_run``, wired by the main window). Saves, deletes and runs made
elsewhere (the scheduler, the Runs page) reload the list through the event bus.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QStackedWidget,
    QTableView,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.services.workflows.validation import validate
from auterity_desktop.ui.models.workflow_table_model import WorkflowFilterModel, WorkflowTableModel
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.row_selection import select_row
from auterity_desktop.ui.widgets.workflow_details import WorkflowDetailsWidget
from auterity_desktop.ui.widgets.workflow_dialogs import NewWorkflowDialog, RunParametersDialog

REFRESH_EVENTS = frozenset({"workflow_saved", "workflow_deleted", "run_started", "run_finished"})
REFRESH_DELAY_MS = 250
LAST_RUNS_LIMIT = 500  # runs looked at for the "Last run" column: one cheap query
JSON_FILTER = "Workflow files (*.json);;All files (*)"


def file_name(name: str) -> str:
    """A file name from a workflow name: ``Lead follow-up`` → ``lead-follow-up.json``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"{slug or 'workflow'}.json"


class WorkflowsPage(ServicePage):
    sig_loaded = Signal()
    sig_details_loaded = Signal(str)  # workflow id
    sig_validated = Signal(str, list)  # workflow id, problems as dicts
    sig_run_started = Signal(str)  # run id
    sig_show_run = Signal(str)  # run id: the main window opens it on the Runs page

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_workflows")
        self.model = WorkflowTableModel(lambda: self.context.theme.colors)
        self.proxy = WorkflowFilterModel(self.model)
        self.versions: dict[str, list[tuple[int, float, str]]] = {}
        self.last_params: dict[str, dict[str, Any]] = {}
        self.last_run_id: str | None = None
        self._details_for: str | None = None
        self._select_after_load: str | None = None
        self.loaded = False

        # toolbar
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by name or description…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search workflows")
        self.search.textChanged.connect(self._search_changed)
        self.new_button = self._button("&New…", "Create an empty workflow (Ctrl+N)", self._new)
        self.duplicate_button = self._button(
            "D&uplicate", "Copy the selected workflow (Ctrl+D)", self._duplicate
        )
        self.delete_button = self._button(
            "Delete", "Delete the selected workflow (Del)", self._delete
        )
        self.import_button = self._button(
            "&Import…", "Save a workflow file as a new workflow (Ctrl+I)", self._import
        )
        self.export_button = self._button(
            "&Export…", "Write the selected workflow to a JSON file (Ctrl+E)", self._export
        )
        self.validate_button = self._button(
            "&Validate", "List every problem of the selected workflow", self._validate
        )
        self.run_button = self._button("&Run…", "Run with parameters (Ctrl+R)", self._run)
        self.open_button = self._button(
            "&Open", "Open the selected workflow in the editor (Enter)", self.open_selected
        )
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.search, 1)
        for button in (
            self.open_button,
            self.new_button,
            self.duplicate_button,
            self.delete_button,
            self.import_button,
            self.export_button,
            self.validate_button,
            self.run_button,
        ):
            toolbar.addWidget(button)

        # table, empty state and details
        self.table = QTableView()
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.table.setObjectName("WorkflowTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)  # one line per workflow; the tooltip has the rest
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 200), (2, 70), (3, 130), (4, 120)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.empty = EmptyStateWidget()
        self.empty_new = self.empty.add_button("New workflow…", self.new_button.toolTip())
        self.empty_new.clicked.connect(self._new)
        self.empty_import = self.empty.add_button("Import a file…", self.import_button.toolTip())
        self.empty_import.clicked.connect(self._import)
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(self.empty)
        self.details = WorkflowDetailsWidget()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list_stack)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([640, 420])

        self.show_run_button = QPushButton("Show run")
        self.show_run_button.setToolTip("Open the run just started on the Runs page")
        self.show_run_button.clicked.connect(self._show_last_run)
        self.show_run_button.hide()
        message_row = QHBoxLayout()
        message_row.addWidget(self.message, 1)
        message_row.addWidget(self.show_run_button)

        self.list_page = QWidget()
        layout = page_layout(self.list_page)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addLayout(toolbar)
        layout.addWidget(splitter, 1)
        layout.addLayout(message_row)
        self.pages = QStackedLayout(self)
        self.pages.addWidget(self.list_page)
        self.editor_panel: Any = None  # built the first time a workflow is opened
        self._shortcuts()
        self._update_buttons()
        # saves, deletes and finished runs elsewhere (scheduler, another page) show up here
        self._stale = False
        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(REFRESH_DELAY_MS)
        self.soon.timeout.connect(self.refresh)
        context.bridge.sig_event.connect(self._on_event)
        self.watch_session()

    def _button(self, text: str, tip: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            ("Ctrl+N", self._new),
            ("Ctrl+D", self._duplicate),
            ("Ctrl+I", self._import),
            ("Ctrl+E", self._export),
            ("Ctrl+R", self._run),
            ("F5", self.refresh),
            ("Ctrl+F", self.search.setFocus),
        ):
            QShortcut(QKeySequence(keys), self.list_page, activated=slot, context=context)
        # Del only on the table: in the search box it must delete text, not a workflow
        QShortcut(
            QKeySequence.StandardKey.Delete, self.table, activated=self._delete, context=context
        )
        for key in ("Return", "Enter"):
            QShortcut(QKeySequence(key), self.table, activated=self.open_selected, context=context)

    # -- permissions and loading ------------------------------------------------------
    def on_signed_in(self, principal: Any) -> None:
        write = "workflows:write" in principal.permissions
        for button in (self.new_button, self.duplicate_button, self.import_button):
            button.setVisible(write)
        self.delete_button.setVisible("workflows:delete" in principal.permissions)
        self.run_button.setVisible("workflows:execute" in principal.permissions)
        self.refresh()

    def refresh(self) -> Any:
        platform = self.context.bridge.platform
        if not self.context.session.signed_in or platform is None or not platform.running:
            return None
        self._stale = False
        return self.context.tasks.spawn(self._load(), on_error=self.failed)

    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self.soon.stop()
        elif event.name in REFRESH_EVENTS:
            if self.isVisible():
                self.soon.start()  # a burst of events: one reload
            else:
                self._stale = True

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    async def _load(self) -> None:
        actor = self.context.session.require()
        rows = await self.platform.workflows.list_workflows(actor)
        last_run: dict[str, str] = {}
        if "runs:read" in actor.permissions:
            for run in await self.platform.engine.list_runs(actor, limit=LAST_RUNS_LIMIT):
                last_run.setdefault(run["workflow_id"], run["status"])  # newest first
        keep = self._select_after_load or self.selected_id()
        self._select_after_load = None
        self.model.set_rows(rows, last_run)
        self.loaded = True
        self._update_empty_state()
        if keep is not None and not self.select_workflow(keep):
            self.details.clear()
            self._details_for = None
        self._update_buttons()
        self.sig_loaded.emit()

    def _update_empty_state(self) -> None:
        """An empty list says why it is empty and offers what to do about it."""
        writer = self.has("workflows:write")
        if self.model.rowCount() == 0:
            self.empty.set_text(
                "No workflows yet",
                "Create one or import a JSON file (Ctrl+N, Ctrl+I)."
                if writer
                else "Someone allowed to edit workflows can create or import one.",
            )
            offer = writer
        elif self.proxy.rowCount() == 0:
            self.empty.set_text(
                "No workflow matches", f"Nothing is called or described “{self.search.text()}”."
            )
            offer = False
        else:
            self.list_stack.setCurrentWidget(self.table)
            return
        self.empty_new.setVisible(offer)
        self.empty_import.setVisible(offer)
        self.list_stack.setCurrentWidget(self.empty)

    def _search_changed(self, text: str) -> None:
        self.proxy.set_search(text)
        self._update_empty_state()

    # -- selection and details --------------------------------------------------------
    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return str(self.model.workflow(self.proxy.mapToSource(rows[0]).row()).id)

    def selected_name(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.model.workflow(self.proxy.mapToSource(rows[0]).row()).name if rows else ""

    def select_workflow(self, workflow_id: str) -> bool:
        row = self.model.row_of(workflow_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():  # hidden by the search
            self.search.clear()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        select_row(self.table, index)
        return True

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_buttons()
        workflow_id = self.selected_id()
        if workflow_id is None:
            self.details.clear()
            self._details_for = None
        elif workflow_id != self._details_for:
            self._details_for = workflow_id
            self.details.show_problems(None)
            self.context.tasks.spawn(self._load_details(workflow_id), on_error=self.failed)

    async def _load_details(self, workflow_id: str) -> None:
        actor = self.context.session.require()
        saved = await self.platform.workflows.get(actor, workflow_id)
        versions = await self.platform.workflows.versions(actor, workflow_id)
        self.versions[workflow_id] = versions
        if workflow_id == self.selected_id():  # the user may have moved on meanwhile
            self.details.show_workflow(saved, versions)
            self.sig_details_loaded.emit(workflow_id)

    def open_selected(self) -> None:
        """Double-click or Enter: open the workflow in the editor."""
        workflow_id = self.selected_id()
        if workflow_id is not None:
            self.open_editor(workflow_id)

    def editor(self) -> Any:
        if self.editor_panel is None:
            from auterity_desktop.ui.editor.editor_panel import EditorPanel

            self.editor_panel = EditorPanel(self.context)
            self.editor_panel.sig_closed.connect(self.close_editor)
            self.editor_panel.sig_saved.connect(lambda _w: self.soon.start())
            self.pages.addWidget(self.editor_panel)
        return self.editor_panel

    def open_editor(self, workflow_id: str | None = None) -> Any:
        """Show the editor, with a saved workflow or (None) a new one."""
        panel = self.editor()
        self.pages.setCurrentWidget(panel)
        if workflow_id is None:
            panel.new_workflow()
            return None
        if panel.editor.workflow_id == workflow_id and panel.editor.modified:
            return None  # already open with unsaved work: keep it
        return panel.open_workflow(workflow_id)

    def focus_node(self, workflow_id: str, node_id: str) -> None:
        """Open a workflow with one node selected (compliance findings point here)."""
        panel = self.editor()
        task = self.open_editor(workflow_id)

        def select() -> None:
            if node_id in panel.editor.scene.node_items:
                panel.editor.scene.select([node_id])
                panel.editor.view.centre_on_node(node_id)

        if task is not None:
            task.add_done_callback(lambda _t: QTimer.singleShot(0, select))
        else:
            select()

    def confirm_close(self, retry: Any) -> bool:
        """The window is closing: unsaved editor work is saved (then ``retry``), dropped,
        or the close is cancelled."""
        if self.editor_panel is None:
            return True
        return bool(self.editor_panel.confirm_discard(after_save=retry))

    def close_editor(self) -> None:
        self.pages.setCurrentWidget(self.list_page)
        self.refresh()
        self.table.setFocus()

    def _update_buttons(self) -> None:
        selected = self.selected_id() is not None
        for button in (
            self.open_button,
            self.duplicate_button,
            self.delete_button,
            self.export_button,
            self.validate_button,
            self.run_button,
        ):
            button.setEnabled(selected)

    # -- actions ----------------------------------------------------------------------
    def _act(self, work: Any, done: Any) -> Any:
        self.show_run_button.hide()
        return self.context.tasks.spawn(work, on_done=done, on_error=self._action_failed)

    def _action_failed(self, exc: BaseException) -> None:
        self.failed(exc)
        problems = exc.details.get("problems") if isinstance(exc, ServiceError) else None
        if problems:  # a file that did not import, or a run refused: list every problem
            self.details.show_problems(problems)

    def _saved(self, verb: str) -> Any:
        def done(saved: Any) -> None:
            self.show_message(f"{verb} “{saved.document.name}”.")
            self._select_after_load = saved.id
            self.refresh()

        return done

    def create_workflow(self, document: dict[str, Any]) -> Any:
        work = self.platform.workflows.create(self.context.session.require(), document)
        return self._act(work, self._saved("Created"))

    def duplicate_workflow(self, workflow_id: str) -> Any:
        work = self.platform.workflows.duplicate(self.context.session.require(), workflow_id)
        return self._act(work, self._saved("Created the copy"))

    def delete_workflow(self, workflow_id: str, name: str = "") -> Any:
        work = self.platform.workflows.delete(self.context.session.require(), workflow_id)

        def done(_result: Any) -> None:
            self.show_message(f"Deleted “{name or workflow_id}”. Its past runs stay in Runs.")
            self.refresh()

        return self._act(work, done)

    def import_from(self, path: Path) -> Any:
        work = self.platform.workflows.import_file(self.context.session.require(), path)
        return self._act(work, self._saved(f"Imported {path.name} as"))

    def export_to(self, workflow_id: str, path: Path) -> Any:
        work = self.platform.workflows.export_file(
            self.context.session.require(), workflow_id, path
        )
        return self._act(work, lambda _r: self.show_message(f"Exported to {path}."))

    def validate_workflow(self, workflow_id: str) -> Any:
        actor = self.context.session.require()
        platform = self.platform

        async def work() -> list[dict[str, Any]]:
            saved = await platform.workflows.get(actor, workflow_id)
            # large graphs take a moment: keep the GUI thread free
            problems = await asyncio.to_thread(validate, saved.document, platform.nodes)
            return [p.to_dict() for p in problems]

        def done(problems: list[dict[str, Any]]) -> None:
            if workflow_id == self.selected_id():
                self.details.show_problems(problems)
            if problems:
                self.show_message(f"{len(problems)} problem(s): see the Problems list.", error=True)
            else:
                self.show_message("No problems: the workflow is ready to run.")
            self.sig_validated.emit(workflow_id, problems)

        return self._act(work(), done)

    def run_workflow(
        self,
        workflow_id: str,
        params: dict[str, Any] | None = None,
        version: int | None = None,
        follow: bool = False,
    ) -> Any:
        work = self.platform.engine.execute_workflow(
            self.context.session.require(), workflow_id, params or {}, version
        )
        self.last_params[workflow_id] = dict(params or {})

        def done(run_id: str) -> None:
            self.last_run_id = run_id
            self.show_message(f"Started run {run_id[:8]}.")
            self.show_run_button.show()
            self.sig_run_started.emit(run_id)
            self.refresh()
            if follow:
                self.sig_show_run.emit(run_id)

        return self._act(work, done)

    def _show_last_run(self) -> None:
        if self.last_run_id:
            self.sig_show_run.emit(self.last_run_id)

    # -- toolbar slots (dialogs) ------------------------------------------------------
    def _new(self) -> None:
        if not self.has("workflows:write"):
            return
        dialog = NewWorkflowDialog(self)
        dialog.accepted.connect(lambda: self.create_workflow(dialog.document()))
        dialog.open()

    def _duplicate(self) -> None:
        workflow_id = self.selected_id()
        if workflow_id is not None and self.has("workflows:write"):
            self.duplicate_workflow(workflow_id)

    def _delete(self) -> None:
        workflow_id, name = self.selected_id(), self.selected_name()
        if workflow_id is None or not self.has("workflows:delete"):
            return
        answer = QMessageBox.question(
            self,
            "Delete workflow",
            f"Delete “{name}”?\n\nIt disappears from this list; its past runs stay "
            "explainable on the Runs page.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_workflow(workflow_id, name)

    def _import(self) -> None:
        if not self.has("workflows:write"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import workflow", "", JSON_FILTER)
        if path:
            self.import_from(Path(path))

    def _export(self) -> None:
        workflow_id = self.selected_id()
        if workflow_id is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export workflow", file_name(self.selected_name()), JSON_FILTER
        )
        if path:
            self.export_to(workflow_id, Path(path))

    def _validate(self) -> None:
        workflow_id = self.selected_id()
        if workflow_id is not None:
            self.validate_workflow(workflow_id)

    def _run(self) -> None:
        workflow_id = self.selected_id()
        if workflow_id is None or not self.has("workflows:execute"):
            return
        dialog = self.run_dialog(workflow_id)
        dialog.open()

    def run_dialog(self, workflow_id: str) -> RunParametersDialog:
        """The parameters dialog for a workflow, wired to start the run when accepted."""
        versions = [v for v, _at, _by in self.versions.get(workflow_id, [])]
        dialog = RunParametersDialog(
            self.selected_name(), versions, self.last_params.get(workflow_id), self
        )
        dialog.accepted.connect(
            lambda: self.run_workflow(
                workflow_id,
                dialog.parameters(),
                dialog.selected_version(),
                follow=dialog.follow.isChecked(),
            )
        )
        return dialog
