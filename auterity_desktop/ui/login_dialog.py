"""Sign in, or on first run create the first administrator.

Window-modal and driven by signals (not ``exec()``, which would re-enter the asyncio loop).
Errors from the service (wrong password, locked account, weak password) appear inline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop import APP_NAME
from auterity_desktop.core.errors import ServiceError
from auterity_desktop.ui.tasks import TaskRunner


class LoginDialog(QDialog):
    sig_done = Signal(object)  # Principal
    sig_cancelled = Signal()

    def __init__(
        self,
        tasks: TaskRunner,
        first_run: bool,
        sign_in: Callable[[str, str], Awaitable[Any]],
        create_admin: Callable[[str, str, str], Awaitable[Any]],
        message: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LoginDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.tasks = tasks
        self.first_run = first_run
        self._sign_in = sign_in
        self._create_admin = create_admin
        self.setWindowTitle("Welcome to " + APP_NAME if first_run else "Sign in to " + APP_NAME)

        intro = QLabel(
            "No accounts exist yet. Create the first administrator; you can add colleagues "
            "under Users & roles afterwards."
            if first_run
            else (message or "Sign in with your Auterity account.")
        )
        intro.setWordWrap(True)
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setAccessibleName("User name")
        self.display_name = QLineEdit()
        self.display_name.setAccessibleName("Display name")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setAccessibleName("Repeat password")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("HealthError")
        self.error.setWordWrap(True)
        self.error.hide()

        form = QFormLayout()
        form.addRow("&User name:", self.username)
        if first_run:
            form.addRow("&Display name:", self.display_name)
        form.addRow("&Password:", self.password)
        if first_run:
            form.addRow("&Repeat password:", self.confirm)
            hint = QLabel("At least 12 characters, not your user name, not a common password.")
            hint.setObjectName("PageSubtitle")
            hint.setWordWrap(True)
            form.addRow("", hint)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create administrator" if first_run else "Sign in")
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self._cancel)

        self.intro = intro
        self.form_box = QWidget()  # the welcome page puts it in a group box
        self.form_box.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        layout = self.body = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.form_box)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)
        self.username.setFocus()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def submit(self) -> None:
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.show_error("Enter a user name and a password.")
            return
        if self.first_run and password != self.confirm.text():
            self.show_error("The two passwords differ.")
            return
        self.ok_button.setEnabled(False)
        self.error.hide()
        work = (
            self._create_admin(username, password, self.display_name.text().strip())
            if self.first_run
            else self._sign_in(username, password)
        )
        self.tasks.spawn(work, on_done=self._succeeded, on_error=self._failed)

    def _succeeded(self, principal: Any) -> None:
        self.password.clear()
        self.confirm.clear()
        self._finish(principal)

    def _finish(self, principal: Any) -> None:
        self.sig_done.emit(principal)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.ok_button.setEnabled(True)
        self.password.selectAll()
        self.password.setFocus()
        if isinstance(exc, ServiceError):
            self.show_error(exc.message)
        else:
            self.show_error(f"Unexpected problem: {exc}")
            self.tasks.report_error(exc)

    def _cancel(self) -> None:
        self.sig_cancelled.emit()
        self.reject()
