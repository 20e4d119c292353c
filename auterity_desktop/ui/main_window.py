"""The main window: navigation rail, lazily built pages, menus and the status bar.

Pages are created the first time they are shown, so start-up only pays for the rail and the
first page. Window geometry, the last page and the theme choice are remembered in an INI file
in the data folder (per data folder, so a test or a second profile never touches yours).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QScrollArea,
    QStackedWidget,
    QWidget,
)

from auterity_desktop import APP_NAME
from auterity_desktop.config import Settings
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.core.service import Health
from auterity_desktop.ui.navigation_rail import NavigationRail
from auterity_desktop.ui.pages import PAGES, PageSpec
from auterity_desktop.ui.pages.context import PageContext
from auterity_desktop.ui.platform_bridge import PlatformBridge
from auterity_desktop.ui.resources import app_icon
from auterity_desktop.ui.session import SessionController
from auterity_desktop.ui.status_bar import PlatformStatusBar
from auterity_desktop.ui.tasks import TaskRunner
from auterity_desktop.ui.theme import ThemeManager, ThemeMode
from auterity_desktop.ui.widgets.alert_toasts import AlertToaster
from auterity_desktop.ui.widgets.api_server_panel import ApiServerController

logger = logging.getLogger(__name__)

STATE_FILE = "ui-state.ini"
DEFAULT_SIZE = (1280, 800)


def window_state(settings: Settings) -> QSettings:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return QSettings(str(settings.data_dir / STATE_FILE), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    sig_closed = Signal()

    def __init__(
        self,
        settings: Settings,
        sources: Mapping[str, str],
        theme: ThemeManager,
        bridge: PlatformBridge,
        tasks: TaskRunner,
        state: QSettings,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setObjectName("MainWindow")
        self.settings = settings
        self.theme = theme
        self.bridge = bridge
        self.state = state
        self.tasks = tasks
        self.session = SessionController(tasks)
        self.context = PageContext(settings, sources, theme, bridge, tasks, self.session)
        # made now, not with the Settings page: a REST API switched on starts with the console
        self.api_server = ApiServerController.of(self.context, state)
        self.login_dialog: Any = None
        self.guide: Any = None
        self.samples_progress: Any = None
        self.error_box: Any = None
        self.pages: dict[str, QWidget] = {}

        self.rail = NavigationRail(PAGES)
        self.rail.sig_page_requested.connect(self.show_page)
        self.stack = QStackedWidget()
        self._slots: dict[str, QWidget] = {}
        for spec in PAGES:  # cheap placeholders, replaced by the real page on first visit
            slot = QWidget()
            self._slots[spec.key] = slot
            self.stack.addWidget(slot)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # A short window scrolls the rail rather than refusing to shrink below its height.
        rail_area = QScrollArea()
        rail_area.setObjectName("NavigationRailArea")
        rail_area.setWidget(self.rail)
        rail_area.setWidgetResizable(True)
        rail_area.setFrameShape(QFrame.Shape.NoFrame)
        rail_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rail_area.setFixedWidth(self.rail.width())
        layout.addWidget(rail_area)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status = PlatformStatusBar()
        self.setStatusBar(self.status)
        self._build_menus()
        self.alert_toasts = AlertToaster(self, bridge, self.session, theme, self.show_page)

        theme.sig_theme_changed.connect(self._theme_changed)
        theme.sig_mode_changed.connect(self._remember_theme)
        self._theme_changed(theme.current)
        bridge.sig_starting.connect(self.status.show_starting)
        bridge.sig_event.connect(self.status.on_event)  # the team database indicator
        bridge.sig_started.connect(self._platform_started)
        bridge.sig_start_failed.connect(self._platform_failed)
        bridge.sig_health_changed.connect(self._health_changed)
        self.session.sig_needs_sign_in.connect(self.show_login)
        self.session.sig_signed_in.connect(self._signed_in)
        self.session.sig_signed_out.connect(self._signed_out)
        self.status.sign_out_button.clicked.connect(self.sign_out)

        self._restore_state()

    # -- menus and shortcuts ----------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.sign_out_action = QAction("Sign &out", self)
        self.sign_out_action.setShortcut(QKeySequence("Ctrl+Shift+Q"))
        self.sign_out_action.setEnabled(False)
        self.sign_out_action.triggered.connect(self.sign_out)
        file_menu.addAction(self.sign_out_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.page_actions: dict[str, QAction] = {}
        for number, spec in enumerate(PAGES, start=1):
            action = QAction(spec.title.replace("&", "&&"), self)
            if number <= 9:
                action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            elif spec.key == "settings":
                action.setShortcut(QKeySequence("Ctrl+,"))
            action.triggered.connect(lambda _=False, key=spec.key: self.show_page(key))
            view_menu.addAction(action)
            self.page_actions[spec.key] = action
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for mode, label in (
            (ThemeMode.SYSTEM, "Follow the &system"),
            (ThemeMode.LIGHT, "&Light"),
            (ThemeMode.DARK, "&Dark"),
        ):
            action = QAction(label, self, checkable=True)
            action.setChecked(self.theme.mode is mode)
            action.triggered.connect(lambda _=False, m=mode: self.theme.set_mode(m))
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[mode.value] = action
        toggle = QAction("Toggle &dark theme", self)
        toggle.setShortcut(QKeySequence("Ctrl+Shift+T"))
        toggle.triggered.connect(self.toggle_theme)
        view_menu.addAction(toggle)
        full_screen = QAction("&Full screen", self)
        full_screen.setShortcut(QKeySequence("F11"))
        full_screen.triggered.connect(
            lambda: self.showNormal() if self.isFullScreen() else self.showFullScreen()
        )
        view_menu.addAction(full_screen)

        help_menu = self.menuBar().addMenu("&Help")
        guide = QAction("&User guide", self)
        guide.setShortcut(QKeySequence("Shift+F1"))
        guide.triggered.connect(self.show_guide)
        help_menu.addAction(guide)
        self.samples_action = QAction("&Load dealership samples…", self)
        self.samples_action.setEnabled(False)
        self.samples_action.triggered.connect(self.load_samples)
        help_menu.addAction(self.samples_action)
        help_menu.addSeparator()
        shortcuts = QAction("&Keyboard shortcuts", self)
        shortcuts.setShortcut(QKeySequence("Ctrl+/"))
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)
        about = QAction(f"&About {APP_NAME}", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def toggle_theme(self) -> None:
        self.theme.set_mode(ThemeMode.LIGHT if self.theme.current == "dark" else ThemeMode.DARK)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """Every shortcut of the window, then the editor's (when it has been opened)."""
        rows = [
            ("Go to workspace 1 … 9", "Ctrl+1 … Ctrl+9"),
            ("Settings", "Ctrl+,"),
            ("Light / dark theme", "Ctrl+Shift+T"),
            ("Full screen", "F11"),
            ("Sign out", "Ctrl+Shift+Q"),
            ("Quit", "Ctrl+Q"),
            ("Keyboard shortcuts", "Ctrl+/"),
            ("User guide", "Shift+F1"),
            ("Workflows: new, duplicate, delete", "Ctrl+N, Ctrl+D, Del"),
            ("Workflows: import, export, run, open", "Ctrl+I, Ctrl+E, Ctrl+R, Enter"),
            ("Search the current list", "Ctrl+F"),
        ]
        workflows = self.pages.get("workflows")
        panel = getattr(workflows, "editor_panel", None)
        if panel is not None:
            rows += [(f"Editor: {name}", keys) for name, keys in panel.editor.shortcut_list()]
        else:
            rows.append(("Editor shortcuts", "open a workflow, then press F1"))
        return rows

    def show_shortcuts(self) -> Any:
        from auterity_desktop.ui.editor.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self.shortcut_rows(), self)
        dialog.setWindowTitle("Keyboard shortcuts")
        dialog.open()
        return dialog

    def show_about(self) -> Any:
        from auterity_desktop.ui.about_dialog import AboutDialog

        platform = self.bridge.platform
        database = platform.database.description if platform else "not started"
        dialog = AboutDialog(self.settings, database, self)
        dialog.open()
        return dialog

    # -- pages ------------------------------------------------------------------------
    def show_page(self, key: str) -> QWidget:
        page = self.pages.get(key)
        if page is None:
            spec = next(s for s in PAGES if s.key == key)
            page = self._build_page(spec)
            slot = self._slots[key]
            index = self.stack.indexOf(slot)
            self.stack.insertWidget(index, page)
            self.stack.removeWidget(slot)
            slot.deleteLater()
            self.pages[key] = page
        self.stack.setCurrentWidget(page)
        self.rail.set_current(key)
        self.state.setValue("last_page", key)
        return page

    def _build_page(self, spec: PageSpec) -> QWidget:
        module_name, _, class_name = spec.factory.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        page: QWidget = cls(spec, self.context)
        if hasattr(page, "sig_open_node"):
            page.sig_open_node.connect(self.open_workflow_node)
        if hasattr(page, "sig_show_run"):
            page.sig_show_run.connect(self.show_run)
        return page

    def show_run(self, run_id: str) -> None:
        """Open a run on the Runs page (the Workflows page asks for it after starting one)."""
        page = self.show_page("runs")
        select = getattr(page, "select_run", None)
        if callable(select):
            select(run_id)

    def open_workflow_node(self, workflow_id: str, node_id: str) -> None:
        """Jump to a node in the workflow editor (used by compliance findings)."""
        page = self.show_page("workflows")
        page.focus_node(workflow_id, node_id)  # type: ignore[attr-defined]

    def current_page(self) -> str | None:
        return self.rail.current()

    # -- platform and session --------------------------------------------------------
    def _platform_started(self, platform: Any) -> None:
        self.status.show_database(platform.database.description)
        self.status.showMessage("Ready", 3000)
        self.session.attach(platform)

    def show_login(self, first_run: bool, message: str) -> Any:
        """Lock the window behind the sign-in dialog (on first run, the welcome page); work
        in progress stays as it is."""
        from auterity_desktop.ui.login_dialog import LoginDialog
        from auterity_desktop.ui.welcome_dialog import WelcomeDialog

        if self.login_dialog is not None:
            self.login_dialog.close()
        self.centralWidget().setEnabled(False)
        dialog: LoginDialog
        if first_run:
            dialog = WelcomeDialog(
                self.tasks,
                self.session.sign_in,
                self.session.create_first_admin,
                self._load_samples,
                self.data_location(),
                self,
            )
            dialog.sig_samples_loaded.connect(self._samples_loaded)
        else:
            dialog = LoginDialog(
                self.tasks,
                first_run,
                self.session.sign_in,
                self.session.create_first_admin,
                message,
                self,
            )
        dialog.sig_cancelled.connect(self.close)
        dialog.finished.connect(lambda _result: setattr(self, "login_dialog", None))
        self.login_dialog = dialog
        dialog.open()
        return dialog

    def data_location(self) -> Any:
        from auterity_desktop.ui.welcome_dialog import DataLocation

        platform = self.bridge.platform
        database = platform.database.description if platform else "not started"
        try:  # e.g. keyring.backends.SecretService.Keyring → SecretService
            parts = platform.secrets.backend_name().split(".") if platform else ["-"]
            keyring = parts[-2] if parts[-1] == "Keyring" and len(parts) > 1 else parts[-1]
        except Exception:  # a broken keyring is reported by the status bar, not here
            keyring = "unavailable"
        return DataLocation(self.settings.data_dir, database, keyring)

    # -- samples and help ---------------------------------------------------------------
    async def _load_samples(self, principal: Any, progress: Any) -> Any:
        platform = self.bridge.platform
        if platform is None:
            raise ServiceError(ErrorCode.SERVICE_UNAVAILABLE, "The services are not running", {})
        return await platform.samples.load(principal, progress)

    def load_samples(self) -> Any:
        """Help ▸ Load dealership samples: the same pack as on first run, with progress."""
        from PySide6.QtWidgets import QProgressDialog

        principal = self.session.principal
        if principal is None:
            return None
        dialog = QProgressDialog("Loading the dealership samples…", "", 0, 100, self)
        dialog.setWindowTitle("Dealership samples")
        dialog.setCancelButton(None)  # type: ignore[arg-type]
        # not modal: a modal progress dialog runs a nested event loop in setValue(), which
        # would re-enter the asyncio loop that reports the progress
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(0)
        self.samples_action.setEnabled(False)  # one load at a time

        def progress(text: str, done: float) -> None:
            dialog.setLabelText(text)
            dialog.setValue(round(done * 100))

        def failed(exc: BaseException) -> None:
            dialog.close()
            self._allow_samples()
            self._show_error("The samples could not be loaded", exc)

        def loaded(report: Any) -> None:
            dialog.close()
            self._allow_samples()
            self._samples_loaded(report)

        self.samples_progress = dialog
        dialog.show()
        return self.tasks.spawn(
            self._load_samples(principal, progress), on_done=loaded, on_error=failed
        )

    def _allow_samples(self) -> None:
        principal = self.session.principal
        self.samples_action.setEnabled(
            principal is not None and principal.can("workflows", "write")
        )

    def _samples_loaded(self, report: Any) -> None:
        self.status.showMessage(
            f"Samples loaded into {report.folder}: {len(report.workflows)} workflows, an event "
            "log, a data set and a model",
            10_000,
        )
        logger.info("samples loaded (%d already there)", len(report.skipped))
        self.show_page("workflows")

    def _show_error(self, title: str, exc: BaseException) -> None:
        from PySide6.QtWidgets import QMessageBox

        if not isinstance(exc, ServiceError):
            self.tasks.report_error(exc)  # a bug: the crash report, with its traceback
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, exc.message, parent=self)
        box.open()
        self.error_box = box

    def show_guide(self) -> Any:
        """Help ▸ User guide: the Markdown guide from docs/, with its screenshots."""
        from auterity_desktop.ui.guide_viewer import GuideViewer

        if self.guide is None:
            self.guide = GuideViewer(self)
            self.guide.finished.connect(lambda _result: setattr(self, "guide", None))
        self.guide.show()
        self.guide.raise_()
        self.guide.activateWindow()
        return self.guide

    def sign_out(self) -> None:
        if self.session.signed_in:
            self.tasks.spawn(self.session.sign_out())

    def _signed_in(self, principal: Any) -> None:
        self.centralWidget().setEnabled(True)
        self.status.show_user(principal.username, principal.role)
        self.sign_out_action.setEnabled(True)
        self._allow_samples()
        allowed = {
            spec.key
            for spec in PAGES
            if spec.permission is None or spec.permission in principal.permissions
        }
        self.rail.set_allowed(allowed)
        for key, action in self.page_actions.items():
            action.setVisible(key in allowed)
        if self.current_page() not in allowed:
            self.show_page("dashboard")

    def _signed_out(self, reason: str) -> None:
        self.centralWidget().setEnabled(False)
        self.status.show_user(None, None)
        self.sign_out_action.setEnabled(False)
        self.samples_action.setEnabled(False)
        self.status.showMessage(reason, 5000)

    def _platform_failed(self, error: BaseException) -> None:
        message = error.message if isinstance(error, ServiceError) else str(error)
        self.status.show_failed(message)

    def _health_changed(self, health: Mapping[str, Health]) -> None:
        self.status.show_health(health)

    # -- theme ------------------------------------------------------------------------
    def _theme_changed(self, _name: str) -> None:
        colors = self.theme.colors
        self.rail.set_colors(colors["muted_text"], colors["accent"])

    def _remember_theme(self, mode: str) -> None:
        self.state.setValue("theme", mode)
        self.theme_actions[mode].setChecked(True)

    # -- state ------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.state.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(*DEFAULT_SIZE)
        window_state_value = self.state.value("window_state")
        if window_state_value is not None:
            self.restoreState(window_state_value)
        last = str(self.state.value("last_page", "dashboard"))
        self.show_page(last if last in self._slots else "dashboard")

    def save_state(self) -> None:
        self.state.setValue("geometry", self.saveGeometry())
        self.state.setValue("window_state", self.saveState())
        self.state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        for page in self.pages.values():  # unsaved work is asked about first
            confirm = getattr(page, "confirm_close", None)
            if callable(confirm) and not confirm(self.close):
                event.ignore()
                return
        self.save_state()
        super().closeEvent(event)
        if event.isAccepted():
            self.sig_closed.emit()
