"""The editor's node palette: every registered node type by category, to drag onto the canvas.

The palette lists what the ``NodeRegistry`` holds rather than a list of its own, so a type
a later feature registers (AI, integrations, messages) appears without touching the editor.
The tree is built once and searching only hides rows, which keeps typing instant with a few
hundred types. Favourites are a per-user shortcut (stored in ``QSettings``) shown as their
own group first and shared with quick-add, which ranks them first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMimeData,
    QModelIndex,
    QObject,
    QPoint,
    QSettings,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.workflows.registry import NodeRegistry, NodeType, PortSpec
from auterity_desktop.ui.resources import icon

NODE_TYPE_MIME = "application/x-auterity-node-type"
FAVOURITES_KEY = "editor/favourites"
FAVOURITES_GROUP = "Favourites"
STAR_COLOR = "#e5a50a"  # amber reads as "favourite" on both the light and the dark theme
TypeRole = Qt.ItemDataRole.UserRole + 1  # the node type name; unset on group rows
GroupRole = Qt.ItemDataRole.UserRole + 2  # the group key on group rows
_FAVOURITES_GROUP_KEY = "\0favourites"  # group key that no category name can collide with
_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_WORD = re.compile(r"[^\W_]+")  # letters and digits: "http_request", "Sub-workflow" split
ROW_HEIGHT = 24


# -- text shared with quick-add -------------------------------------------------------------
def port_list(ports: Iterable[PortSpec]) -> str:
    """``main (any), error (object)``: names with their types, since the type decides what
    a port can connect to."""
    parts = [f"{p.name} ({p.type}{', many' if p.multiple else ''})" for p in ports]
    return ", ".join(parts) or "none"


def ports_line(node_type: NodeType) -> str:
    """``in: main (any) · out: true (any), false (any)`` for a tooltip."""
    outputs = port_list(node_type.outputs)
    if node_type.dynamic_outputs is not None:
        outputs += " + ports set by its parameters"
    return f"in: {port_list(node_type.inputs)} · out: {outputs}"


def node_tooltip(node_type: NodeType) -> str:
    """Title, description and ports: enough to pick a node without adding it first."""
    kind = " · starts a run" if node_type.trigger else ""
    return (
        f"<p><b>{html.escape(node_type.title)}</b> &nbsp;"
        f"<i>{html.escape(node_type.type)}</i>{kind}</p>"
        f"<p>{html.escape(node_type.description)}</p>"
        f"<p>{html.escape(ports_line(node_type))}</p>"
    )


def fold_words(text: str) -> str:
    """Folded words joined by single spaces, so "Sub-workflow" and "sub workflow" agree."""
    return " ".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class SearchKeys:
    """A type's searchable text, folded once so each keystroke only does substring tests.

    A term may fall anywhere in the title or type name, but must start a word of the
    category or description: otherwise "re" matches half the descriptions ("more",
    "are") and the list stops narrowing."""

    names: str  # title and type name, folded
    words: str  # every word of title, type, category and description, each after a space

    @classmethod
    def of(cls, node_type: NodeType) -> SearchKeys:
        everything = f"{node_type.title} {node_type.type} {node_type.category}"
        return cls(
            f"{node_type.title} {node_type.type}".casefold(),
            f" {fold_words(f'{everything} {node_type.description}')}",
        )

    def matches(self, term: str) -> bool:
        """``term`` is one folded word of the query."""
        return term in self.names or f" {term}" in self.words


def load_favourites(settings: QSettings | None) -> list[str]:
    """The stored favourites; an INI file reads a one-item list back as a bare string and
    an empty list as an empty string or nothing, so normalise all of them."""
    if settings is None:
        return []
    value = settings.value(FAVOURITES_KEY, [])
    if isinstance(value, str):
        value = [value] if value else []
    if not isinstance(value, list | tuple):
        return []
    return list(dict.fromkeys(str(v) for v in value if v))


def children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [c for row in range(item.childCount()) if (c := item.child(row)) is not None]


@cache
def star_icon() -> QIcon:
    return icon("star", STAR_COLOR, 16)


# -- the tree ---------------------------------------------------------------------------------
class PaletteTree(QTreeWidget):
    """The category tree; node rows drag out as ``NODE_TYPE_MIME`` and Enter activates."""

    sig_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)  # lets Qt skip measuring every row: fast with hundreds
        self.setAnimated(False)
        self.setIndentation(14)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setExpandsOnDoubleClick(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(1, 24)
        self.itemDoubleClicked.connect(self._on_double_clicked)

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        """The dragged type's name as UTF-8: all the canvas needs to create the node."""
        mime = QMimeData()
        names = [name for item in items if (name := item.data(0, TypeRole))]
        if names:
            mime.setData(NODE_TYPE_MIME, QByteArray(str(names[0]).encode("utf-8")))
        return mime

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        # The canvas makes a new node: a copy, never a move out of the palette.
        super().startDrag(Qt.DropAction.CopyAction)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in _ENTER_KEYS and item is not None and item.data(0, TypeRole):
            self.sig_activated.emit(str(item.data(0, TypeRole)))
            return
        super().keyPressEvent(event)

    def _on_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        # Not ``itemActivated``: on desktops that activate on single click it would add a
        # node whenever someone only meant to select or start dragging one.
        name = item.data(0, TypeRole)
        if name:
            self.sig_activated.emit(str(name))


class PaletteWidget(QWidget):
    """Search field over the category tree, with a Favourites group first."""

    sig_chosen = Signal(str)  # a type was activated: the editor adds it at the view's centre

    def __init__(
        self,
        registry: NodeRegistry,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._registry = registry
        self._settings = settings
        self._favourites = load_favourites(settings)
        self._keys: dict[str, SearchKeys] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._items: dict[str, list[QTreeWidgetItem]] = {}  # type name → its rows
        self._expanded_before_search: dict[str, bool] | None = None

        self.search = QLineEdit()
        self.search.setObjectName("PaletteSearch")
        self.search.setPlaceholderText("Search nodes")
        self.search.setClearButtonEnabled(True)
        self.search.setStyleSheet("padding: 3px 6px;")  # the shared sheet sets none
        self.search.setAccessibleName("Search node types")
        self.search.textChanged.connect(self._apply_filter)
        self.search.installEventFilter(self)

        self.tree = PaletteTree()
        self.tree.setObjectName("PaletteTree")
        self.tree.setAccessibleName("Node types")
        self.tree.sig_activated.connect(self.sig_chosen)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._on_context_menu)

        self.empty = QLabel()
        self.empty.setObjectName("EmptyStateText")  # muted by the shared style sheet
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty.setWordWrap(True)
        self.empty.setContentsMargins(8, 16, 8, 8)
        self.empty.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty, 1)
        self.reload()

    # -- public ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Rebuild from the registry (after a feature registered more types)."""
        self.tree.clear()
        self._groups.clear()
        self._items.clear()
        self._keys.clear()
        bold = QFont(self.tree.font())
        bold.setWeight(QFont.Weight.DemiBold)
        favourites = self._group_item(_FAVOURITES_GROUP_KEY, FAVOURITES_GROUP, bold)
        favourites.setIcon(1, star_icon())
        for category, node_types in self._registry.categories().items():
            group = self._group_item(category, category, bold)
            for node_type in sorted(node_types, key=lambda t: t.title.casefold()):
                self._keys[node_type.type] = SearchKeys.of(node_type)
                self._add_type_item(group, node_type)
        self._fill_favourites()
        self._apply_filter()

    def set_filter(self, text: str) -> None:
        """Search as if typed (the field shows it, so the user sees why rows are missing)."""
        self.search.setText(text)

    def favourites(self) -> list[str]:
        """The favourite type names that the registry knows, in the order they were added."""
        return [name for name in self._favourites if name in self._registry]

    def toggle_favourite(self, type_name: str) -> None:
        if type_name in self._favourites:
            self._favourites.remove(type_name)
        else:
            self._favourites.append(type_name)
        if self._settings is not None:
            # Names unknown to this registry stay stored: the feature that registers them
            # may just not be loaded this time.
            self._settings.setValue(FAVOURITES_KEY, list(self._favourites))
            self._settings.sync()
        self._fill_favourites()
        self._apply_filter()

    def is_favourite(self, type_name: str) -> bool:
        return type_name in self._favourites

    def group(self, category: str) -> QTreeWidgetItem | None:
        """The row of a category (or ``FAVOURITES_GROUP``)."""
        key = _FAVOURITES_GROUP_KEY if category == FAVOURITES_GROUP else category
        return self._groups.get(key)

    def visible_types(self) -> list[str]:
        """Type names of the rows the search leaves, top to bottom (favourites included)."""
        names: list[str] = []
        for group in self._groups.values():
            if group.isHidden():
                continue
            names.extend(str(c.data(0, TypeRole)) for c in children(group) if not c.isHidden())
        return names

    def context_menu(self, item: QTreeWidgetItem) -> QMenu | None:
        """The menu for a node row (None on a group row): add it, or (un)star it."""
        name = item.data(0, TypeRole)
        if not name:
            return None
        name = str(name)
        menu = QMenu(self)
        menu.addAction("Add to canvas", lambda: self.sig_chosen.emit(name))
        label = "Remove from favourites" if self.is_favourite(name) else "Add to favourites"
        menu.addAction(label, lambda: self.toggle_favourite(name))
        return menu

    # -- building -------------------------------------------------------------------------
    def _group_item(self, key: str, title: str, font: QFont) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [title])
        item.setSizeHint(0, QSize(0, ROW_HEIGHT))
        item.setData(0, GroupRole, key)
        item.setFont(0, font)
        # selectable for keyboard travel (Left/Right fold it), but nothing to drag
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        item.setExpanded(True)
        self._groups[key] = item
        return item

    def _add_type_item(
        self, parent: QTreeWidgetItem, node_type: NodeType, index: int | None = None
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem([node_type.title])
        item.setSizeHint(0, QSize(0, ROW_HEIGHT))
        item.setData(0, TypeRole, node_type.type)
        item.setToolTip(0, node_tooltip(node_type))
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsDragEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )
        if self.is_favourite(node_type.type):
            item.setIcon(1, star_icon())
        if index is None:
            parent.addChild(item)
        else:
            parent.insertChild(index, item)
        self._items.setdefault(node_type.type, []).append(item)
        return item

    def _fill_favourites(self) -> None:
        """Refill the Favourites group and the star marks; the category rows stay, so the
        user's folding and scroll position survive a toggle."""
        group = self._groups[_FAVOURITES_GROUP_KEY]
        for child in children(group):
            self._items[str(child.data(0, TypeRole))].remove(child)
            group.removeChild(child)
        known = [t for name in self.favourites() if (t := self._registry.get(name)) is not None]
        for node_type in sorted(known, key=lambda t: t.title.casefold()):
            self._add_type_item(group, node_type)
        for name, items in self._items.items():
            star = star_icon() if self.is_favourite(name) else QIcon()
            for item in items:
                item.setIcon(1, star)

    # -- searching ------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        text = self.search.text().strip()
        terms = text.casefold().split()
        if terms and self._expanded_before_search is None:
            self._expanded_before_search = {k: g.isExpanded() for k, g in self._groups.items()}
        self.tree.setUpdatesEnabled(False)
        try:
            any_visible = False
            for key, group in self._groups.items():
                shown = 0
                for child in children(group):
                    keys = self._keys.get(str(child.data(0, TypeRole)))
                    matches = keys is not None and all(keys.matches(t) for t in terms)
                    child.setHidden(not matches)
                    shown += matches
                group.setHidden(shown == 0)
                any_visible = any_visible or shown > 0
                if terms and shown:
                    group.setExpanded(True)
                elif not terms and self._expanded_before_search is not None:
                    group.setExpanded(self._expanded_before_search.get(key, True))
            if not terms:
                self._expanded_before_search = None
        finally:
            self.tree.setUpdatesEnabled(True)
        self._ensure_current_visible()
        empty = not any_visible
        self.empty.setText(
            f"No node type matches “{text}”" if terms else "No node types are registered"
        )
        self.empty.setVisible(empty)
        self.tree.setVisible(not empty)

    def _ensure_current_visible(self) -> None:
        current = self.tree.currentItem()
        if current is None:
            return
        parent = current.parent()
        if current.isHidden() or (parent is not None and parent.isHidden()):
            self.tree.setCurrentIndex(QModelIndex())

    def _first_visible_item(self) -> QTreeWidgetItem | None:
        for group in self._groups.values():
            if group.isHidden():
                continue
            for child in children(group):
                if not child.isHidden():
                    return child
        return None

    # -- events ---------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys in the search field: Down goes to the list, Enter adds the top match, Esc
        clears the search, so the mouse is never needed."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key == Qt.Key.Key_Down:
                first = self._first_visible_item()
                if first is not None:
                    self.tree.setFocus(Qt.FocusReason.OtherFocusReason)
                    self.tree.setCurrentItem(first)
                return True
            if key in _ENTER_KEYS:
                current = self.tree.currentItem()
                if current is None or not current.data(0, TypeRole) or current.isHidden():
                    current = self._first_visible_item()
                if current is not None:
                    self.sig_chosen.emit(str(current.data(0, TypeRole)))
                return True
            if key == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(watched, event)

    def _on_context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        menu = self.context_menu(item) if item is not None else None
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))
            menu.deleteLater()
