"""The REST API section of the Settings page: the local server, API keys and a live log.

The server itself belongs to ``ApiServerController``, one per console, not to the page:
pages are built the first time they are opened, yet a server the admin turned on must
start with the console, and it must stop before the services it calls stop (it listens to
``platform_stopping``, whose handlers the platform awaits before stopping anything). Each
user action only records what is wanted (on/off, port) and asks the controller to bring
the server in line, one change at a time, so quick toggles never race two servers.

A failed start (a port in use) is a sentence on the page, not a dialog. Keys are created
and revoked only by a principal with ``settings:write`` — the key store trusts its caller,
so the panel is the check. A new key is shown once, in a dialog that says so.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QItemSelection, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop.core.errors import ServiceError
from auterity_desktop.core.events import Event
from auterity_desktop.ui.models.api_keys_model import ApiKeysModel
from auterity_desktop.ui.models.request_log_model import MAX_ROWS, RequestLogModel
from auterity_desktop.ui.models.run_display import format_time
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.style import restyle
from auterity_desktop.ui.widgets.empty_state import set_empty_text
from auterity_desktop.ui.widgets.row_selection import select_row

if TYPE_CHECKING:
    from auterity_desktop.api.server import ApiServer
    from auterity_desktop.platform import Platform
    from auterity_desktop.services.gateway.api_keys import ApiKeyInfo, NewApiKey
    from auterity_desktop.services.security.principal import Principal

logger = logging.getLogger(__name__)

ENABLED_KEY = "api/enabled"
PORT_KEY = "api/port"
POLL_MS = 500
MAX_EXPIRY_DAYS = 3650
LOG_WIDTHS = (100, 70, 0, 60, 70, 120, 140, 170)  # 0: the path takes what is left


class ApiServerController(QObject):
    """The console's one REST server and the admin's wish for it (kept in QSettings)."""

    sig_changed = Signal()  # running, busy or error changed

    def __init__(self, context: PageContext, state: QSettings) -> None:
        super().__init__(context.bridge)  # lives as long as the platform bridge
        self.context = context
        self.state = state
        self.server: ApiServer | None = None
        self.error = ""  # why the last start failed, as the user should read it
        self.busy = ""  # "Starting…" / "Stopping…" while a change is under way
        self._asked_port: int | None = None  # the port the running server was asked for
        self._lock = asyncio.Lock()
        self._stopping = False
        context.bridge.sig_started.connect(self._platform_started)
        platform = context.bridge.platform
        if platform is not None and platform.running:
            self._platform_started(platform)

    @classmethod
    def of(cls, context: PageContext, state: QSettings | None = None) -> ApiServerController:
        """The controller of this console, made on first use (the main window makes it at
        start-up, so the server starts even if Settings is never opened)."""
        found = context.bridge.findChild(cls)
        if isinstance(found, cls):
            return found
        if state is None:
            # imported here: the main window imports this module for its start-up hook
            from auterity_desktop.ui.main_window import window_state

            state = window_state(context.settings)
        return cls(context, state)

    # -- the admin's wish -----------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return bool(self.state.value(ENABLED_KEY, False, type=bool))

    @property
    def port(self) -> int:
        default = self.context.settings.api_gateway_port
        port = int(self.state.value(PORT_KEY, default, type=int))  # type: ignore[call-overload]
        return port if 1 <= port <= 65535 else default

    def set_enabled(self, enabled: bool) -> asyncio.Task[Any] | None:
        self.state.setValue(ENABLED_KEY, enabled)
        self.state.sync()
        if not enabled:
            self.error = ""
        return self.apply()

    def set_port(self, port: int) -> asyncio.Task[Any] | None:
        """Remember ``port``; a server that is on moves to it (or retries a failed start)."""
        if not 1 <= port <= 65535:
            raise ValueError(f"a port is 1–65535, got {port}")
        self.state.setValue(PORT_KEY, port)
        self.state.sync()
        return self.apply()

    # -- what is -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else ""

    # -- bringing the server in line -------------------------------------------------------
    def apply(self) -> asyncio.Task[Any] | None:
        platform = self.context.bridge.platform
        if self._stopping or platform is None or not platform.running:
            return None  # the platform's start applies the wish
        return self.context.tasks.spawn(self._apply())

    def _platform_started(self, platform: Platform) -> None:
        self._stopping = False
        platform.events.subscribe("platform_stopping", self._platform_stopping)
        if self.enabled:
            self.apply()

    async def _apply(self) -> None:
        async with self._lock:
            platform = self.context.bridge.platform
            want = self.enabled and not self._stopping and platform is not None and platform.running
            port = self.port
            if self.server is not None and (
                not want or not self.server.running or self._asked_port != port
            ):
                await self._stop_server()
            if want and self.server is None:
                assert platform is not None
                await self._start_server(platform, port)

    async def _start_server(self, platform: Platform, port: int) -> None:
        # imported here: the API's controllers pull in the services, which the window does
        # not load before the platform has started (this runs only after it has)
        from auterity_desktop.api.server import ApiServer

        server = ApiServer(platform, port=port)
        # kept before it starts, so a start cancelled midway is still stopped at shutdown
        self.server, self._asked_port = server, port
        self._set_busy("Starting…")
        try:
            await server.start()
        except ServiceError as exc:
            self.server, self._asked_port = None, None
            self.error = exc.message
            logger.warning("the REST API did not start", extra={"port": port, "error": exc.message})
        else:
            self.error = ""
        finally:
            self._set_busy("")

    async def _stop_server(self) -> None:
        server, self.server, self._asked_port = self.server, None, None
        if server is None:
            return
        self._set_busy("Stopping…")
        try:
            await server.stop()
        finally:
            self._set_busy("")

    async def _platform_stopping(self, _event: Event) -> None:
        """Awaited by ``Platform.stop`` before any service stops: no request may reach a
        service that is going away."""
        self._stopping = True
        async with self._lock:
            await self._stop_server()

    def _set_busy(self, text: str) -> None:
        self.busy = text
        self.sig_changed.emit()


class CreateApiKeyDialog(QDialog):
    """Name, role and expiry of a new key; the dialog stays open on a refusal to show why."""

    sig_created = Signal(object)  # NewApiKey

    def __init__(
        self,
        roles: list[str],
        create: Callable[[str, str, float | None], Coroutine[Any, Any, NewApiKey]],
        spawn: Callable[..., asyncio.Task[Any]],
        report_error: Callable[[BaseException], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create API key")
        self.setMinimumWidth(440)
        self._create = create
        self._spawn = spawn
        self._report_error = report_error
        self.task: asyncio.Task[Any] | None = None
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. crm-sync")
        self.name.setMaxLength(100)
        self.role = QComboBox()
        self.role.addItems(roles)
        # least privilege first: a script that only reads should get a key that only reads
        if "viewer" in roles:
            self.role.setCurrentText("viewer")
        self.expiry = QSpinBox()
        self.expiry.setRange(0, MAX_EXPIRY_DAYS)
        self.expiry.setSpecialValueText("Never")
        self.expiry.setSuffix(" days")
        self.expiry.setValue(90)
        self.expiry.setToolTip("0 (Never): the key works until it is revoked.")
        hint = QLabel(
            "The key acts with the role's permissions. Give each program its own key, so "
            "one can be revoked without disturbing the others."
        )
        hint.setWordWrap(True)
        hint.setObjectName("PageSubtitle")
        self.error = QLabel("")
        self.error.setObjectName("HealthError")
        self.error.setWordWrap(True)
        self.error.hide()
        form = QFormLayout()
        form.addRow("&Name:", self.name)
        form.addRow("&Role:", self.role)
        form.addRow("&Expires after:", self.expiry)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create &key")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def submit(self) -> asyncio.Task[Any] | None:
        name = self.name.text().strip()
        if not name:
            self.show_error("Give the key a name that says which program uses it.")
            self.name.setFocus()
            return None
        if self.task is not None and not self.task.done():
            return self.task
        days = self.expiry.value() or None
        self.create_button.setEnabled(False)
        self.task = self._spawn(
            self._create(name, self.role.currentText(), days),
            on_done=self._created,
            on_error=self._failed,
        )
        return self.task

    def _created(self, new: NewApiKey) -> None:
        if not shiboken6.isValid(self):
            return
        self.sig_created.emit(new)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        self.create_button.setEnabled(True)
        if isinstance(exc, ServiceError):
            self.show_error(exc.message)
        else:
            self._report_error(exc)


class NewApiKeyDialog(QDialog):
    """The one and only showing of a key: the store keeps just its hash."""

    def __init__(self, new: NewApiKey, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("API key created")
        self.setMinimumWidth(620)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # the key leaves with it
        info = new.info
        expires = (
            "never expires"
            if info.expires_at is None
            else f"expires {format_time(info.expires_at, seconds=False)}"
        )
        heading = QLabel(f"The key “{info.name}” acts as {info.role} and {expires}.")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setWordWrap(True)
        heading.setObjectName("EmptyStateTitle")
        self.warning = QLabel(
            "This is the only time the key is shown. Copy it now and keep it somewhere "
            "safe — Auterity stores only a fingerprint of it and cannot show it again. If it "
            "is lost, revoke it and create a new one."
        )
        self.warning.setWordWrap(True)
        self.warning.setObjectName("HealthWarning")
        font = self.warning.font()
        font.setBold(True)
        self.warning.setFont(font)
        self.key_edit = QLineEdit(new.key)
        self.key_edit.setReadOnly(True)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.key_edit.setCursorPosition(0)
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the key to the clipboard")
        self.copy_button.clicked.connect(self.copy_key)
        usage = QLabel(
            "Send it with each request as <code>Authorization: Bearer &lt;key&gt;</code> "
            "(or <code>X-API-Key: &lt;key&gt;</code>)."
        )
        usage.setTextFormat(Qt.TextFormat.RichText)
        usage.setWordWrap(True)
        usage.setObjectName("PageSubtitle")
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.copy_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(self.warning)
        layout.addLayout(key_row)
        layout.addWidget(usage)
        layout.addWidget(buttons)

    def copy_key(self) -> None:
        QGuiApplication.clipboard().setText(self.key_edit.text())
        self.copy_button.setText("Copied")


def _table(name: str) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setTabKeyNavigation(False)  # Tab leaves the list; the arrow keys move in it
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(26)
    return table


def _rows_height(table: QTableView, rows: int) -> int:
    header = table.horizontalHeader().sizeHint().height()
    return header + table.verticalHeader().defaultSectionSize() * rows + 6


class ApiServerPanel(QWidget):
    """Server switch and status, API keys, and the live request log, as three sections."""

    sig_keys_loaded = Signal()

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ApiServerPanel")
        self.context = context
        self.controller = ApiServerController.of(context)
        self.roles: list[str] = []
        self.key_dialog: NewApiKeyDialog | None = None
        self.create_dialog: CreateApiKeyDialog | None = None
        self.stopped = False
        self._shown_status: tuple[str, str] = ("", "")
        colours: Callable[[], dict[str, str]] = lambda: self.context.theme.colors  # noqa: E731

        # -- the server ---------------------------------------------------------------
        self.enabled_check = QCheckBox("&Run the REST API on this computer")
        self.enabled_check.setChecked(self.controller.enabled)
        self.enabled_check.setToolTip("Remembered: when on, the API starts with the console.")
        self.enabled_check.toggled.connect(self._enabled_toggled)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setGroupSeparatorShown(False)
        self.port_spin.setAccessibleName("REST API port")
        self.port_spin.setValue(self.controller.port)
        self.port_spin.setMinimumWidth(100)
        self.port_spin.editingFinished.connect(self.apply_port)
        port_label = QLabel("&Port:")
        port_label.setBuddy(self.port_spin)
        self.status_label = QLabel("")
        self.status_label.setObjectName("PageSubtitle")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.setOpenExternalLinks(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.copy_url_button = QPushButton("Copy address")
        self.copy_url_button.setToolTip("Copy the API's address to the clipboard")
        self.copy_url_button.clicked.connect(self.copy_url)
        self.copy_url_button.hide()
        switch_row = QHBoxLayout()
        switch_row.addWidget(self.enabled_check)
        switch_row.addSpacing(16)
        switch_row.addWidget(port_label)
        switch_row.addWidget(self.port_spin)
        switch_row.addStretch(1)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.copy_url_button)
        server_note = QLabel(
            "Scripts and other systems reach workflows, runs and data over HTTP "
            f"(<code>/api/v1/…</code>, described at <code>/api/v1/openapi.json</code>). "
            f"It listens on <code>{html.escape(context.settings.api_host)}</code>. Calls need "
            "a session token or an API key, except sign-in, signed webhooks, "
            "<code>/healthz</code>, <code>/metrics</code> and the document itself."
        )
        server_note.setWordWrap(True)
        server_note.setTextFormat(Qt.TextFormat.RichText)
        server_note.setObjectName("PageSubtitle")
        self.read_only_note = QLabel(
            "Only an administrator (a role with settings: write) can switch the API, change "
            "its port, manage API keys or read the request log."
        )
        self.read_only_note.setWordWrap(True)
        self.read_only_note.setObjectName("PageSubtitle")
        self.server_box = QGroupBox("REST API")
        server_layout = QVBoxLayout(self.server_box)
        server_layout.setSpacing(8)
        server_layout.addWidget(server_note)
        server_layout.addLayout(switch_row)
        server_layout.addLayout(status_row)
        server_layout.addWidget(self.read_only_note)

        # -- API keys -----------------------------------------------------------------
        self.keys_model = ApiKeysModel(colours)
        self.keys_table = _table("ApiKeysTable")
        self.keys_table.setAccessibleName("API keys")
        self.keys_table.setModel(self.keys_model)
        set_empty_text(
            self.keys_table,
            "No API keys yet. Press Create key… to give a script or another system its own key.",
        )
        keys_header = self.keys_table.horizontalHeader()
        keys_header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        keys_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((0, 90, 110, 130, 130, 130, 80)):
            if width:
                self.keys_table.setColumnWidth(column, width)
        self.keys_table.setFixedHeight(_rows_height(self.keys_table, 5))  # a console has a few
        self.keys_table.selectionModel().selectionChanged.connect(self._key_selection_changed)
        self.create_key_button = QPushButton("&Create key…")
        self.create_key_button.setToolTip("A new long-lived key for a script or another system")
        self.create_key_button.clicked.connect(self.open_create_dialog)
        self.revoke_button = QPushButton("Re&voke…")
        self.revoke_button.setToolTip("Refuse the selected key from the next request on")
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        key_buttons = QHBoxLayout()
        key_buttons.addWidget(self.create_key_button)
        key_buttons.addWidget(self.revoke_button)
        key_buttons.addWidget(self.message, 1)
        self.keys_box = QGroupBox("API keys")
        keys_layout = QVBoxLayout(self.keys_box)
        keys_layout.setSpacing(8)
        keys_layout.addWidget(self.keys_table)
        keys_layout.addLayout(key_buttons)

        # -- request log --------------------------------------------------------------
        self.log_model = RequestLogModel(colours)
        self.log_table = _table("RequestLogTable")
        self.log_table.setAccessibleName("REST request log")
        self.log_table.setModel(self.log_model)
        set_empty_text(
            self.log_table,
            "No requests yet. Calls to the REST API show here as they arrive; switch the API "
            "on above if it is off.",
        )
        log_header = self.log_table.horizontalHeader()
        log_header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        log_header.setStretchLastSection(False)
        for column, width in enumerate(LOG_WIDTHS):
            if width:
                self.log_table.setColumnWidth(column, width)
            else:
                log_header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.log_table.setMinimumHeight(_rows_height(self.log_table, 10))
        self.log_count = QLabel("")
        self.log_count.setObjectName("PageSubtitle")
        self.clear_log_button = QPushButton("Clear")
        self.clear_log_button.setToolTip("Empty the list; new requests keep appearing")
        self.clear_log_button.clicked.connect(self.clear_log)
        log_note = QLabel(
            f"The latest {MAX_ROWS:,} requests, newest on top; refused (4xx) and failed "
            "(5xx) ones are coloured."
        )
        log_note.setObjectName("PageSubtitle")
        log_note.setWordWrap(True)
        log_top = QHBoxLayout()
        log_top.addWidget(log_note, 1)
        log_top.addWidget(self.log_count)
        log_top.addWidget(self.clear_log_button)
        self.log_box = QGroupBox("REST request log")
        log_layout = QVBoxLayout(self.log_box)
        log_layout.setSpacing(8)
        log_layout.addLayout(log_top)
        log_layout.addWidget(self.log_table)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.server_box)
        layout.addWidget(self.keys_box)
        layout.addWidget(self.log_box)

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._tick)
        self.controller.sig_changed.connect(self._show_status)
        context.bridge.sig_started.connect(self._platform_ready)
        context.bridge.sig_event.connect(self._on_event)
        context.session.sig_signed_in.connect(self._signed_in)
        context.session.sig_signed_out.connect(self._signed_out)
        self._apply_permissions(context.session.principal)
        self._show_status()
        self._update_log_count()
        if context.session.signed_in:
            self._signed_in(context.session.principal)

    # -- who may do what --------------------------------------------------------------
    @property
    def can_manage(self) -> bool:
        principal = self.context.session.principal
        return principal is not None and principal.can("settings", "write")

    def _apply_permissions(self, principal: Principal | None) -> None:
        manage = principal is not None and principal.can("settings", "write")
        self.enabled_check.setEnabled(manage)
        self.port_spin.setEnabled(manage)
        self.create_key_button.setEnabled(manage)
        self.read_only_note.setVisible(principal is not None and not manage)
        # who uses the API, with which keys and from where, is the administrator's business
        self.keys_box.setVisible(manage)
        self.log_box.setVisible(manage)
        self._update_key_buttons()
        self._update_polling()

    def _signed_in(self, principal: Principal) -> None:
        self._apply_permissions(principal)
        if self.can_manage:
            self.refresh_keys()
            self.poll_requests()

    def _signed_out(self, _reason: str) -> None:
        self.keys_model.set_rows([])
        self._apply_permissions(None)

    def _live(self) -> bool:
        platform = self.context.bridge.platform
        return (
            not self.stopped
            and self.context.session.signed_in
            and platform is not None
            and platform.running
        )

    def _platform_ready(self, _platform: Platform) -> None:
        self._show_status()

    def _on_event(self, event: Event) -> None:
        if event.name == "platform_stopping":
            self.stopped = True
            self.poll.stop()

    # -- the server -------------------------------------------------------------------
    def _enabled_toggled(self, on: bool) -> None:
        if not self.can_manage:
            self._show_status()  # puts the box back as it was
            return
        if on and self.port_spin.value() != self.controller.port:
            self.controller.state.setValue(PORT_KEY, self.port_spin.value())
        self.controller.set_enabled(on)
        self._show_status()

    def apply_port(self) -> asyncio.Task[Any] | None:
        """The port typed in takes effect: a running server moves to it."""
        if not self.can_manage:
            return None
        port = self.port_spin.value()
        if port == self.controller.port and (
            self.controller.running or not self.controller.enabled
        ):
            return None
        task = self.controller.set_port(port)
        self._show_status()
        return task

    def copy_url(self) -> None:
        if self.controller.url:
            QGuiApplication.clipboard().setText(self.controller.url)
            self.copy_url_button.setText("Copied")
            QTimer.singleShot(1500, self._reset_copy_button)

    def _reset_copy_button(self) -> None:
        if shiboken6.isValid(self.copy_url_button):
            self.copy_url_button.setText("Copy address")

    def status(self) -> tuple[str, str]:
        """What the status line says, and its style role."""
        controller = self.controller
        platform = self.context.bridge.platform
        if controller.busy:
            return controller.busy, "PageSubtitle"
        if controller.running:
            url = html.escape(controller.url)
            return f'● Listening on <a href="{url}">{url}</a>', "HealthOk"
        if controller.error:
            return f"✖ Not running: {html.escape(controller.error)}", "HealthError"
        if controller.enabled and (platform is None or not platform.running):
            return "Starts with the console's services.", "PageSubtitle"
        return "○ Off — nothing outside the console can reach it.", "PageSubtitle"

    def _show_status(self) -> None:
        if not shiboken6.isValid(self.status_label):
            return
        self.copy_url_button.setVisible(self.controller.running)
        checked = self.controller.enabled
        if self.enabled_check.isChecked() != checked:
            self.enabled_check.blockSignals(True)
            self.enabled_check.setChecked(checked)
            self.enabled_check.blockSignals(False)
        shown = self.status()
        if shown != self._shown_status:  # restyling re-polishes: only on a change
            self._shown_status = shown
            self.status_label.setText(shown[0])
            restyle(self.status_label, shown[1])

    # -- API keys ---------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        if shiboken6.isValid(self.message):
            self.message.setText(text)
            restyle(self.message, "HealthError" if error else "HealthOk")

    def failed(self, exc: BaseException) -> None:
        """Expected errors go on the message line; anything else to the crash report."""
        if not shiboken6.isValid(self):
            return
        if isinstance(exc, ServiceError):
            self.show_message(exc.message, error=True)
        else:
            self.context.tasks.report_error(exc)

    def refresh_keys(self) -> asyncio.Task[Any] | None:
        if not self._live() or not self.can_manage:
            return None
        return self.context.tasks.spawn(self._load_keys(), on_error=self.failed)

    async def _load_keys(self) -> None:
        platform = self.context.bridge.platform
        assert platform is not None
        keys = await platform.gateway.keys.list_keys()
        roles = await platform.security.users.list_roles()
        if not shiboken6.isValid(self):
            return
        self.roles = [role.name for role in roles]
        keep = self.selected_key()
        self.keys_model.set_rows(list(reversed(keys)))  # newest first, like the log
        if keep is not None:
            self.select_key(keep.id)
        self._update_key_buttons()
        self.sig_keys_loaded.emit()

    def selected_key(self) -> ApiKeyInfo | None:
        rows = self.keys_table.selectionModel().selectedRows()
        return self.keys_model.info(rows[0].row()) if rows else None

    def select_key(self, key_id: str) -> bool:
        row = self.keys_model.row_of(key_id)
        if row >= 0:
            select_row(self.keys_table, self.keys_model.index(row, 0))
        return row >= 0

    def _key_selection_changed(
        self, _selected: QItemSelection, _deselected: QItemSelection
    ) -> None:
        self._update_key_buttons()

    def _update_key_buttons(self) -> None:
        info = self.selected_key()
        self.revoke_button.setEnabled(
            self.can_manage and info is not None and info.revoked_at is None
        )

    def open_create_dialog(self) -> CreateApiKeyDialog | None:
        if not self._live() or not self.can_manage:
            return None
        principal = self.context.session.require()
        keys = self.context.bridge.platform.gateway.keys  # type: ignore[union-attr]

        def create(name: str, role: str, days: float | None) -> Coroutine[Any, Any, NewApiKey]:
            return keys.create(principal, name, role, expires_in_days=days)  # type: ignore[no-any-return]

        dialog = CreateApiKeyDialog(
            self.roles or ["viewer"],
            create,
            self.context.tasks.spawn,
            self.context.tasks.report_error,
            self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_created.connect(self._key_created)
        dialog.finished.connect(lambda _result: self._forget_create_dialog(dialog))
        self.create_dialog = dialog
        dialog.open()
        return dialog

    def _forget_create_dialog(self, dialog: CreateApiKeyDialog) -> None:
        if self.create_dialog is dialog:
            self.create_dialog = None

    def _key_created(self, new: NewApiKey) -> None:
        self.show_message(f"Created the key “{new.info.name}” ({new.info.role}).")
        if self.key_dialog is not None and shiboken6.isValid(self.key_dialog):
            self.key_dialog.close()
        dialog = NewApiKeyDialog(new, self)
        dialog.finished.connect(lambda _result: self._forget_key_dialog(dialog))
        self.key_dialog = dialog
        dialog.open()
        task = self.refresh_keys()
        if task is not None:
            task.add_done_callback(lambda _t: self._select_new_key(new.info.id))

    def _select_new_key(self, key_id: str) -> None:
        if shiboken6.isValid(self):
            self.select_key(key_id)

    def _forget_key_dialog(self, dialog: NewApiKeyDialog) -> None:
        if self.key_dialog is dialog:
            self.key_dialog = None

    def revoke_selected(self) -> asyncio.Task[Any] | None:
        info = self.selected_key()
        if info is None or info.revoked_at is not None or not self.can_manage:
            return None
        answer = QMessageBox.question(
            self,
            "Revoke API key",
            f"Revoke the API key “{info.name}” ({info.role})?\n\nPrograms that use it are "
            "refused from their next request. This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        return self.revoke(info.id, info.name)

    def revoke(self, key_id: str, name: str) -> asyncio.Task[Any] | None:
        if not self._live() or not self.can_manage:
            return None
        principal = self.context.session.require()
        keys = self.context.bridge.platform.gateway.keys  # type: ignore[union-attr]

        def done(_info: ApiKeyInfo) -> None:
            self.show_message(f"Revoked the key “{name}”.")
            self.refresh_keys()

        return self.context.tasks.spawn(
            keys.revoke(principal, key_id), on_done=done, on_error=self.failed
        )

    # -- request log ------------------------------------------------------------------
    def poll_requests(self) -> int:
        """Take what the gateway logged since the last look; returns how many."""
        if not self._live() or not self.can_manage:
            return 0
        platform = self.context.bridge.platform
        assert platform is not None
        added = self.log_model.add(platform.gateway.requests_since(self.log_model.last_seq))
        if added:
            self._update_log_count()
        return added

    def clear_log(self) -> None:
        self.log_model.clear()
        self._update_log_count()

    def _update_log_count(self) -> None:
        shown = self.log_model.rowCount()
        self.log_count.setText(f"{shown:,} request{'' if shown == 1 else 's'}")

    def _tick(self) -> None:
        if not self._live():
            self.poll.stop()
            return
        self.poll_requests()
        self._show_status()  # a server that ended by itself shows as off

    def _update_polling(self) -> None:
        if self.isVisible() and self.can_manage and not self.stopped:
            if not self.poll.isActive():
                self.poll.start()
        else:
            self.poll.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._update_polling()
        if self.can_manage and self._live():
            self.poll_requests()
            self.refresh_keys()  # last-used times move while the page is elsewhere

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.poll.stop()
