"""Messages: the queues with their depth by state and rates, the topics seen, and the
dead-letter queue with each message's reason, payload and delivery history.

Queues and topics refresh live: a cheap statistics query every two seconds while the page
is shown (other processes publish and consume too), and at once when the queue reports
dead letters, replays or purges. Reloads coalesce (see ``Coalesced``), so a burst of events
costs one query. The dead-letter list is paged on the server; the selected dead letter's
payload and history load on their own, as JSON trees.

Replay and purge work on the selected dead letters or on everything the filters show;
purging asks first. Buttons follow the signed-in role (write: publish and replay; delete:
purge); the service refuses regardless. Every call runs on the task runner.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
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

from auterity_desktop.core.events import Event
from auterity_desktop.services.messaging.message import REASONS
from auterity_desktop.ui.models.message_models import (
    REASON_LABELS,
    DeadLetterTableModel,
    QueueTableModel,
    TopicTableModel,
)
from auterity_desktop.ui.models.run_display import format_time
from auterity_desktop.ui.pages import PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.page_header import PageHeaderWidget, page_layout
from auterity_desktop.ui.pages.service_page import ServicePage
from auterity_desktop.ui.widgets.coalesced import Coalesced
from auterity_desktop.ui.widgets.empty_state import EmptyStateWidget
from auterity_desktop.ui.widgets.json_tree import JsonTreeView, to_json
from auterity_desktop.ui.widgets.publish_message_dialog import PublishMessageDialog
from auterity_desktop.ui.widgets.row_selection import select_row
from auterity_desktop.ui.widgets.table_views import sortable_table, stacked

POLL_MS = 2000
EVENT_DELAY_MS = 100
PAGE_SIZE = 100
EVENTS = frozenset(
    {
        "messages_dead_lettered",
        "dead_letters_replayed",
        "dead_letters_purged",
        "queue_declared",
        "queue_deleted",
    }
)
ALL_QUEUES, ANY_REASON = "All queues", "Any reason"
HISTORY_HINT = "Select a dead letter to see how its deliveries went."
QUEUES_TAB, DEAD_TAB = 0, 1


class MessagesPage(ServicePage):
    sig_loaded = Signal()  # queues and topics were (re)loaded
    sig_dead_loaded = Signal()  # the dead-letter list was (re)loaded
    sig_detail_loaded = Signal(str)  # this dead letter's detail is shown

    def __init__(self, spec: PageSpec, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("Page_messages")
        self.stats: Any = None
        self.dead_offset = 0
        self.dead_total = 0
        self.shown_dead_id: str | None = None
        self.publish_dialog: PublishMessageDialog | None = None
        self.stopped = False
        self._last_dead_count: int | None = None
        self.reload = Coalesced(self, self._load)
        self.reload_dead = Coalesced(self, self._load_dead)
        self.reload_detail = Coalesced(self, self._load_detail)

        # toolbar
        self.publish_button = QPushButton("&Publish test message…")
        self.publish_button.setToolTip("Send a message on a topic and see which queues get it")
        self.publish_button.clicked.connect(self.open_publish_dialog)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload queues, topics and dead letters (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("")
        self.summary.setObjectName("PageSubtitle")
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.publish_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.summary)
        toolbar.addWidget(self.refresh_button)

        # queues
        self.queue_model = QueueTableModel(self._colours)
        self.queue_table = sortable_table("QueueTable", self.queue_model, sort_column=0)
        self.queue_table.setAccessibleName("Queues")
        header = self.queue_table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((220, 0, 70, 70, 75, 70, 60, 90, 90, 85, 75)):
            if width:
                self.queue_table.setColumnWidth(column, width)
        self.queue_table.activated.connect(lambda _i: self.show_dead_of_selected_queue())
        self.queue_empty = EmptyStateWidget()
        self.queue_empty.set_text(
            "No queues yet",
            "Queues are declared by workflows with a message trigger, or through the API; "
            "each is bound to a topic pattern such as leads.#. Publish a test message to see "
            "which queues a topic reaches.",
        )
        self.queue_stack = stacked(self.queue_table, self.queue_empty)

        # topics
        self.topic_model = TopicTableModel()
        self.topic_table = sortable_table(
            "TopicTable", self.topic_model, sort_column=3, descending=True
        )
        self.topic_table.setAccessibleName("Topics")
        header = self.topic_table.horizontalHeader()
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((260, 90, 90, 150)):
            self.topic_table.setColumnWidth(column, width)
        self.topic_empty = EmptyStateWidget()
        self.topic_empty.set_text(
            "No topics yet",
            "Topics appear here when something publishes: a workflow's Publish message node, "
            "the API, or Publish test message above.",
        )
        self.topic_stack = stacked(self.topic_table, self.topic_empty)

        topics_box = QGroupBox("Topics")
        QVBoxLayout(topics_box).addWidget(self.topic_stack)
        overview = QSplitter(Qt.Orientation.Vertical)
        overview.addWidget(self.queue_stack)
        overview.addWidget(topics_box)
        overview.setChildrenCollapsible(False)
        overview.setSizes([330, 270])
        self.tabs = QTabWidget()
        self.tabs.addTab(overview, "&Queues and topics")
        self.tabs.addTab(self._build_dead_tab(), "&Dead letters")

        layout = page_layout(self)
        layout.addWidget(PageHeaderWidget(spec.title, spec.summary))
        layout.addLayout(toolbar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)

        context_ = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence("F5"), self, activated=self.refresh, context=context_)
        QShortcut(QKeySequence.StandardKey.Delete, self.dead_table, activated=self.purge_selected,
                  context=Qt.ShortcutContext.WidgetShortcut)  # fmt: skip

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._tick)
        self.soon = QTimer(self)
        self.soon.setSingleShot(True)
        self.soon.setInterval(EVENT_DELAY_MS)
        self.soon.timeout.connect(self._reload_everything)
        context.bridge.sig_event.connect(self._on_event)
        self._apply_permissions(None)
        self._update_dead_buttons()
        self.watch_session()

    def _build_dead_tab(self) -> QWidget:
        self.queue_filter = QComboBox()
        self.queue_filter.setAccessibleName("Queue")
        self.queue_filter.setMinimumWidth(200)
        self.queue_filter.addItem(ALL_QUEUES, None)
        self.queue_filter.currentIndexChanged.connect(lambda _i: self._filters_changed())
        self.reason_filter = QComboBox()
        self.reason_filter.setAccessibleName("Reason")
        self.reason_filter.addItem(ANY_REASON, None)
        for reason in REASONS:
            self.reason_filter.addItem(REASON_LABELS[reason], reason)
        self.reason_filter.currentIndexChanged.connect(lambda _i: self._filters_changed())
        self.range_label = QLabel("")
        self.range_label.setObjectName("PageSubtitle")
        self.previous_button = QPushButton("◀ Newer")
        self.previous_button.setToolTip("The dead letters that arrived after these")
        self.previous_button.clicked.connect(lambda: self._turn(-1))
        self.next_button = QPushButton("Older ▶")
        self.next_button.setToolTip("The dead letters that arrived before these")
        self.next_button.clicked.connect(lambda: self._turn(1))
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Queue:"))
        filters.addWidget(self.queue_filter)
        filters.addWidget(QLabel("Reason:"))
        filters.addWidget(self.reason_filter)
        filters.addStretch(1)
        filters.addWidget(self.range_label)
        filters.addWidget(self.previous_button)
        filters.addWidget(self.next_button)

        self.dead_model = DeadLetterTableModel(self._colours)
        self.dead_table = sortable_table(
            "DeadLetterTable", self.dead_model, sort_column=6, descending=True
        )
        self.dead_table.setAccessibleName("Dead letters")
        self.dead_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.dead_table.horizontalHeader()
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((60, 130, 190, 110, 80, 0, 150)):
            if width:
                self.dead_table.setColumnWidth(column, width)
        self.dead_table.selectionModel().selectionChanged.connect(self._dead_selection_changed)
        self.dead_empty = EmptyStateWidget()
        self.dead_stack = stacked(self.dead_table, self.dead_empty)

        self.detail_info = QLabel("Select a dead letter to see its payload and history.")
        self.detail_info.setObjectName("PageSubtitle")
        self.detail_info.setWordWrap(True)
        self.detail_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.payload_view = JsonTreeView("Select a dead letter to see its payload.")
        self.history_view = JsonTreeView(HISTORY_HINT)
        payload_box = QGroupBox("Payload")
        QVBoxLayout(payload_box).addWidget(self.payload_view)
        history_box = QGroupBox("Delivery history")
        QVBoxLayout(history_box).addWidget(self.history_view)
        trees = QSplitter(Qt.Orientation.Horizontal)
        trees.addWidget(payload_box)
        trees.addWidget(history_box)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_info)
        detail_layout.addWidget(trees, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.dead_stack)
        splitter.addWidget(detail)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([190, 330])

        self.replay_button = QPushButton("&Replay selected")
        self.replay_button.setToolTip("Put the selected messages back into their queues")
        self.replay_button.clicked.connect(self.replay_selected)
        self.replay_queue_button = QPushButton("Replay &all of this queue")
        self.replay_queue_button.setToolTip("Put every dead letter of the chosen queue back")
        self.replay_queue_button.clicked.connect(self.replay_queue)
        self.purge_button = QPushButton("Purge selected…")
        self.purge_button.setToolTip("Delete the selected dead letters for good (Del)")
        self.purge_button.clicked.connect(self.purge_selected)
        self.purge_all_button = QPushButton("Purge all shown…")
        self.purge_all_button.setToolTip("Delete every dead letter the filters match")
        self.purge_all_button.clicked.connect(self.purge_shown)
        actions = QHBoxLayout()
        actions.addStretch(1)
        for button in (
            self.replay_button,
            self.replay_queue_button,
            self.purge_button,
            self.purge_all_button,
        ):
            actions.addWidget(button)

        tab = QWidget()
        tab_layout = QVBoxLayout(tab)
        tab_layout.addLayout(filters)
        tab_layout.addWidget(splitter, 1)
        tab_layout.addLayout(actions)
        return tab

    @property
    def service(self) -> Any:
        return self.platform.messages

    # -- permissions ------------------------------------------------------------------
    def can(self, action: str) -> bool:
        return self.has(f"messages:{action}")

    def _apply_permissions(self, principal: Any) -> None:
        granted = set(principal.permissions) if principal is not None else set()
        self.publish_button.setVisible("messages:write" in granted)
        self.replay_button.setVisible("messages:write" in granted)
        self.replay_queue_button.setVisible("messages:write" in granted)
        self.purge_button.setVisible("messages:delete" in granted)
        self.purge_all_button.setVisible("messages:delete" in granted)

    def on_signed_in(self, principal: Any) -> None:
        self._apply_permissions(principal)
        self._update_dead_buttons()
        self.poll.start()
        self._reload_everything()

    # -- queues and topics ------------------------------------------------------------
    def refresh(self) -> Any:
        """Reload queues and topics, and the dead letters with them (F5)."""
        if not self._live():
            return None
        self.reload_dead()
        return self.reload()

    def _reload_everything(self) -> None:
        self.refresh()

    async def _load(self) -> None:
        stats = await self.service.stats(self.context.session.require())
        self.stats = stats
        _keep_selection(self.queue_table, self.queue_model, stats.queues)
        _keep_selection(self.topic_table, self.topic_model, stats.topics)
        self.queue_stack.setCurrentWidget(self.queue_table if stats.queues else self.queue_empty)
        self.topic_stack.setCurrentWidget(self.topic_table if stats.topics else self.topic_empty)
        self.tabs.setTabText(
            DEAD_TAB, f"&Dead letters ({stats.dead:,})" if stats.dead else "&Dead letters"
        )
        queues = len(stats.queues)
        held = sum(q.depth for q in stats.queues)
        self.summary.setText(
            f"{queues} queue{'' if queues == 1 else 's'} · {held:,} message"
            f"{'' if held == 1 else 's'} waiting · {stats.dead:,} dead"
        )
        self._fill_queue_filter([q.name for q in stats.queues] + sorted(stats.orphaned_dead))
        if self._last_dead_count is not None and stats.dead != self._last_dead_count:
            self.reload_dead()  # someone else added or removed dead letters
        self._last_dead_count = stats.dead
        self.sig_loaded.emit()

    def _fill_queue_filter(self, names: list[str]) -> None:
        current = self.queue_filter.currentData()
        present = [self.queue_filter.itemData(i) for i in range(1, self.queue_filter.count())]
        if present == names:
            return
        self.queue_filter.blockSignals(True)
        self.queue_filter.clear()
        self.queue_filter.addItem(ALL_QUEUES, None)
        for name in names:
            self.queue_filter.addItem(name, name)
        self.queue_filter.setCurrentIndex(max(self.queue_filter.findData(current), 0))
        self.queue_filter.blockSignals(False)

    def selected_queue(self) -> str | None:
        rows = self.queue_table.selectionModel().selectedRows()
        if not rows:
            return None
        proxy = self.queue_table.model()
        return str(self.queue_model.item(proxy.mapToSource(rows[0]).row()).name)  # type: ignore[attr-defined]

    def show_dead_of_selected_queue(self) -> None:
        """Enter or double-click on a queue: its dead letters."""
        name = self.selected_queue()
        if name is None:
            return
        index = self.queue_filter.findData(name)
        if index >= 0:
            self.queue_filter.setCurrentIndex(index)
        self.tabs.setCurrentIndex(DEAD_TAB)

    # -- dead letters -----------------------------------------------------------------
    def _filters_changed(self) -> None:
        self.dead_offset = 0
        self._update_dead_buttons()
        if self._live():
            self.reload_dead()

    def _turn(self, pages: int) -> None:
        self.dead_offset = max(0, self.dead_offset + pages * PAGE_SIZE)
        if self._live():
            self.reload_dead()

    async def _load_dead(self) -> None:
        page = await self.service.dead_letters(
            self.context.session.require(),
            queue=self.queue_filter.currentData(),
            reason=self.reason_filter.currentData(),
            offset=self.dead_offset,
            limit=PAGE_SIZE,
        )
        if page.total and self.dead_offset >= page.total:  # the last page emptied
            self.dead_offset = (page.total - 1) // PAGE_SIZE * PAGE_SIZE
            self.reload_dead()
            return
        self.dead_total = page.total
        _keep_selection(self.dead_table, self.dead_model, page.items, single=False)
        first = self.dead_offset + 1
        self.range_label.setText(
            f"{first:,}–{self.dead_offset + len(page.items):,} of {page.total:,}"
            if page.total
            else ""
        )
        self.previous_button.setEnabled(self.dead_offset > 0)
        self.next_button.setEnabled(self.dead_offset + len(page.items) < page.total)
        self._update_dead_empty_state()
        if self.shown_dead_id is not None and self.dead_model.row_of(self.shown_dead_id) < 0:
            self._show_detail(None)  # the one shown was replayed or purged
        self._update_dead_buttons()
        self.sig_dead_loaded.emit()

    def _filtered(self) -> bool:
        return bool(self.queue_filter.currentData() or self.reason_filter.currentData())

    def _update_dead_empty_state(self) -> None:
        if self.dead_model.rowCount():
            self.dead_stack.setCurrentWidget(self.dead_table)
            return
        if self._filtered():
            self.dead_empty.set_text("No dead letter matches", "Change or clear the filters.")
        else:
            self.dead_empty.set_text(
                "The dead-letter queue is empty",
                "Messages land here when a consumer rejects them, their time to live runs out, "
                "a full queue pushes them out, or they fail as often as their queue allows. "
                "Nothing to do.",
            )
        self.dead_stack.setCurrentWidget(self.dead_empty)

    def selected_dead_ids(self) -> list[str]:
        proxy = self.dead_table.model()
        rows = sorted(
            self.dead_table.selectionModel().selectedRows(), key=lambda index: index.row()
        )
        return [
            str(self.dead_model.item(proxy.mapToSource(index).row()).id)  # type: ignore[attr-defined]
            for index in rows
        ]

    def select_dead(self, dead_id: str) -> bool:
        row = self.dead_model.row_of(dead_id)
        if row < 0:
            return False
        proxy = self.dead_table.model()
        select_row(self.dead_table, proxy.mapFromSource(self.dead_model.index(row, 0)))  # type: ignore[attr-defined]
        return True

    def _dead_selection_changed(self, _s: QItemSelection, _d: QItemSelection) -> None:
        self._update_dead_buttons()
        ids = self.selected_dead_ids()
        if not ids:
            self._show_detail(None)
        elif ids[0] != self.shown_dead_id:
            self.reload_detail()

    async def _load_detail(self) -> None:
        ids = self.selected_dead_ids()
        if not ids:
            return
        dead = await self.service.dead_letter(self.context.session.require(), ids[0])
        if ids[0] in self.selected_dead_ids():
            self._show_detail(dead)
            self.sig_detail_loaded.emit(dead.id)

    def _show_detail(self, dead: Any) -> None:
        self.shown_dead_id = None if dead is None else dead.id
        if dead is None:
            self.detail_info.setText("Select a dead letter to see its payload and history.")
            self.payload_view.set_value(None, "Select a dead letter to see its payload.")
            self.history_view.set_value(None, HISTORY_HINT)
            return
        headers = f" · headers {to_json(dead.headers, indent=None)}" if dead.headers else ""
        error = f"\nLast error: {dead.error}" if dead.error else ""
        self.detail_info.setText(
            f"Message {dead.id} on {dead.topic} · queue {dead.queue} · priority "
            f"{dead.priority} · published {format_time(dead.published_at)} · "
            f"{REASON_LABELS.get(dead.reason, dead.reason)} after {dead.deliveries} "
            f"deliver{'y' if dead.deliveries == 1 else 'ies'}, {format_time(dead.dead_at)}"
            f"{headers} · {dead.payload_bytes:,} bytes{error}"
        )
        self.payload_view.set_value(dead.payload, "Select a dead letter to see its payload.")
        if dead.history:
            self.history_view.set_value([_readable(entry) for entry in dead.history])
        else:
            self.history_view.set_value(None, "No deliveries: it died before anyone got it.")

    def _update_dead_buttons(self) -> None:
        chosen = bool(self.dead_table.selectionModel().selectedRows())
        self.replay_button.setEnabled(chosen)
        self.purge_button.setEnabled(chosen)
        self.replay_queue_button.setEnabled(self.queue_filter.currentData() is not None)
        self.purge_all_button.setEnabled(self.dead_model.rowCount() > 0)

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
            self.reload()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.stats is not None:
            self.refresh()

    # -- actions ----------------------------------------------------------------------
    def open_publish_dialog(self) -> PublishMessageDialog | None:
        if not self._live() or not self.can("write"):
            return None
        topics = [t.name for t in self.stats.topics] if self.stats is not None else []
        dialog = PublishMessageDialog(topics, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.publish(dialog.message()))
        dialog.finished.connect(lambda _r: setattr(self, "publish_dialog", None))
        self.publish_dialog = dialog
        dialog.open()
        return dialog

    def publish(self, message: Any) -> Any:
        work = self.service.publish_as(
            self.context.session.require(),
            message.topic,
            message.payload,
            priority=message.priority,
            delay=message.delay,
        )

        def done(ids: list[str]) -> None:
            if ids:
                queues = f"{len(ids)} queue{'' if len(ids) == 1 else 's'}"
                self.show_message(
                    f"Published on {message.topic} to {queues} (id {', '.join(ids)})."
                )
            else:
                self.show_message(
                    f"No queue is bound to a pattern matching {message.topic}: the message was "
                    "dropped (it is counted under Topics as unrouted).",
                    error=True,
                )
            self.reload()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def replay_selected(self) -> Any:
        ids = self.selected_dead_ids()
        if not ids or not self._live() or not self.can("write"):
            return None
        return self._replay(self.service.replay(self.context.session.require(), ids))

    def replay_queue(self) -> Any:
        queue = self.queue_filter.currentData()
        if queue is None or not self._live() or not self.can("write"):
            return None
        return self._replay(self.service.replay(self.context.session.require(), queue=queue))

    def _replay(self, work: Any) -> Any:
        def done(result: Any) -> None:
            text = f"Replayed {result.replayed:,} message{'' if result.replayed == 1 else 's'}."
            if result.skipped:
                why = "; ".join(f"{q}: {reason}" for q, reason in result.details.items())
                text += f" {result.skipped:,} stayed in the dead-letter queue ({why})."
            self.show_message(text, error=bool(result.skipped and not result.replayed))
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def purge_selected(self) -> Any:
        ids = self.selected_dead_ids()
        if not ids or not self._live() or not self.can("delete"):
            return None
        many = f"these {len(ids)} dead letters" if len(ids) > 1 else f"dead letter {ids[0]}"
        if not self._confirm("Purge dead letters", f"Delete {many} for good?"):
            return None
        return self._purge(self.service.purge(self.context.session.require(), ids))

    def purge_shown(self) -> Any:
        if not self.dead_total or not self._live() or not self.can("delete"):
            return None
        queue = self.queue_filter.currentData()
        reason = self.reason_filter.currentData()
        scope = "".join(
            (
                f" of queue {queue}" if queue else "",
                f" that died of “{REASON_LABELS[reason]}”" if reason else "",
            )
        )
        question = f"Delete all {self.dead_total:,} dead letters{scope} for good?"
        if not self._confirm("Purge dead letters", question):
            return None
        work = self.service.purge(
            self.context.session.require(),
            queue=queue,
            reason=reason,
            everything=queue is None and reason is None,
        )
        return self._purge(work)

    def _confirm(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(
            self,
            title,
            f"{question}\n\nTheir payloads cannot be recovered or replayed afterwards.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _purge(self, work: Any) -> Any:
        def done(removed: int) -> None:
            self.show_message(f"Purged {removed:,} dead letter{'' if removed == 1 else 's'}.")
            self.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)


def _readable(entry: dict[str, Any]) -> dict[str, Any]:
    """A history entry for people: its time as a date, the outcome before the details."""
    shown = {"delivery": entry.get("delivery"), "outcome": entry.get("outcome")}
    if isinstance(entry.get("at"), int | float):
        shown["at"] = format_time(entry["at"])
    return shown | {k: v for k, v in entry.items() if k not in shown and v is not None}


def _keep_selection(table: QTableView, model: Any, rows: list[Any], single: bool = True) -> None:
    """Replace the rows, keeping the same things selected (a live refresh must not make
    the user lose their place)."""
    proxy: Any = table.model()
    selection = table.selectionModel()
    keys = model.keys()
    selected = [keys[proxy.mapToSource(index).row()] for index in selection.selectedRows()]
    model.set_rows(rows)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
    for key in selected[:1] if single else selected:
        row = model.row_of(key)
        if row >= 0:
            index = proxy.mapFromSource(model.index(row, 0))
            selection.select(index, flags | QItemSelectionModel.SelectionFlag.Rows)
            flags = QItemSelectionModel.SelectionFlag.Select
