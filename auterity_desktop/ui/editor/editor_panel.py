"""The editor as the Workflows page shows it: a file bar (back, new, open, save, save as,
import, export, recent) around ``WorkflowEditorWidget``, wired to the workflow store and
the engine through the page's context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.services.workflows.document import WorkflowDocument, WorkflowNode
from auterity_desktop.ui.editor.editor_widget import WorkflowEditorWidget, workflow_from_file
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.pages.service_page import ServicePage

RECENT_KEY = "editor/recent"
RECENT_SIZE = 8


class EditorPanel(ServicePage):
    sig_closed = Signal()  # back to the list
    sig_saved = Signal(str)  # workflow id
    sig_show_run = Signal(str)

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.setObjectName("EditorPanel")
        self.settings = QSettings()
        drafts = Path(context.settings.data_dir) / "drafts"
        self.editor = WorkflowEditorWidget(self.platform.nodes, self.settings, drafts)
        self.editor.load_status = lambda run_id: self.platform.engine.status(
            self.context.session.require(), run_id
        )
        self.editor.schedule = lambda work: self.context.tasks.spawn(work, on_error=self.failed)
        self.back = QPushButton("‹ All workflows")
        self.back.setToolTip("Back to the list of workflows (Alt+Left)")
        self.back.clicked.connect(self.close_editor)
        self.file_button = QToolButton()
        self.file_button.setText("File")
        self.file_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.file_menu = QMenu(self)
        self.recent_menu = QMenu("Open &recent", self)
        self._fill_file_menu()
        self.file_button.setMenu(self.file_menu)
        self.shortcuts_button = QPushButton("Shortcuts")
        self.shortcuts_button.setToolTip("Every keyboard shortcut of the editor (F1)")
        self.shortcuts_button.clicked.connect(self.show_shortcuts)
        bar = QHBoxLayout()
        bar.addWidget(self.back)
        bar.addWidget(self.file_button)
        bar.addStretch(1)
        bar.addWidget(self.shortcuts_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(bar)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.message)
        QShortcut(QKeySequence("Alt+Left"), self, activated=self.close_editor)
        QShortcut(QKeySequence("F1"), self, activated=self.show_shortcuts)
        self.editor.sig_save_requested.connect(self.save)
        self.editor.sig_run_requested.connect(self.run)
        self.editor.sig_decided.connect(self.decide)
        self.editor.sig_cancel_requested.connect(self.cancel_run)
        self.editor.sig_message.connect(self.show_message)
        self.editor.tracker.sig_status.connect(self._run_progressed)
        context.bridge.sig_event.connect(self.editor.tracker.on_event)
        context.theme.sig_theme_changed.connect(self._theme_changed)
        self._theme_changed()

    def _theme_changed(self, _name: str = "") -> None:
        if self.context.theme.colors:
            self.editor.scene.set_colors(self.context.theme.colors)
            self.editor.minimap.refit()

    def _fill_file_menu(self) -> None:
        menu = self.file_menu
        menu.clear()
        for text, keys, slot in (
            ("&New workflow", "Ctrl+N", self.new_workflow),
            ("&Open…", "Ctrl+Shift+O", self.choose_workflow),
            ("&Save", "Ctrl+S", self.save),
            ("Save &as…", "Ctrl+Shift+S", self.save_as),
            ("&Import file…", "Ctrl+O", self.import_file),
            ("&Export file…", "Ctrl+E", self.export_file),
        ):
            action = menu.addAction(text)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _c=False, s=slot: s())
            if text != "&Save":  # the editor's own Save action holds Ctrl+S
                self.addAction(action)
        menu.addMenu(self.recent_menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent()
        if not recent:
            self.recent_menu.addAction("(nothing yet)").setEnabled(False)
        for workflow_id, name in recent:
            action = self.recent_menu.addAction(name)
            action.triggered.connect(lambda _c=False, w=workflow_id: self.open_workflow(w))

    def recent(self) -> list[tuple[str, str]]:
        raw = self.settings.value(RECENT_KEY, []) or []
        items = raw if isinstance(raw, list) else [raw]
        pairs = [tuple(str(i).split("\t", 1)) for i in items if "\t" in str(i)]
        return [(p[0], p[1]) for p in pairs]

    def _remember(self, workflow_id: str, name: str) -> None:
        pairs = [(w, n) for w, n in self.recent() if w != workflow_id]
        pairs.insert(0, (workflow_id, name))
        self.settings.setValue(RECENT_KEY, [f"{w}\t{n}" for w, n in pairs[:RECENT_SIZE]])

    # -- opening and closing --------------------------------------------------------------
    def choose_workflow(self) -> Any:
        """File ▸ Open…: pick a saved workflow by name."""
        actor = self.context.session.require()

        def chosen(rows: list[Any]) -> None:
            if not rows:
                self.show_message("There are no saved workflows yet.")
                return
            labels = [f"{r.name}  (v{r.version})" for r in rows]
            label, ok = QInputDialog.getItem(self, "Open a workflow", "Workflow:", labels, 0, False)
            if ok and label in labels:
                self.open_workflow(rows[labels.index(label)].id)

        work = self.platform.workflows.list_workflows(actor)
        return self.context.tasks.spawn(work, on_done=chosen, on_error=self.failed)

    def open_workflow(self, workflow_id: str, version: int | None = None) -> Any:
        if not self.confirm_discard():
            return None
        actor = self.context.session.require()

        async def load() -> Any:
            return await self.platform.workflows.get(actor, workflow_id, version)

        return self.context.tasks.spawn(load(), on_done=self._opened, on_error=self.failed)

    def _opened(self, saved: Any) -> None:
        self.editor.set_document(saved.document, saved.id, saved.version)
        self._remember(saved.id, saved.document.name)
        self.show_message(f"Opened “{saved.document.name}” version {saved.version}.")
        draft = self.editor.pending_draft()
        if draft is not None and draft.get("document") != saved.document.model_dump(mode="json"):
            when = draft.get("saved_at")
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                "There are unsaved changes to this workflow from an earlier session"
                + (" (the application may have closed unexpectedly)" if when else "")
                + ". Restore them?",
            )
            if answer == QMessageBox.StandardButton.Yes:
                self.editor.restore_draft(draft)
                self.show_message("Restored the unsaved changes; save to keep them.")
            else:
                self.editor.remove_draft()

    def new_workflow(self) -> None:
        if not self.confirm_discard():
            return
        if self._offer_new_draft():
            return
        name, ok = QInputDialog.getText(self, "New workflow", "Name:", text="New workflow")
        if not ok or not name.strip():
            return
        trigger = WorkflowNode(id="trigger", type="manual_trigger", name="Start")
        self.editor.set_document(WorkflowDocument(name=name.strip(), nodes=[trigger]), None, None)
        self.editor.stack.resetClean()  # never saved: modified from the start
        self.show_message("A new workflow: add nodes from the palette or press Tab.")

    def _offer_new_draft(self) -> bool:
        """A new workflow that was never saved survives a crash as a draft: offer it
        before starting another. True when it was restored."""
        draft = self.editor.pending_draft(new=True)
        if draft is None:
            return False
        name = str(draft["document"].get("name") or "New workflow")
        answer = QMessageBox.question(
            self,
            "Unsaved new workflow",
            f"“{name}” was being created in an earlier session and never saved (the "
            "application may have closed unexpectedly). Restore it?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.editor.remove_draft(new=True)
            return False
        trigger = WorkflowNode(id="trigger", type="manual_trigger", name="Start")
        self.editor.set_document(WorkflowDocument(name=name, nodes=[trigger]), None, None)
        self.editor.restore_draft(draft)
        self.show_message("Restored the unsaved new workflow; save to keep it.")
        return True

    def confirm_discard(self, after_save: Any = None) -> bool:
        """Ask before unsaved changes are dropped; True when it is fine to go on. Choosing
        Save saves and then calls ``after_save`` (to finish what was interrupted)."""
        if not self.editor.modified:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to “{self.editor.model.name}” first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            self.save(then=after_save)
            return False  # the save finishes later, then ``after_save`` goes on
        if answer == QMessageBox.StandardButton.Discard:
            self.editor.remove_draft()
            self.editor.stack.setClean()
            return True
        return False

    def close_editor(self) -> None:
        if self.confirm_discard():
            self.editor.tracker.stop()
            self.sig_closed.emit()

    # -- saving ---------------------------------------------------------------------------
    def save(self, then: Any = None) -> Any:
        document = self.editor.document()
        actor = self.context.session.require()
        workflow_id = self.editor.workflow_id

        async def work() -> Any:
            if workflow_id is None:
                return await self.platform.workflows.create(actor, document)
            return await self.platform.workflows.save(actor, workflow_id, document)

        def done(saved: Any) -> None:
            self._saved(saved)
            if callable(then):
                then()

        return self.context.tasks.spawn(work(), on_done=done, on_error=self.failed)

    def _saved(self, saved: Any) -> None:
        self.editor.mark_saved(saved.id, saved.version)
        self.editor.revalidate()
        self._remember(saved.id, saved.document.name)
        problems = len(self.editor.problems)
        self.show_message(
            f"Saved version {saved.version}"
            + (f" — {problems} problem(s) still block running." if problems else ".")
        )
        self.sig_saved.emit(saved.id)

    def save_as(self) -> Any:
        name, ok = QInputDialog.getText(
            self, "Save as", "Name of the copy:", text=f"{self.editor.model.name} (copy)"
        )
        if not ok or not name.strip():
            return None
        document = self.editor.document().model_copy(update={"name": name.strip()})
        actor = self.context.session.require()
        work = self.platform.workflows.create(actor, document)

        def done(saved: Any) -> None:
            self.editor.set_document(saved.document, saved.id, saved.version)
            self._saved(saved)

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def import_file(self, path: Path | None = None) -> None:
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Import a workflow", "", "Workflow files (*.json);;All files (*)"
            )
            if not chosen:
                return
            path = Path(chosen)
        if not self.confirm_discard():
            return
        try:
            document = workflow_from_file(path)
        except ServiceError as exc:
            self.failed(exc)
            return
        self.editor.set_document(document, None, None)
        self.editor.stack.resetClean()
        self.show_message(f"Imported {path.name}; save to keep it as a new workflow.")

    def export_file(self, path: Path | None = None) -> None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export the workflow", f"{self.editor.model.name}.json", "JSON (*.json)"
            )
            if not chosen:
                return
            path = Path(chosen)
        try:
            path.write_text(self.editor.document().to_json(), encoding="utf-8")
        except OSError as exc:
            self.show_message(f"Cannot write {path}: {exc.strerror}", error=True)
            return
        self.show_message(f"Exported to {path}.")

    # -- running --------------------------------------------------------------------------
    def run(self) -> Any:
        if self.editor.revalidate():
            self.show_message("Fix the problems listed below before running.", error=True)
            return None
        actor = self.context.session.require()
        document = self.editor.document()
        workflow_id = self.editor.workflow_id
        modified = self.editor.modified

        async def work() -> tuple[Any, str]:
            saved = None
            if workflow_id is None:
                saved = await self.platform.workflows.create(actor, document)
            elif modified:
                saved = await self.platform.workflows.save(actor, workflow_id, document)
            target = saved.id if saved is not None else workflow_id
            run_id = await self.platform.engine.execute_workflow(actor, target, {})
            return saved, run_id

        def done(result: tuple[Any, str]) -> None:
            saved, run_id = result
            if saved is not None:
                self._saved(saved)
            self.editor.follow_run(run_id)
            self.show_message(f"Running ({run_id[:8]})…")

        return self.context.tasks.spawn(work(), on_done=done, on_error=self.failed)

    def _run_progressed(self, status: dict[str, Any]) -> None:
        """Replace "Running…" once the run ends (or waits for someone)."""
        state = status.get("status")
        if state in ("succeeded", "failed", "cancelled", "waiting"):
            error = f": {status['error']}" if state == "failed" and status.get("error") else ""
            self.show_message(f"Run {str(status['run_id'])[:8]} {state}{error}", state == "failed")

    def decide(self, run_id: str, node_id: str, approved: bool, comment: str) -> Any:
        actor = self.context.session.require()
        work = self.platform.engine.approve(
            actor, run_id, node_id, approved=approved, comment=comment
        )

        def done(_result: Any) -> None:
            self.show_message("Approved: the run goes on." if approved else "Rejected.")
            self.editor.tracker.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def cancel_run(self, run_id: str) -> Any:
        work = self.platform.engine.cancel(self.context.session.require(), run_id)

        def done(_result: Any) -> None:
            self.show_message("Run cancelled.")
            self.editor.tracker.refresh()

        return self.context.tasks.spawn(work, on_done=done, on_error=self.failed)

    def show_shortcuts(self) -> None:
        from auterity_desktop.ui.editor.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.editor.shortcut_list(), self).exec()
