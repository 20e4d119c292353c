"""A read-only JSON value as an expandable tree, with copy as JSON.

Run inputs and outputs can be large (up to 256 KB per node), so the model builds a node's
children only when the view asks for them (on expand), and shows at most ``MAX_CHILDREN``
of a container with a "… N more" row; *Copy as JSON* still copies the whole value. The
widget is standalone on purpose: the Runs page shows node data with it and the node editor
will show parameters and pinned data with it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex
MAX_CHILDREN = 500
MAX_DISPLAY = 200  # characters of a string shown in the Value column
COLUMNS = ("Key", "Value", "Type")
ValueRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def summary(value: Any) -> str:
    """One line for the Value column: scalars as JSON, containers by their size."""
    if isinstance(value, dict):
        return f"{{{len(value)} key{'' if len(value) == 1 else 's'}}}"
    if isinstance(value, list | tuple):
        return f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    if isinstance(value, str):
        text = value if len(value) <= MAX_DISPLAY else value[:MAX_DISPLAY] + "…"
        return text.replace("\n", "⏎ ")
    return to_json(value, indent=None)


def to_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


class _Node:
    """One key/value in the tree; ``children`` stays ``None`` until first needed."""

    __slots__ = ("children", "key", "parent", "path", "row", "value")

    def __init__(self, key: str, value: Any, parent: _Node | None, row: int, path: str) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.row = row
        self.path = path
        self.children: list[_Node] | None = None

    @property
    def is_container(self) -> bool:
        return isinstance(self.value, dict | list | tuple) and bool(self.value)

    def build(self) -> list[_Node]:
        if self.children is None:
            items: list[tuple[str, Any, str]] = []
            if isinstance(self.value, dict):
                for key, value in self.value.items():
                    key = str(key)
                    path = f"{self.path}.{key}" if key.isidentifier() else f"{self.path}[{key!r}]"
                    items.append((key, value, path))
            elif isinstance(self.value, list | tuple):
                items = [(f"[{i}]", v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]
            more = len(items) - MAX_CHILDREN
            children = [
                _Node(key, value, self, row, path)
                for row, (key, value, path) in enumerate(items[:MAX_CHILDREN])
            ]
            if more > 0:
                children.append(_More(f"… {more:,} more", None, self, MAX_CHILDREN, self.path))
            self.children = children
        return self.children


class _More(_Node):
    """The row that stands for the children not shown."""

    @property
    def is_container(self) -> bool:
        return False


class JsonTreeModel(QAbstractItemModel):
    """Key, value and type of every member of a JSON value, built lazily."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root = _Node("", None, None, 0, "$")
        self._root.children = []
        self._value: Any = None

    # -- content ------------------------------------------------------------------------
    def set_value(self, value: Any) -> None:
        self.beginResetModel()
        self._value = value
        self._root = _Node("", value, None, 0, "$")
        if value is not None and not (isinstance(value, dict | list | tuple) and value):
            # a scalar or an empty container at the top still gets a row: never a blank view
            self._root.children = [_Node("(value)", value, None, 0, "$")]
        self.endResetModel()

    def value(self) -> Any:
        return self._value

    def node(self, index: Index) -> _Node:
        if not index.isValid():
            return self._root
        node: _Node = index.internalPointer()
        return node

    def value_at(self, index: Index) -> Any:
        return self.node(index).value

    # -- Qt model protocol --------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column < 0 or column >= len(COLUMNS):
            return QModelIndex()
        children = self.node(parent).build()
        if 0 <= row < len(children):
            return self.createIndex(row, column, children[row])
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        parent = self.node(index).parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self.node(parent)
        if node is not self._root and not node.is_container:
            return 0
        return len(node.build())

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        node = self.node(parent)
        if node is self._root:
            return bool(node.build())
        return parent.column() == 0 and node.is_container

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self.node(index)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(node, _More):
                return node.key if column == 0 else ""
            return (node.key, summary(node.value), type_name(node.value))[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 1 and isinstance(node.value, str):
            return node.value[:2000]
        if role == ValueRole:
            return node.value
        if role == PathRole:
            return node.path
        return None


class JsonTreeView(QWidget):
    """The tree with *Expand all*, *Collapse all* and *Copy as JSON*, and an empty text.

    *Copy as JSON* copies the selected member, or the whole value when nothing is selected;
    the context menu also copies a member's path (``$.customer.email``) for expressions.
    """

    sig_copied = Signal(str)  # the text put on the clipboard

    def __init__(self, empty_text: str = "No data.", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = JsonTreeModel(self)
        self.tree = QTreeView()
        self.tree.setObjectName("JsonTree")
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.tree.setColumnWidth(0, 180)

        self.empty = QLabel(empty_text)
        self.empty.setObjectName("EmptyStateText")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tree)

        self.expand_button = QPushButton("Expand all")
        self.expand_button.setToolTip("Expand every level (up to 10 deep)")
        self.expand_button.clicked.connect(self.expand_all)
        self.collapse_button = QPushButton("Collapse all")
        self.collapse_button.setToolTip("Show only the top level")
        self.collapse_button.clicked.connect(self.tree.collapseAll)
        self.copy_button = QPushButton("Copy as JSON")
        self.copy_button.setToolTip("Copy the selected member, or everything, as JSON")
        self.copy_button.clicked.connect(self.copy_json)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        for button in (self.expand_button, self.collapse_button, self.copy_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self.set_value(None)

    def set_value(self, value: Any, empty_text: str | None = None) -> None:
        """Show ``value``; ``None`` shows the empty text instead of a blank tree."""
        if empty_text is not None:
            self.empty.setText(empty_text)
        self.model.set_value(value)
        has_data = value is not None
        self.stack.setCurrentWidget(self.tree if has_data else self.empty)
        for button in (self.expand_button, self.collapse_button, self.copy_button):
            button.setEnabled(has_data)
        if has_data:
            self.tree.expandToDepth(0)

    def value(self) -> Any:
        return self.model.value()

    def expand_all(self) -> None:
        self.tree.expandRecursively(QModelIndex(), 10)

    def selected_value(self) -> Any:
        indexes = self.tree.selectionModel().selectedRows()
        return self.model.value_at(indexes[0]) if indexes else self.model.value()

    def copy_json(self) -> str:
        return self._copy(to_json(self.selected_value()))

    def _copy(self, text: str) -> str:
        QGuiApplication.clipboard().setText(text)
        self.sig_copied.emit(text)
        return text

    def _menu(self, position: QPoint) -> None:
        index = self.tree.indexAt(position)
        if not index.isValid():
            return
        node = self.model.node(index)
        menu = QMenu(self)
        menu.addAction("Copy as JSON", lambda: self._copy(to_json(node.value)))
        if not node.is_container:
            value = node.value
            menu.addAction(
                "Copy value",
                lambda: self._copy(value if isinstance(value, str) else to_json(value)),
            )
        menu.addAction("Copy path", lambda: self._copy(node.path))
        menu.popup(self.tree.viewport().mapToGlobal(position))
