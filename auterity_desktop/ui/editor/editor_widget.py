"""The workflow editor: palette, canvas with minimap, inspector, problems and run panel,
with the actions (and shortcuts) that work on them.

Every change goes through the undo stack; the stack's clean state is the "modified" mark,
live validation runs a moment after each change, and a draft of unsaved work is written
to the data folder so a crash loses nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QPixmapCache, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.workflows.document import WorkflowDocument, parse_document
from auterity_desktop.services.workflows.editable import EditableWorkflow
from auterity_desktop.services.workflows.registry import NodeRegistry
from auterity_desktop.services.workflows.validation import Problem, validate
from auterity_desktop.ui.editor.commands import AddItems, RemoveItems, SetExecution, UpdateNode
from auterity_desktop.ui.editor.inspector import InspectorWidget
from auterity_desktop.ui.editor.palette import PaletteWidget
from auterity_desktop.ui.editor.quick_add import QuickAddPopup
from auterity_desktop.ui.editor.run_tracker import RunTracker
from auterity_desktop.ui.editor.scene import CLIPBOARD_FORMAT, WorkflowScene
from auterity_desktop.ui.editor.view import MinimapView, WorkflowView
from auterity_desktop.ui.widgets.json_tree import JsonTreeView
from auterity_desktop.ui.widgets.records_table import RecordsTableView

logger = logging.getLogger(__name__)

VALIDATE_MS = 200
AUTOSAVE_MS = 1500
CLIPBOARD_MIME = "application/x-auterity-workflow-fragment"
PIXMAP_CACHE_KB = 96 * 1024


class WorkflowEditorWidget(QWidget):
    """Edits one workflow document. Saving, running and approving are done through the
    callbacks the page gives it, so the editor itself holds no service references."""

    sig_modified = Signal(bool)
    sig_message = Signal(str, bool)  # text, is an error
    sig_save_requested = Signal()
    sig_run_requested = Signal()
    sig_decided = Signal(str, str, bool, str)  # run id, node id, approved, comment
    sig_cancel_requested = Signal(str)  # run id

    def __init__(
        self,
        registry: NodeRegistry,
        settings: QSettings | None = None,
        drafts: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("WorkflowEditor")
        # Nodes are cached pictures (see node_item); Qt's default 10 MB holds ~60 of them.
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        self.registry = registry
        self.settings = settings
        self.drafts = drafts
        self.workflow_id: str | None = None
        self.version: int | None = None
        self.stack = QUndoStack(self)
        self.problems: list[Problem] = []
        self.model = EditableWorkflow(WorkflowDocument(name="Untitled"))
        self.scene = WorkflowScene(self.model, registry, self.stack, self)
        self.view = WorkflowView(self.scene)
        self.minimap = MinimapView(self.view, self.view)
        self.palette = PaletteWidget(registry, settings)
        self.inspector = InspectorWidget(registry)
        self.quick_add = QuickAddPopup(registry, self)
        self.tracker = RunTracker(self._load_status, self._schedule)
        self.run_output = JsonTreeView()
        self.run_table = RecordsTableView()
        self.run_input = JsonTreeView()
        self.run_error = QLabel("")
        self.problem_list = QListWidget()
        self.approval_bar = QWidget()
        self.status_line = QLabel("")
        self._build_layout()
        self.actions_by_name: dict[str, QAction] = {}
        self._build_actions()
        self._wire()
        self._validate_timer = QTimer(self, singleShot=True, interval=VALIDATE_MS)
        self._validate_timer.timeout.connect(self.revalidate)
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.write_draft)
        self.load_status: Callable[[str], Any] | None = None  # set by the page
        self.schedule: Callable[[Any], Any] | None = None
        self.revalidate()

    # -- layout ---------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.toolbar = QToolBar("Editor")
        self.toolbar.setObjectName("EditorToolbar")
        self.title = QLabel("Untitled")
        self.title.setObjectName("PageTitle")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.status_line)

        approve = QPushButton("&Approve")
        reject = QPushButton("Re&ject")
        self.approval_text = QLabel("")
        self.approval_comment = QLineEdit()
        self.approval_comment.setPlaceholderText("Comment (kept in the audit trail)")
        row = QHBoxLayout(self.approval_bar)
        row.addWidget(self.approval_text, 1)
        row.addWidget(self.approval_comment, 1)
        row.addWidget(approve)
        row.addWidget(reject)
        approve.clicked.connect(lambda: self._decide(True))
        reject.clicked.connect(lambda: self._decide(False))
        self.approval_bar.hide()

        run_panel = QTabWidget()
        run_panel.addTab(self.run_output, "Output")
        run_panel.addTab(self.run_table, "Output table")
        run_panel.addTab(self.run_input, "Input")
        self.run_error.setWordWrap(True)
        self.run_error.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        run_panel.addTab(self.run_error, "Error")
        self.bottom = QTabWidget()
        self.bottom.addTab(self.problem_list, "Problems")
        self.bottom.addTab(run_panel, "Last run")

        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.view)
        centre.addWidget(self.bottom)
        centre.setStretchFactor(0, 4)
        centre.setStretchFactor(1, 1)
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(self.palette)
        sides.addWidget(centre)
        sides.addWidget(self.inspector)
        sides.setStretchFactor(1, 1)
        sides.setSizes([220, 900, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.approval_bar)
        layout.addWidget(sides, 1)

    def _place_minimap(self) -> None:
        margin = 12
        self.minimap.move(
            self.view.width() - self.minimap.width() - margin,
            self.view.height() - self.minimap.height() - margin,
        )
        self.minimap.refit()

    # -- actions --------------------------------------------------------------------------
    def _action(
        self,
        name: str,
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | str | None = None,
        tip: str = "",
        toolbar: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{tip or text.replace('&', '')} ({action.shortcut().toString()})")
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        self.actions_by_name[name] = action
        if toolbar:
            self.toolbar.addAction(action)
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        undo = self.stack.createUndoAction(self, "&Undo")
        undo.setShortcut(K.Undo)
        redo = self.stack.createRedoAction(self, "&Redo")
        keys = QKeySequence.keyBindings(K.Redo)
        for extra in ("Ctrl+Shift+Z", "Ctrl+Y"):  # whatever the platform's default is
            if QKeySequence(extra) not in keys:
                keys.append(QKeySequence(extra))
        redo.setShortcuts(keys)
        for name, action in (("undo", undo), ("redo", redo)):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
            self.actions_by_name[name] = action
        self._action(
            "save", "&Save", self.sig_save_requested.emit, K.Save, "Save a new version", True
        )
        self.toolbar.addAction(undo)
        self.toolbar.addAction(redo)
        self.toolbar.addSeparator()
        self._action(
            "run", "&Run", self.sig_run_requested.emit, "Ctrl+Return", "Run the workflow", True
        )
        self._action("cancel_run", "Cancel run", self._cancel_run, None, "Stop the run", True)
        workers = self._action(
            "team_workers",
            "Team &workers",
            self._toggle_workers,
            None,
            "Hand this workflow's runs to team workers (auterity worker) instead of running "
            "them in this console",
            True,
        )
        workers.setCheckable(True)
        self.toolbar.addSeparator()
        self._action("cut", "Cu&t", self.cut, K.Cut)
        self._action("copy", "&Copy", self.copy, K.Copy)
        self._action("paste", "&Paste", self.paste_clipboard, K.Paste)
        self._action("duplicate", "&Duplicate", self.scene.duplicate_selection, "Ctrl+D")
        self._action("delete", "De&lete", self.scene.delete_selection, K.Delete)
        self._action("select_all", "Select &all", self.select_all, K.SelectAll)
        self._action("disable", "Disable / enable", self.scene.toggle_disabled, "D")
        self._action("rename", "Re&name", self.rename_selected, "F2")
        self._action("nudge_left", "Nudge left", lambda: self.scene.move_by(-10, 0), "Left")
        self._action("nudge_right", "Nudge right", lambda: self.scene.move_by(10, 0), "Right")
        self._action("nudge_up", "Nudge up", lambda: self.scene.move_by(0, -10), "Up")
        self._action("nudge_down", "Nudge down", lambda: self.scene.move_by(0, 10), "Down")
        self._action(
            "layout",
            "&Tidy up",
            self.scene.auto_layout,
            "Shift+Alt+T",
            "Arrange left to right",
            True,
        )
        self._action(
            "align_left", "Align left", lambda: self.scene.align("left"), "Ctrl+Shift+Left"
        )
        self._action("align_top", "Align top", lambda: self.scene.align("top"), "Ctrl+Shift+Up")
        self._action("align_middle", "Align middle", lambda: self.scene.align("middle"))
        self._action(
            "distribute_h", "Distribute horizontally", lambda: self.scene.distribute("horizontal")
        )
        self._action(
            "distribute_v", "Distribute vertically", lambda: self.scene.distribute("vertical")
        )
        self._action(
            "note",
            "Add &note",
            lambda: self.scene.add_annotation("note", self._centre()),
            "Shift+N",
        )
        self._action(
            "group",
            "Add &group",
            lambda: self.scene.add_annotation("group", self._centre()),
            "Shift+G",
        )
        self.toolbar.addSeparator()
        self._action("zoom_in", "Zoom &in", lambda: self.view.zoom_by(1.25), K.ZoomIn, toolbar=True)
        self._action(
            "zoom_out", "Zoom &out", lambda: self.view.zoom_by(0.8), K.ZoomOut, toolbar=True
        )
        self._action("zoom_100", "100 %", lambda: self.view.set_zoom(1.0), "Ctrl+0", toolbar=True)
        self._action("fit", "&Fit to view", self.view.fit_all, "Shift+1", toolbar=True)
        self._action("quick_add", "Add node…", self.open_quick_add, "Ctrl+Space")
        snap = self._action("snap", "Snap to grid", self._toggle_snap, "Shift+S")
        snap.setCheckable(True)

    def shortcut_list(self) -> list[tuple[str, str]]:
        """(action, keys) for the help dialog, in the order they were defined."""
        rows = [
            (
                a.text().replace("&", ""),
                a.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
            )
            for a in self.actions_by_name.values()
            if not a.shortcut().isEmpty()
        ]
        rows += [
            ("Add node at the cursor", "Tab / double-click the canvas"),
            ("Pan", "Middle-drag / Space+drag"),
            ("Zoom", "Wheel"),
            ("Connect", "Drag from a port to a port"),
        ]
        return rows

    def _wire(self) -> None:
        # Bound methods, not lambdas: Qt drops them when this widget goes away, so a stack
        # torn down later (at exit) cannot call into a half-deleted editor.
        self.stack.cleanChanged.connect(self._clean_changed)
        self.stack.indexChanged.connect(self._index_changed)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.sig_message.connect(self._scene_message)
        self.scene.sig_node_activated.connect(self._node_activated)
        self.scene.sig_annotation_activated.connect(self.edit_annotation)
        self.palette.sig_chosen.connect(self._palette_chosen)
        self.quick_add.sig_chosen.connect(self._quick_added)
        self.view.sig_quick_add.connect(self.quick_add_at)
        self.view.sig_resized.connect(self._place_minimap)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.inspector.sig_edited.connect(self._inspector_edited)
        self.problem_list.itemActivated.connect(self._problem_chosen)
        self.problem_list.itemClicked.connect(self._problem_chosen)
        self.tracker.sig_states.connect(self.scene.set_run_states)
        self.tracker.sig_counts.connect(self.scene.set_edge_counts)
        self.tracker.sig_status.connect(self._run_status)

    def _clean_changed(self, clean: bool) -> None:
        self.sig_modified.emit(not clean)

    def _index_changed(self, _index: int) -> None:
        self._changed()

    def _scene_message(self, text: str) -> None:
        self.sig_message.emit(text, True)

    def _node_activated(self, _node_id: str) -> None:
        self.rename_selected()

    def edit_annotation(self, annotation_id: str) -> None:
        """Double-click a note or group frame: edit its text."""
        annotation = self.model.annotations.get(annotation_id)
        if annotation is None:
            return
        label = "Note:" if annotation.kind == "note" else "Group title:"
        text, ok = QInputDialog.getMultiLineText(self, "Edit text", label, annotation.text)
        if ok:
            self.scene.set_annotation_text(annotation_id, text)

    def _palette_chosen(self, type_name: str) -> None:
        self.scene.add_node(type_name, self._centre())

    # -- document -------------------------------------------------------------------------
    def set_document(
        self, document: WorkflowDocument, workflow_id: str | None, version: int | None
    ) -> None:
        """Show a document (opened, new or imported); the undo history starts afresh."""
        self.model = EditableWorkflow(document)
        self.model.subscribe(self._model_event)
        self._model_event("document_changed", "")
        self.scene.reset(self.model)
        self.workflow_id = workflow_id
        self.version = version
        self.stack.clear()
        self.stack.setClean()
        self.tracker.stop()
        self.title.setText(self._title())
        self.inspector.show_node(None)
        self.revalidate()
        QTimer.singleShot(0, self.view.fit_all)
        QTimer.singleShot(0, self._place_minimap)

    def document(self) -> WorkflowDocument:
        return self.model.to_document()

    def _toggle_workers(self) -> None:
        wanted = "workers" if self.actions_by_name["team_workers"].isChecked() else "local"
        if wanted != self.model.execution:
            self.stack.push(SetExecution(self.model, wanted))

    def _model_event(self, event: str, _item: str) -> None:
        if event == "document_changed" and "team_workers" in self.actions_by_name:
            self.actions_by_name["team_workers"].setChecked(self.model.execution == "workers")

    @property
    def modified(self) -> bool:
        return not self.stack.isClean()

    def mark_saved(self, workflow_id: str, version: int) -> None:
        if self.workflow_id is None:  # first save of a new workflow: its draft is done
            self.remove_draft(new=True)
        self.workflow_id, self.version = workflow_id, version
        self.stack.setClean()
        self.title.setText(self._title())
        self.remove_draft()

    def _title(self) -> str:
        version = f" · v{self.version}" if self.version else " · not saved yet"
        return f"{self.model.name}{version}"

    def _changed(self) -> None:
        self.title.setText(self._title() + (" •" if self.modified else ""))
        self._validate_timer.start()
        if self.modified:
            self._autosave_timer.start()
        self._refresh_inspector()
        self.minimap.refit()

    # -- validation -----------------------------------------------------------------------
    def revalidate(self) -> list[Problem]:
        try:
            self.problems = validate(self.model.to_document(), self.registry)
        except ValueError as exc:  # a document the model cannot even build
            self.problems = [Problem("INVALID", str(exc).splitlines()[0])]
        by_node: dict[str, list[str]] = {}
        for problem in self.problems:
            if problem.node_id:
                by_node.setdefault(problem.node_id, []).append(problem.message)
        self.scene.set_problems(by_node)
        self.problem_list.clear()
        for problem in self.problems:
            node = self.model.nodes.get(problem.node_id or "")
            where = node.name if node else (problem.edge_id or "workflow")
            item = QListWidgetItem(f"{where}: {problem.message}")
            item.setData(Qt.ItemDataRole.UserRole, problem.node_id)
            item.setToolTip(problem.code)
            self.problem_list.addItem(item)
        count = len(self.problems)
        self.bottom.setTabText(0, f"Problems ({count})" if count else "Problems")
        self.status_line.setText(
            f"{count} problem(s): running is blocked until they are fixed" if count else "Valid"
        )
        self.actions_by_name["run"].setEnabled(count == 0)
        return self.problems

    def _problem_chosen(self, item: QListWidgetItem) -> None:
        node_id = item.data(Qt.ItemDataRole.UserRole)
        if node_id and node_id in self.scene.node_items:
            self.scene.select([node_id])
            self.view.centre_on_node(node_id)

    # -- selection and inspector ----------------------------------------------------------
    def _selection_changed(self) -> None:
        self._refresh_inspector(reset=True)
        nodes = self.scene.selected_ids()[0]
        self._show_node_run(nodes[0] if len(nodes) == 1 else None)

    def _refresh_inspector(self, reset: bool = False) -> None:
        nodes = self.scene.selected_ids()[0]
        if len(nodes) == 1 and nodes[0] in self.model.nodes:
            node = self.model.nodes[nodes[0]]
            if reset:
                self.inspector.show_node(node, self.tracker.preview_context(node.id))
            else:
                self.inspector.refresh(node)
        elif len(nodes) > 1:
            self.inspector.show_many(len(nodes))
        elif reset:
            self.inspector.show_node(None)

    def _inspector_edited(self, node_id: str, fields: dict[str, Any]) -> None:
        if node_id not in self.model.nodes:
            return
        if "name" in fields:
            problem = self.scene.rename(node_id, str(fields.pop("name")))
            if problem:
                self.sig_message.emit(problem, True)
        if fields:
            label = "Edit " + ", ".join(sorted(fields))
            self.stack.push(UpdateNode(self.model, node_id, fields, label))

    def rename_selected(self) -> None:
        nodes = self.scene.selected_ids()[0]
        if len(nodes) != 1:
            return
        from auterity_desktop.ui.editor.rename_overlay import RenameOverlay

        item = self.scene.node_items[nodes[0]]
        RenameOverlay.open(self.view, item, lambda name: self._rename(nodes[0], name))

    def _rename(self, node_id: str, name: str) -> None:
        problem = self.scene.rename(node_id, name)
        if problem:
            self.sig_message.emit(problem, True)

    def select_all(self) -> None:
        for item in [*self.scene.node_items.values(), *self.scene.annotation_items.values()]:
            item.setSelected(True)

    # -- adding nodes ---------------------------------------------------------------------
    def _centre(self) -> QPointF:
        return self.view.mapToScene(self.view.viewport().rect().center())

    def open_quick_add(self) -> None:
        centre = self.view.viewport().rect().center()
        self.quick_add_at(self.view.mapToGlobal(centre), self.view.mapToScene(centre))

    def quick_add_at(self, global_pos: QPoint, scene_pos: QPointF) -> None:
        self.quick_add.open_at(global_pos, scene_pos, self.palette.favourites())

    def _quick_added(self, type_name: str, scene_pos: QPointF) -> None:
        self.view.drop_node(type_name, scene_pos)
        self.view.setFocus()

    def _toggle_snap(self) -> None:
        self.scene.snap_to_grid = self.actions_by_name["snap"].isChecked()

    # -- clipboard ------------------------------------------------------------------------
    def copy(self) -> bool:
        payload = self.scene.copy_selection()
        if payload is None:
            return False
        from PySide6.QtCore import QMimeData

        data = QMimeData()
        text = json.dumps(payload, ensure_ascii=False)
        data.setData(CLIPBOARD_MIME, text.encode())
        data.setText(text)  # readable in any text editor, and pasteable back
        QGuiApplication.clipboard().setMimeData(data)
        return True

    def cut(self) -> None:
        if self.copy():
            self.stack.beginMacro("Cut")
            self.scene.delete_selection()
            self.stack.endMacro()

    def paste_clipboard(self, at: QPointF | None = None) -> list[str]:
        data = QGuiApplication.clipboard().mimeData()
        raw = bytes(data.data(CLIPBOARD_MIME).data()).decode() if data else ""
        if not raw and data is not None and data.hasText():
            raw = data.text()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("format") != CLIPBOARD_FORMAT:
            self.sig_message.emit("The clipboard holds no workflow nodes", True)
            return []
        return self.scene.paste(payload, at)

    # -- context menus --------------------------------------------------------------------
    def _context_menu(self, pos: QPoint) -> None:
        scene_pos = self.view.mapToScene(pos)
        menu = self.context_menu(scene_pos)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def context_menu(self, scene_pos: QPointF) -> QMenu:
        """The menu for whatever is under the point: a node, a wire, or the canvas."""
        menu = QMenu(self)
        a = self.actions_by_name
        node = next(
            (
                i
                for i in self.scene.items(scene_pos)
                if hasattr(i, "node_id") and not hasattr(i, "spec")
            ),
            None,
        )
        edge = self.scene.edge_at(scene_pos) if node is None else None
        if node is not None:
            if not node.isSelected():
                self.scene.select([node.node_id])
            for name in ("rename", "disable", "duplicate", "copy", "cut", "delete"):
                menu.addAction(a[name])
            menu.addSeparator()
            for name in ("align_left", "align_top", "distribute_h", "distribute_v", "group"):
                menu.addAction(a[name])
        elif edge is not None:
            self.scene.clearSelection()
            edge.setSelected(True)
            menu.addAction(a["delete"])
            insert = menu.addAction("Insert node here…")
            insert.triggered.connect(
                lambda: self.quick_add_at(
                    self.view.mapToGlobal(self.view.mapFromScene(scene_pos)), scene_pos
                )
            )
        else:
            add = menu.addAction("Add node here…")
            add.triggered.connect(
                lambda: self.quick_add_at(
                    self.view.mapToGlobal(self.view.mapFromScene(scene_pos)), scene_pos
                )
            )
            paste = menu.addAction("Paste here")
            paste.triggered.connect(lambda: self.paste_clipboard(scene_pos))
            note = menu.addAction("Add note here")
            note.triggered.connect(lambda: self.scene.add_annotation("note", scene_pos))
            menu.addSeparator()
            for name in ("select_all", "layout", "fit", "zoom_100", "snap"):
                menu.addAction(a[name])
        return menu

    # -- drafts (crash safety) ------------------------------------------------------------
    def draft_path(self, workflow_id: str | None = None, new: bool = False) -> Path | None:
        """Where unsaved work on this workflow (or ``workflow_id``, or with ``new`` a
        workflow never saved) is kept."""
        if self.drafts is None:
            return None
        key = None if new else (workflow_id or self.workflow_id)
        return self.drafts / f"{key or 'new'}.json"

    def write_draft(self) -> None:
        path = self.draft_path()
        if path is None or not self.modified:
            return
        record = {
            "workflow_id": self.workflow_id,
            "version": self.version,
            "saved_at": time.time(),
            "document": self.model.to_document().model_dump(mode="json"),
        }
        temporary = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(record, ensure_ascii=False))
            temporary.replace(path)  # atomic: a crash mid-write leaves the previous draft
        except OSError as exc:  # a full disk or a folder gone must not break editing
            logger.warning(
                "could not write the draft", extra={"path": str(path), "error": str(exc)}
            )

    def remove_draft(self, new: bool = False) -> None:
        path = self.draft_path(new=new)
        if path is not None:
            path.unlink(missing_ok=True)

    def pending_draft(self, new: bool = False) -> dict[str, Any] | None:
        """A draft of unsaved changes left for this workflow (with ``new``: for a workflow
        that was never saved), if there is a usable one."""
        path = self.draft_path(new=new)
        if path is None or not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            parse_document(record["document"])
        except (OSError, ValueError, KeyError, TypeError, ServiceError):
            return None
        return record if isinstance(record, dict) else None

    def restore_draft(self, record: dict[str, Any]) -> None:
        """Bring back unsaved work as one undoable step (so the work shows as modified)."""
        document = parse_document(record["document"])
        self.stack.beginMacro("Restore unsaved changes")
        self.stack.push(
            RemoveItems(
                self.model,
                "Clear",
                list(self.model.nodes),
                list(self.model.edges),
                list(self.model.annotations),
            )
        )
        self.stack.push(
            AddItems(
                self.model,
                "Restore",
                list(document.nodes),
                list(document.edges),
                list(document.annotations),
            )
        )
        self.stack.endMacro()
        if document.name != self.model.name or document.description != self.model.description:
            from auterity_desktop.ui.editor.commands import SetHeader

            self.stack.push(SetHeader(self.model, document.name, document.description))

    # -- running ------------------------------------------------------------------------
    def _load_status(self, run_id: str) -> Any:
        assert self.load_status is not None
        return self._with_names(run_id)

    async def _with_names(self, run_id: str) -> dict[str, Any]:
        assert self.load_status is not None
        status: dict[str, Any] = await self.load_status(run_id)
        status["names"] = {n.id: n.name for n in self.model.nodes.values()}
        return status

    def _schedule(self, coroutine: Any) -> Any:
        assert self.schedule is not None
        return self.schedule(coroutine)

    def follow_run(self, run_id: str) -> None:
        self.tracker.follow(run_id, list(self.model.edges.values()))
        self.bottom.setCurrentIndex(1)

    def _run_status(self, status: dict[str, Any]) -> None:
        nodes = self.scene.selected_ids()[0]
        self._show_node_run(nodes[0] if len(nodes) == 1 else None)
        waiting = [
            (node_id, info)
            for node_id, info in status["nodes"].items()
            if info["status"] == "waiting" and (info.get("checkpoint") or {}).get("request")
        ]
        if waiting:
            node_id, info = waiting[0]
            request = info["checkpoint"]["request"]
            name = self.model.nodes[node_id].name if node_id in self.model.nodes else node_id
            self.approval_text.setText(f"<b>{name}</b> waits for approval: {request['message']}")
            self.approval_bar.setProperty("node_id", node_id)
            self.approval_bar.show()
        else:
            self.approval_bar.hide()
        self.status_line.setText(f"Run {status['run_id'][:8]}: {status['status']}")

    def _show_node_run(self, node_id: str | None) -> None:
        status = self.tracker.status
        info = (status or {}).get("nodes", {}).get(node_id or "")
        if info is None:
            self.run_table.set_value(None)
            self.run_output.set_value(None, "Select a node to see what it did in the last run")
            self.run_input.set_value(None, "")
            self.run_error.setText("")
            return
        self.run_output.set_value(info.get("output"), "No output")
        self.run_table.set_value(info.get("output"))
        self.run_input.set_value(info.get("input"), "No input")
        self.run_error.setText(info.get("error") or "No error")

    def _decide(self, approved: bool) -> None:
        node_id = self.approval_bar.property("node_id")
        if self.tracker.run_id and node_id:
            comment = self.approval_comment.text().strip()
            self.sig_decided.emit(self.tracker.run_id, str(node_id), approved, comment)
            self.approval_comment.clear()

    def _cancel_run(self) -> None:
        if self.tracker.run_id:
            self.sig_cancel_requested.emit(self.tracker.run_id)


def workflow_from_file(path: Path) -> WorkflowDocument:
    try:
        return parse_document(path.read_bytes())
    except OSError as exc:
        raise ServiceError(
            ErrorCode.INVALID_INPUT, f"Cannot read {path}: {exc.strerror}", {"path": str(path)}
        ) from None
