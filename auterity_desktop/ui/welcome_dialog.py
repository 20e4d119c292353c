"""The first-run welcome: create the first administrator, choose whether to start with the
dealership samples, and see where everything will be kept.

It is the sign-in dialog's first-run form with two additions. Loading the samples happens
after the administrator has signed in (the samples are theirs, audited under their name),
inside this dialog with a progress bar, so the window behind is never shown half-filled.
A failure to load them does not undo the account: the dialog says so and closes, and
Help ▸ Load dealership samples tries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop import APP_NAME
from auterity_desktop.core.errors import ServiceError
from auterity_desktop.ui.login_dialog import LoginDialog
from auterity_desktop.ui.tasks import TaskRunner

SAMPLES_TEXT = (
    "Four workflows — lead follow-up with AI intent classification, service-appointment "
    "reminders, an inventory price check and dead-letter alerting — plus a service "
    "department's event log to mine, a year of repair orders to analyse and a lead-scoring "
    "model to watch for drift. Everything runs offline; delete any of it whenever you like."
)

LoadSamples = Callable[[Any, Callable[[str, float], None]], Awaitable[Any]]


@dataclass(frozen=True)
class DataLocation:
    """What the welcome page tells a new user about where their work will live."""

    data_dir: Path
    database: str
    keyring: str


class WelcomeDialog(LoginDialog):
    sig_samples_loaded = Signal(object)  # SampleReport

    def __init__(
        self,
        tasks: TaskRunner,
        sign_in: Callable[[str, str], Awaitable[Any]],
        create_admin: Callable[[str, str, str], Awaitable[Any]],
        load_samples: LoadSamples,
        location: DataLocation,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(tasks, True, sign_in, create_admin, "", parent)
        self.setObjectName("WelcomeDialog")
        self._load_samples = load_samples
        self.location = location
        self.report: Any = None

        title = QLabel(f"Welcome to {APP_NAME}")
        title.setObjectName("PageTitle")
        self.intro.setText(
            "Design, run and watch your dealership's workflows on this computer. To begin, "
            "create the first administrator; you can add colleagues under Users & roles later."
        )
        account = QGroupBox("Your administrator account")
        self.body.removeWidget(self.form_box)
        QVBoxLayout(account).addWidget(self.form_box)

        self.samples_check = QCheckBox("&Load the dealership samples (recommended)")
        self.samples_check.setChecked(True)
        self.samples_check.setToolTip("You can also load them later from Help")
        samples_text = QLabel(SAMPLES_TEXT)
        samples_text.setObjectName("PageSubtitle")
        samples_text.setWordWrap(True)
        samples = QGroupBox("Start with examples")
        samples_layout = QVBoxLayout(samples)
        samples_layout.addWidget(self.samples_check)
        samples_layout.addWidget(samples_text)

        where = QGroupBox("Where your data is kept")
        where_form = QFormLayout(where)
        self.folder_label = QLabel(str(location.data_dir))
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setWordWrap(True)
        self.open_folder_button = QPushButton("Open &folder")
        self.open_folder_button.setToolTip("Show the data folder in your file manager")
        self.open_folder_button.setAutoDefault(False)  # Enter creates the account
        self.open_folder_button.clicked.connect(self.open_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_label, 1)
        folder_row.addWidget(self.open_folder_button)
        where_form.addRow("Data folder:", folder_row)
        database = QLabel(location.database)
        database.setWordWrap(True)
        database.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where_form.addRow("Database:", database)
        where_form.addRow("Passwords and keys:", QLabel(f"the system keyring ({location.keyring})"))
        hint = QLabel(
            "Back up the data folder to keep your work; set AUTERITY_DATA_DIR to keep it "
            "elsewhere, or AUTERITY_DATABASE_URL to share a PostgreSQL database with your team."
        )
        hint.setObjectName("PageSubtitle")
        hint.setWordWrap(True)
        where_form.addRow(hint)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName("Loading the samples")
        self.progress_label = QLabel("")
        self.progress.hide()
        self.progress_label.hide()

        body = self.body
        body.removeWidget(self.intro)
        body.insertWidget(0, title)
        body.insertWidget(1, self.intro)
        body.insertWidget(2, account)
        body.insertWidget(3, samples)
        body.insertWidget(4, where)
        body.insertWidget(5, self.progress_label)
        body.insertWidget(6, self.progress)
        body.setSpacing(12)
        self.setMinimumWidth(600)
        self.username.setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        # Wrapped labels: a dialog sized from its size hint alone squeezes the fields, so
        # ask the layout how tall it must be at the width the dialog has.
        super().showEvent(event)
        width = max(self.width(), self.minimumWidth())
        height = max(self.sizeHint().height(), self.body.heightForWidth(width))
        self.setMinimumHeight(self.body.heightForWidth(width))
        self.resize(width, height)

    def open_folder(self) -> None:
        self.location.data_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.location.data_dir)))

    # -- after the account exists ---------------------------------------------------------
    def _finish(self, principal: Any) -> None:
        if not self.samples_check.isChecked():
            super()._finish(principal)
            return
        for widget in (self.username, self.display_name, self.password, self.confirm):
            widget.setEnabled(False)
        self.samples_check.setEnabled(False)
        self.ok_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.progress_label.show()
        self.tasks.spawn(
            self._load_samples(principal, self._show_progress),
            on_done=lambda report: self._samples_loaded(principal, report),
            on_error=lambda exc: self._samples_failed(principal, exc),
        )

    def _show_progress(self, text: str, done: float) -> None:
        self.progress_label.setText(text + "…" if done < 1 else text)
        self.progress.setValue(round(done * 100))

    def _samples_loaded(self, principal: Any, report: Any) -> None:
        self.report = report
        self.sig_samples_loaded.emit(report)
        super()._finish(principal)

    def _samples_failed(self, principal: Any, exc: BaseException) -> None:
        reason = exc.message if isinstance(exc, ServiceError) else str(exc)
        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)
        self.progress.hide()
        self.show_error(
            f"Your account is ready, but the samples could not be loaded: {reason}. "
            "Try again from Help ▸ Load dealership samples."
        )
        self.ok_button.setText("Continue")
        self.ok_button.setEnabled(True)
        self.buttons.accepted.disconnect()
        self.buttons.accepted.connect(lambda: super(WelcomeDialog, self)._finish(principal))
