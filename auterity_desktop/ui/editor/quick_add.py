"""Quick-add: a small search popup at the cursor that adds a node without the palette.

Tab (or a double-click on empty canvas) opens it where the pointer is, so the new node
lands where the user is looking and the hands stay on the keyboard: type, arrows, Enter.
Ranking puts what the user most likely means first: the title starting with the query,
then a word of the title or type name starting with it, then any substring, then a match
in the category or description only; favourites go first among equals.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.services.workflows.registry import NodeRegistry, NodeType
from auterity_desktop.ui.editor.palette import fold_words, node_tooltip, star_icon

Index = QModelIndex | QPersistentModelIndex
TypeRole = Qt.ItemDataRole.UserRole + 1
CategoryRole = Qt.ItemDataRole.UserRole + 2
FavouriteRole = Qt.ItemDataRole.UserRole + 3
VISIBLE_ROWS = 10
POPUP_WIDTH = 360
_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_STYLE = """
QFrame#QuickAddPopup { background: palette(window); border: 1px solid palette(mid); }
QFrame#QuickAddPopup QListView { border: none; background: palette(window); }
QFrame#QuickAddPopup QLineEdit { padding: 3px 6px; }
"""


# -- ranking ----------------------------------------------------------------------------------
def _word_runs(folded: str) -> tuple[str, ...]:
    """Each word start to the end with the spaces taken out: "sub workflow" gives
    ("subworkflow", "workflow"), so "subwork" and "sub work" both match at a word start
    while "re" does not match "for each" across its space."""
    words = folded.split()
    return tuple("".join(words[i:]) for i in range(len(words)))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A node type with its searchable text folded once per opening, not per keystroke."""

    node_type: NodeType
    title: str
    name: str
    runs: tuple[str, ...]  # word runs of the title and the type name
    rest: str  # category and description words, each after a space

    @classmethod
    def of(cls, node_type: NodeType) -> Candidate:
        title = fold_words(node_type.title)
        name = fold_words(node_type.type)
        return cls(
            node_type,
            title,
            name,
            _word_runs(title) + _word_runs(name),
            f" {fold_words(f'{node_type.category} {node_type.description}')}",
        )

    def tier(self, query: str) -> int | None:
        """0: the title starts with the query; 1: a word of the title or type name does;
        2: the title or type name holds it; 3: each query word is in the title or type
        name or starts a word of the category or description; None: no match.

        ``query`` is folded with ``fold_words``."""
        if self.title.startswith(query):
            return 0
        compact = query.replace(" ", "")
        if any(run.startswith(compact) for run in self.runs):
            return 1
        if query in self.title or query in self.name:
            return 2
        names = f"{self.title} {self.name}"
        if all(word in names or f" {word}" in self.rest for word in query.split()):
            return 3
        return None


def rank_candidates(
    candidates: Iterable[Candidate], query: str, favourites: Collection[str] = ()
) -> list[NodeType]:
    query = fold_words(query)
    scored: list[tuple[int, bool, str, NodeType]] = []
    for candidate in candidates:
        tier = candidate.tier(query) if query else 0
        if tier is not None:
            node_type = candidate.node_type
            scored.append((tier, node_type.type not in favourites, candidate.title, node_type))
    scored.sort(key=lambda s: s[:3])
    return [s[3] for s in scored]


def rank_node_types(
    node_types: Iterable[NodeType], query: str, favourites: Collection[str] = ()
) -> list[NodeType]:
    """The types matching ``query``, best first (all of them, favourites first, if empty)."""
    return rank_candidates((Candidate.of(t) for t in node_types), query, favourites)


# -- the list ---------------------------------------------------------------------------------
class QuickAddModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._types: list[NodeType] = []
        self._favourites: frozenset[str] = frozenset()

    def set_types(self, types: list[NodeType], favourites: Collection[str]) -> None:
        self.beginResetModel()
        self._types = types
        self._favourites = frozenset(favourites)
        self.endResetModel()

    def type_names(self) -> list[str]:
        return [t.type for t in self._types]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._types)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._types):
            return None
        node_type = self._types[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return node_type.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return node_tooltip(node_type)
        if role == TypeRole:
            return node_type.type
        if role == CategoryRole:
            return node_type.category
        if role == FavouriteRole:
            return node_type.type in self._favourites
        return None


class QuickAddDelegate(QStyledItemDelegate):
    """Star slot, title, and the category muted on the right; the slot is always reserved
    so titles line up whether or not a row is a favourite."""

    PAD = 8
    STAR = 14

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(POPUP_WIDTH, max(26, option.fontMetrics.height() + 10))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        rect: QRect = opt.rect.adjusted(self.PAD, 0, -self.PAD, 0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_color = opt.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = (
            QColor(text_color)
            if selected
            else opt.palette.color(QPalette.ColorRole.PlaceholderText)
        )
        if selected:
            muted.setAlphaF(0.75)
        metrics = opt.fontMetrics
        painter.save()
        painter.setFont(opt.font)  # the metrics above are this font's
        if index.data(FavouriteRole):
            star_top = rect.top() + (rect.height() - self.STAR) // 2
            star_icon().paint(painter, QRect(rect.left(), star_top, self.STAR, self.STAR))
        rect.setLeft(rect.left() + self.STAR + 6)

        category = str(index.data(CategoryRole) or "")
        category_width = metrics.horizontalAdvance(category)
        if category_width > rect.width() // 3:  # elide only when it must: eliding at the
            category_width = rect.width() // 3  # exact width can cut a fitting word short
            category = metrics.elidedText(category, Qt.TextElideMode.ElideRight, category_width)
        center = Qt.AlignmentFlag.AlignVCenter
        painter.setPen(muted)
        painter.drawText(rect, center | Qt.AlignmentFlag.AlignRight, category)
        title_rect = rect.adjusted(0, 0, -(category_width + 12), 0)
        painter.setPen(text_color)
        painter.drawText(
            title_rect,
            center | Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(
                str(index.data() or ""), Qt.TextElideMode.ElideRight, title_rect.width()
            ),
        )
        painter.restore()


# -- the popup --------------------------------------------------------------------------------
class QuickAddPopup(QFrame):
    """Frameless popup: a search line over the ranked list; Esc or a click outside closes."""

    sig_chosen = Signal(str, QPointF)  # type name and the scene position it was opened for

    def __init__(self, registry: NodeRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("QuickAddPopup")
        self.setStyleSheet(_STYLE)
        self._registry = registry
        self._scene_pos = QPointF()
        self._favourites: tuple[str, ...] = ()
        self._candidates: list[Candidate] = []

        self.search = QLineEdit()
        self.search.setPlaceholderText("Add a node…")
        self.search.setAccessibleName("Search node types to add")
        self.search.textChanged.connect(self._refilter)
        self.search.installEventFilter(self)

        self.model = QuickAddModel(self)
        self.results = QListView()
        self.results.setModel(self.model)
        self.results.setItemDelegate(QuickAddDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing always goes to search
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setMouseTracking(True)
        self.results.entered.connect(self.results.setCurrentIndex)
        self.results.clicked.connect(self._choose)

        self.empty = QLabel()
        self.empty.setObjectName("EmptyStateText")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty.setWordWrap(True)
        self.empty.setContentsMargins(8, 16, 8, 8)

        # The list area keeps its height while typing: a popup that resizes on every
        # keystroke makes the eye chase it.
        self.stack = QStackedWidget()
        self.stack.addWidget(self.results)
        self.stack.addWidget(self.empty)
        row = QuickAddDelegate().sizeHint(QStyleOptionViewItem(), QModelIndex()).height()
        self.stack.setFixedHeight(row * VISIBLE_ROWS + 2 * self.results.frameWidth())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.stack)
        self.setFixedWidth(POPUP_WIDTH)

    # -- public ---------------------------------------------------------------------------
    def open_at(
        self, global_pos: QPoint, scene_pos: QPointF, favourites: Collection[str] = ()
    ) -> None:
        """Show at ``global_pos`` (kept on screen) for a node to be added at ``scene_pos``."""
        self._scene_pos = QPointF(scene_pos)
        self._favourites = tuple(favourites)
        # Rebuilt per opening: the registry may have gained types since the last one.
        self._candidates = [Candidate.of(t) for t in self._registry.all()]
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._refilter()
        self.adjustSize()
        self.move(self._on_screen(global_pos))
        self.show()
        self.search.setFocus(Qt.FocusReason.PopupFocusReason)

    def scene_pos(self) -> QPointF:
        return QPointF(self._scene_pos)

    def current_type(self) -> str | None:
        index = self.results.currentIndex()
        return str(index.data(TypeRole)) if index.isValid() else None

    # -- behaviour ------------------------------------------------------------------------
    def _refilter(self) -> None:
        text = self.search.text()
        ranked = rank_candidates(self._candidates, text, self._favourites)
        self.model.set_types(ranked, self._favourites)
        if ranked:
            self.results.setCurrentIndex(self.model.index(0, 0))
            self.stack.setCurrentWidget(self.results)
        else:
            self.empty.setText(
                f"No node type matches “{text.strip()}”"
                if text.strip()
                else "No node types are registered"
            )
            self.stack.setCurrentWidget(self.empty)

    def _move(self, delta: int, wrap: bool) -> None:
        count = self.model.rowCount()
        if not count:
            return
        current = self.results.currentIndex()
        row = (current.row() if current.isValid() else -1) + delta
        row = row % count if wrap else max(0, min(count - 1, row))
        self.results.setCurrentIndex(self.model.index(row, 0))

    def _choose(self, index: Index | None = None) -> None:
        index = self.results.currentIndex() if index is None else index
        if not index.isValid():
            return
        name = str(index.data(TypeRole))
        self.hide()  # first, so the canvas has focus back when it adds the node
        self.sig_chosen.emit(name, QPointF(self._scene_pos))

    def _on_screen(self, pos: QPoint) -> QPoint:
        screen = QGuiApplication.screenAt(pos) or QGuiApplication.primaryScreen()
        if screen is None:
            return pos
        area = screen.availableGeometry()
        size = self.sizeHint().expandedTo(self.size())
        x = max(area.left(), min(pos.x(), area.right() - size.width() + 1))
        y = max(area.top(), min(pos.y(), area.bottom() - size.height() + 1))
        return QPoint(x, y)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if self._handle_key(event):
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        """Navigation keys act on the list while the focus stays in the search line."""
        key = event.key()
        page = max(1, VISIBLE_ROWS - 1)
        moves: dict[int, tuple[int, bool]] = {
            Qt.Key.Key_Down: (1, True),
            Qt.Key.Key_Tab: (1, True),
            Qt.Key.Key_Up: (-1, True),
            Qt.Key.Key_Backtab: (-1, True),
            Qt.Key.Key_PageDown: (page, False),
            Qt.Key.Key_PageUp: (-page, False),
        }
        if key in moves:
            self._move(*moves[key])
        elif key in _ENTER_KEYS:
            self._choose()
        elif key == Qt.Key.Key_Escape:
            self.hide()
        else:
            return False
        return True
