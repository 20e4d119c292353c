"""The side panel of the Workflows page: a workflow's nodes, versions and problems.

Until the node-graph editor exists this read-only view is what opening a workflow shows.
Problems come from validation (or from a file that failed to import) and name the node or
edge they are about; double-clicking one selects that node in the node list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.ui.models.run_display import format_time

NODE_COLUMNS = ("Name", "Type", "Id", "On error")
VERSION_COLUMNS = ("Version", "Saved", "By")
PROBLEM_COLUMNS = ("Code", "Node", "Edge", "Problem")


def _table(columns: Sequence[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setTabKeyNavigation(False)  # Tab leaves the list; the arrow keys move in it
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setToolTip(text if len(text) > 40 else "")
            table.setItem(r, c, item)


class WorkflowDetailsWidget(QWidget):
    sig_problem_activated = Signal(str)  # node id

    NODES, VERSIONS, PROBLEMS = 0, 1, 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select a workflow")
        self.title.setObjectName("EmptyStateTitle")
        self.title.setWordWrap(True)
        self.description = QLabel("Its nodes, versions and problems show here.")
        self.description.setObjectName("PageSubtitle")
        self.description.setWordWrap(True)
        self.nodes = _table(NODE_COLUMNS, "NodeTable")
        self.versions = _table(VERSION_COLUMNS, "VersionTable")
        self.problems = _table(PROBLEM_COLUMNS, "ProblemTable")
        self.problems.setToolTip("Double-click a problem to select its node")
        self.problems.cellDoubleClicked.connect(self._problem_activated)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.nodes, "Nodes")
        self.tabs.addTab(self.versions, "Versions")
        self.tabs.addTab(self.problems, "Problems")
        self.problem_rows: list[dict[str, Any]] = []
        self.node_ids: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.description)
        layout.addWidget(self.tabs, 1)
        layout.addStretch(0)  # takes the room while the tabs are hidden
        self.tabs.hide()  # until a workflow is shown: blank tables say nothing

    def clear(self) -> None:
        self.title.setText("Select a workflow")
        self.description.setText("Its nodes, versions and problems show here.")
        self.node_ids = []
        self.tabs.hide()
        _fill(self.nodes, [])
        _fill(self.versions, [])
        self.show_problems(None)

    def show_workflow(self, saved: Any, versions: list[tuple[int, float, str]]) -> None:
        """``saved`` is the store's ``SavedWorkflow``; ``versions`` its (version, at, by)."""
        doc = saved.document
        self.title.setText(f"{doc.name}  ·  v{saved.version}")
        self.description.setText(doc.description or "No description.")
        self.node_ids = [n.id for n in doc.nodes]
        _fill(
            self.nodes,
            [
                (n.name + (" (disabled)" if n.disabled else ""), n.type, n.id, n.on_error)
                for n in doc.nodes
            ],
        )
        _fill(
            self.versions,
            [(f"v{v}", format_time(at), by) for v, at, by in sorted(versions, reverse=True)],
        )
        self.tabs.setTabText(self.NODES, f"Nodes ({len(doc.nodes)})")
        self.tabs.setTabText(self.VERSIONS, f"Versions ({len(versions)})")
        self.tabs.show()

    def show_problems(self, problems: list[dict[str, Any]] | None) -> None:
        """``None``: not validated yet; ``[]``: validated and fine."""
        self.problem_rows = list(problems or [])
        _fill(
            self.problems,
            [
                (
                    p.get("code", ""),
                    p.get("node_id", ""),
                    p.get("edge_id", ""),
                    p.get("message", ""),
                )
                for p in self.problem_rows
            ],
        )
        label = "Problems" if problems is None else f"Problems ({len(self.problem_rows)})"
        self.tabs.setTabText(self.PROBLEMS, label)
        if self.problem_rows:
            self.tabs.setCurrentIndex(self.PROBLEMS)

    def select_node(self, node_id: str) -> bool:
        if node_id not in self.node_ids:
            return False
        self.tabs.setCurrentIndex(self.NODES)
        self.nodes.selectRow(self.node_ids.index(node_id))
        return True

    def _problem_activated(self, row: int, _column: int) -> None:
        node_id = self.problem_rows[row].get("node_id")
        if node_id:
            self.select_node(node_id)
            self.sig_problem_activated.emit(node_id)
