"""One run in detail: summary, pending approval, node timeline and the selected node's data.

The widget only shows what it is given and announces what the user asks for (approve or
reject with a comment); the Runs page does the service calls and feeds it fresh state while
the run is unfinished. Refreshes keep what the user is looking at: the selected node stays
selected and its JSON trees are rebuilt only when that node's data really changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.models.run_display import (
    elapsed,
    format_duration,
    format_time,
    is_unfinished,
    status_colour,
)
from auterity_desktop.ui.models.timeline_model import (
    TIMELINE_COLUMN,
    NodeRun,
    NodeTimelineModel,
)
from auterity_desktop.ui.widgets.json_tree import JsonTreeView
from auterity_desktop.ui.widgets.row_selection import select_row
from auterity_desktop.ui.widgets.timeline_bar import TimelineBarDelegate

TRUNCATED_NOTE = "⚠ This node's data was larger than 256 KB: only a preview of it was stored."


class ApprovalBox(QGroupBox):
    """The pending approvals of a run, with a comment and Approve / Reject."""

    sig_decided = Signal(str, bool, str)  # node id, approved, comment

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Waiting for approval", parent)
        self.setObjectName("ApprovalBox")
        self.approvals: list[dict[str, Any]] = []
        self.user: str | None = None
        self.choice = QComboBox()
        self.choice.setAccessibleName("Pending approval")
        self.choice.currentIndexChanged.connect(self._show_current)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info = QLabel("")
        self.info.setObjectName("PageSubtitle")
        self.info.setWordWrap(True)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment (recorded in the audit log)")
        self.approve_button = QPushButton("&Approve")
        self.approve_button.clicked.connect(lambda: self._decide(True))
        self.reject_button = QPushButton("Re&ject")
        self.reject_button.clicked.connect(lambda: self._decide(False))
        row = QHBoxLayout()
        row.addWidget(self.comment, 1)
        row.addWidget(self.approve_button)
        row.addWidget(self.reject_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.choice)
        layout.addWidget(self.text)
        layout.addWidget(self.info)
        layout.addLayout(row)
        self.hide()

    def set_approvals(self, approvals: list[dict[str, Any]], user: str | None) -> None:
        """``user`` is who may decide (``None``: the role may not decide approvals)."""
        ids = [a.get("node_id") for a in approvals]
        if ids != [a.get("node_id") for a in self.approvals]:
            current = self.current_node_id()
            self.approvals = list(approvals)
            self.choice.blockSignals(True)
            self.choice.clear()
            for approval in approvals:
                self.choice.addItem(str(approval.get("node_name") or approval.get("node_id")))
            if current in ids:
                self.choice.setCurrentIndex(ids.index(current))
            self.choice.blockSignals(False)
            self._show_current()
        self.user = user
        self.choice.setVisible(len(approvals) > 1)
        for widget in (self.comment, self.approve_button, self.reject_button):
            widget.setVisible(user is not None)
        self._update_allowed()
        self.setVisible(bool(approvals))

    def _update_allowed(self) -> None:
        """Named approvers only: others see the request but cannot decide it."""
        approval = self.current()
        approvers = (approval or {}).get("approvers") or []
        allowed = approval is not None and (not approvers or self.user in approvers)
        for widget in (self.comment, self.approve_button, self.reject_button):
            widget.setEnabled(allowed)

    def current(self) -> dict[str, Any] | None:
        index = self.choice.currentIndex()
        return self.approvals[index] if 0 <= index < len(self.approvals) else None

    def current_node_id(self) -> str | None:
        approval = self.current()
        return str(approval["node_id"]) if approval and approval.get("node_id") else None

    def _show_current(self) -> None:
        approval = self.current()
        self._update_allowed()
        if approval is None:
            self.text.setText("")
            self.info.setText("")
            return
        self.text.setText(str(approval.get("message") or "Approve to continue the run."))
        approvers = approval.get("approvers") or []
        who = ", ".join(map(str, approvers)) if approvers else "any operator"
        self.info.setText(
            f"{approval.get('node_name') or approval.get('node_id')} · may decide: {who} · "
            f"asked {format_time(approval.get('requested_at'))} · "
            f"deadline {format_time(approval.get('deadline'))}"
        )

    def _decide(self, approved: bool) -> None:
        node_id = self.current_node_id()
        if node_id is not None:
            self.sig_decided.emit(node_id, approved, self.comment.text().strip())


class RunDetailWidget(QWidget):
    sig_node_selected = Signal(str)  # node id

    OUTPUT, INPUT, ERROR, PARAMS, RESULTS = range(5)

    def __init__(self, colours: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colours = colours  # () -> theme colours
        self.status: dict[str, Any] | None = None
        self._shown_node: tuple[str, tuple[Any, ...]] | None = None
        self._run_values: tuple[Any, Any] | None = None

        # summary
        self.title = QLabel("Select a run")
        self.title.setObjectName("EmptyStateTitle")
        self.info = QLabel("Its timeline, each node's input and output, and errors show here.")
        self.info.setObjectName("PageSubtitle")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_error = QLabel("")
        self.run_error.setObjectName("HealthError")
        self.run_error.setWordWrap(True)
        self.run_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_error.hide()
        self.approval = ApprovalBox()

        # timeline
        self.timeline_model = NodeTimelineModel(colours)
        self.timeline = QTableView()
        self.timeline.setObjectName("TimelineTable")
        self.timeline.setTabKeyNavigation(False)  # Tab leaves the list; arrows move in it
        self.timeline.setModel(self.timeline_model)
        self.timeline.setItemDelegateForColumn(TIMELINE_COLUMN, TimelineBarDelegate(self.timeline))
        self.timeline.verticalHeader().hide()
        self.timeline.setAlternatingRowColors(True)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.timeline.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.timeline.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((150, 110, 105, 80, 72, 72)):
            self.timeline.setColumnWidth(column, width)
        self.timeline.selectionModel().selectionChanged.connect(self._node_selection_changed)

        # node data
        self.node_title = QLabel("Select a node in the timeline")
        self.node_title.setObjectName("PageSubtitle")
        self.truncated = QLabel(TRUNCATED_NOTE)
        self.truncated.setObjectName("HealthWarning")
        self.truncated.setWordWrap(True)
        self.truncated.hide()
        self.output_tree = JsonTreeView("Select a node to see its output.")
        self.input_tree = JsonTreeView("Select a node to see its input.")
        self.error_text = QPlainTextEdit()
        self.error_text.setObjectName("NodeError")
        self.error_text.setReadOnly(True)
        self.error_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.error_text.setPlaceholderText("No error.")
        self.params_tree = JsonTreeView("The run had no parameters.")
        self.results_tree = JsonTreeView("No results yet.")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.output_tree, "Output")
        self.tabs.addTab(self.input_tree, "Input")
        self.tabs.addTab(self.error_text, "Error")
        self.tabs.addTab(self.params_tree, "Run parameters")
        self.tabs.addTab(self.results_tree, "Run results")
        node_panel = QWidget()
        node_layout = QVBoxLayout(node_panel)
        node_layout.setContentsMargins(0, 0, 0, 0)
        node_layout.addWidget(self.node_title)
        node_layout.addWidget(self.truncated)
        node_layout.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.timeline)
        self.splitter.addWidget(node_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([640, 440])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.info)
        layout.addWidget(self.run_error)
        layout.addWidget(self.approval)
        layout.addWidget(self.splitter, 1)
        layout.addStretch(0)  # takes the room while the splitter is hidden
        self.splitter.hide()  # until a run is shown: a blank timeline says nothing

    # -- run ----------------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        return str(self.status["run_id"]) if self.status else None

    def clear(self) -> None:
        self.status = None
        self._shown_node = None
        self._run_values = None
        self.title.setText("Select a run")
        self.title.setStyleSheet("")
        self.info.setText("Its timeline, each node's input and output, and errors show here.")
        self.splitter.hide()
        self.run_error.hide()
        self.approval.set_approvals([], None)
        self.timeline_model.clear()
        self._show_node(None)
        self.params_tree.set_value(None)
        self.results_tree.set_value(None)

    def show_run(
        self,
        status: Mapping[str, Any],
        nodes: list[Any],
        workflow_name: str,
        approvals: list[dict[str, Any]],
        decider: str | None,
    ) -> None:
        """Show (or refresh) a run; ``nodes`` are its version's document nodes, ``decider``
        the user who may decide its approvals (``None``: not this role)."""
        same_run = self.run_id == status["run_id"]
        if not same_run:
            self._shown_node = None
            self._run_values = None
        self.status = dict(status)
        run_status = status["status"]
        self.title.setText(f"{workflow_name}  ·  v{status['version']}  ·  {run_status}")
        self.title.setStyleSheet(f"color: {status_colour(run_status, self._colours())};")
        start = status.get("started_at") or status.get("created_at")
        duration = elapsed(start, status.get("finished_at"))
        if not status.get("finished_at") and not is_unfinished(run_status):
            duration = None
        verb = "took" if not is_unfinished(run_status) else "running for"
        if run_status == "waiting":
            verb = "waiting for"
        self.info.setText(
            f"Run {status['run_id']} · started {format_time(status.get('created_at'))} by "
            f"{status.get('created_by') or '—'} · {verb} "
            f"{format_duration(duration)} · {(status.get('progress') or 0) * 100:.0f} % done"
            + (f" · sub-run of {status['parent_run_id']}" if status.get("parent_run_id") else "")
        )
        self.run_error.setText(f"✘ {status['error']}" if status.get("error") else "")
        self.run_error.setVisible(bool(status.get("error")))
        self.approval.set_approvals(approvals, decider)
        self.splitter.show()

        selected = self.selected_node_id()
        self.timeline_model.set_run(status, nodes)
        if not same_run or selected is None:
            selected = self._first_interesting()
        if selected is not None:
            self.select_node(selected)
        values = (status.get("params") or None, status.get("results") or None)
        if values != self._run_values:
            self._run_values = values
            self.params_tree.set_value(values[0], "The run had no parameters.")
            self.results_tree.set_value(
                values[1],
                "No results yet." if is_unfinished(run_status) else "The run gave no results.",
            )
        if not same_run and selected is not None:
            row = self.timeline_model.node_run(self.timeline_model.row_of(selected))
            self.tabs.setCurrentIndex(self.ERROR if row.status == "failed" else self.OUTPUT)

    def _first_interesting(self) -> str | None:
        """A failed or waiting node if there is one (what the user came for), else the last
        node that finished."""
        model = self.timeline_model
        rows = [model.node_run(r) for r in range(model.rowCount())]
        for wanted in ("failed", "waiting", "running"):
            for row in rows:
                if row.status == wanted:
                    return row.node_id
        finished = [r for r in rows if r.status == "succeeded"]
        return finished[-1].node_id if finished else (rows[0].node_id if rows else None)

    # -- nodes --------------------------------------------------------------------------
    def selected_node_id(self) -> str | None:
        rows = self.timeline.selectionModel().selectedRows()
        return self.timeline_model.node_run(rows[0].row()).node_id if rows else None

    def select_node(self, node_id: str) -> bool:
        row = self.timeline_model.row_of(node_id)
        if row < 0:
            return False
        if self.selected_node_id() != node_id:
            index = self.timeline_model.index(row, 0)
            select_row(self.timeline, index, current=False)
        else:
            self._show_node(self.timeline_model.node_run(row))
        return True

    def _node_selection_changed(self, selected: QItemSelection, _old: QItemSelection) -> None:
        rows = self.timeline.selectionModel().selectedRows()
        if not rows:
            return
        node = self.timeline_model.node_run(rows[0].row())
        self._show_node(node)
        self.sig_node_selected.emit(node.node_id)

    def _show_node(self, node: NodeRun | None) -> None:
        if node is None:
            self._shown_node = None
            self.node_title.setText("Select a node in the timeline")
            self.truncated.hide()
            self.output_tree.set_value(None, "Select a node to see its output.")
            self.input_tree.set_value(None, "Select a node to see its input.")
            self.error_text.setPlainText("")
            return
        if self._shown_node == (node.node_id, node.key):
            return  # unchanged: keep the trees as the user expanded them
        self._shown_node = (node.node_id, node.key)
        self.node_title.setText(
            f"{node.name}  ·  {node.type}  ·  {node.status}"
            + (f"  ·  attempt {node.attempt}" if node.attempt > 1 else "")
            + (f"  ·  {node.items_done:,} items done" if node.items_done is not None else "")
        )
        self.truncated.setVisible(node.truncated)
        not_yet = {
            "pending": "The node has not run yet.",
            "skipped": "The node was skipped (a branch not taken).",
            "running": "No output yet: the node is running.",
            "waiting": "No output yet: the node waits for a decision.",
        }
        self.output_tree.set_value(
            node.output, not_yet.get(node.status, "The node gave no output.")
        )
        self.input_tree.set_value(
            node.input,
            "The node has not run yet." if node.started_at is None else "The node had no input.",
        )
        self.error_text.setPlainText(node.error or "")
        self.tabs.setTabText(self.ERROR, "Error ⚠" if node.error else "Error")
