"""What the AI page's editors share: a form, a line for what blocks saving, the service's
answer when it refuses, and Save/Cancel (Ctrl+Enter saves).

Saving runs ``save(values)`` on the task runner; the dialog stays open with the service's
message (and the field it names marked) when the save is refused, and closes with
``sig_saved`` when it succeeds. Closing while a save runs waits for it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError

Save = Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$")
NAME_RULE = "1–60 letters, digits, '.', '_' or '-', starting with a letter or digit"


def name_problem(name: str, taken: set[str], what: str) -> str | None:
    if not name:
        return f"Give the {what} a name."
    if not NAME.match(name):
        return f"The name must be {NAME_RULE}."
    if name.lower() in taken:
        return f"A {what} called “{name}” exists already."
    return None


def error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("HealthError")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class AIFormDialog(QDialog):
    sig_saved = Signal(object)  # what ``save`` returned

    def __init__(self, title: str, save: Save, tasks: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._save = save
        self.tasks = tasks
        self.saved: Any = None
        self._save_task: asyncio.Task[Any] | None = None
        self.problem = QLabel("")
        self.problem.setObjectName("HealthWarning")
        self.problem.setWordWrap(True)
        self.save_error = error_label()
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.save_button = QPushButton("&Save")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Save (Ctrl+Enter)")
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.save_button)
        self.buttons.addWidget(self.cancel_button)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.form)
        self.footer = QVBoxLayout()
        self.footer.addWidget(self.problem)
        self.footer.addWidget(self.save_error)
        self.footer.addLayout(self.buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.save)
        QShortcut(QKeySequence("Ctrl+Enter"), self, activated=self.save)

    def finish_layout(self) -> None:
        """Call at the end of a subclass's ``__init__``: the footer goes last."""
        self.body.addLayout(self.footer)
        self.revalidate()

    # -- validation (subclasses) --------------------------------------------------------
    def values(self) -> dict[str, Any]:
        raise NotImplementedError

    def local_problem(self) -> str | None:
        """What the form can tell is wrong before the service sees it."""
        return None

    def mark_field(self, field: str, text: str) -> bool:
        """Show the service's complaint next to ``field``; False when there is none."""
        return False

    def revalidate(self) -> None:
        problem = self.local_problem()
        self.problem.setText(problem or "")
        self.problem.setVisible(bool(problem))
        self.save_button.setEnabled(problem is None and not self.saving)

    # -- saving -------------------------------------------------------------------------
    @property
    def saving(self) -> bool:
        return self._save_task is not None

    def save(self) -> asyncio.Task[Any] | None:
        if self.saving or self.local_problem() is not None:
            return None
        self.save_error.hide()
        self.save_button.setText("Saving…")
        self.cancel_button.setEnabled(False)
        self._save_task = self.tasks.spawn(
            self._save(self.values()), on_done=self._saved, on_error=self._save_failed
        )
        self.revalidate()
        return self._save_task

    def _save_ended(self) -> bool:
        self._save_task = None
        if not shiboken6.isValid(self):
            return False
        self.save_button.setText("&Save")
        self.cancel_button.setEnabled(True)
        self.revalidate()
        return True

    def _saved(self, result: Any) -> None:
        if not self._save_ended():
            return
        self.saved = result
        self.sig_saved.emit(result)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        if not self._save_ended():
            return
        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)
            return
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        if field:
            self.mark_field(str(field), exc.message)
        self.save_error.setText(f"Not saved: {exc.message}")
        self.save_error.show()

    def reject(self) -> None:
        if self.saving:
            return  # the database (and maybe the keyring) is being written: let it finish
        super().reject()
