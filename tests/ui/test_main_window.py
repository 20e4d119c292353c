from __future__ import annotations

import asyncio
import threading
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QTableView

from auterity_desktop.config import setting_names
from auterity_desktop.ui.pages import PAGES
from auterity_desktop.ui.pages.ai_page import AIPage
from auterity_desktop.ui.pages.alerts_page import AlertsPage
from auterity_desktop.ui.pages.analysis_page import AnalysisPage
from auterity_desktop.ui.pages.audit_page import AuditPage
from auterity_desktop.ui.pages.compliance_page import CompliancePage
from auterity_desktop.ui.pages.dashboard_page import DashboardPage
from auterity_desktop.ui.pages.integrations_page import IntegrationsPage
from auterity_desktop.ui.pages.messages_page import MessagesPage
from auterity_desktop.ui.pages.models_page import ModelsPage
from auterity_desktop.ui.pages.planned_page import PlannedPage
from auterity_desktop.ui.pages.runs_page import RunsPage
from auterity_desktop.ui.pages.settings_page import SettingsPage
from auterity_desktop.ui.pages.users_page import UsersPage
from auterity_desktop.ui.pages.workflows_page import WorkflowsPage
from auterity_desktop.ui.theme import ThemeMode, load_palette
from tests.fakes import EXPECTED_SERVICES


def test_window_opens_offscreen_and_every_page_shows(make_app: Any, qtbot: Any) -> None:
    app = make_app()
    window = app.window
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Auterity Desktop"
    assert window.current_page() == "dashboard"
    for spec in PAGES:
        qtbot.mouseClick(window.rail.buttons[spec.key], Qt.MouseButton.LeftButton)
        page = window.pages[spec.key]
        assert window.stack.currentWidget() is page
        assert page.isVisible()
        assert window.current_page() == spec.key
        titles = [label.text() for label in page.findChildren(QLabel)]
        assert spec.title in titles
        expected = {
            "settings": SettingsPage,
            "audit": AuditPage,
            "users": UsersPage,
            "compliance": CompliancePage,
            "workflows": WorkflowsPage,
            "runs": RunsPage,
            "integrations": IntegrationsPage,
            "messages": MessagesPage,
            "ai": AIPage,
            "alerts": AlertsPage,
            "models": ModelsPage,
            "dashboard": DashboardPage,
            "analysis": AnalysisPage,
        }.get(spec.key, PlannedPage)
        assert type(page) is expected
        if expected is PlannedPage:
            assert f"{spec.title} is not available in this build yet" in titles


def test_pages_are_built_only_when_first_opened(make_app: Any) -> None:
    window = make_app().window
    assert set(window.pages) == {"dashboard"}
    first = window.show_page("runs")
    assert window.show_page("runs") is first
    assert set(window.pages) == {"dashboard", "runs"}


def test_keyboard_shortcuts_switch_pages(make_app: Any, qtbot: Any) -> None:
    window = make_app().window
    window.show()
    qtbot.waitExposed(window)
    for number, spec in enumerate(PAGES[:9], start=1):
        action = window.page_actions[spec.key]
        assert action.shortcut().toString() == f"Ctrl+{number}"
        action.trigger()
        assert window.current_page() == spec.key


def test_settings_page_shows_effective_configuration(make_app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAX_CONNECTIONS", "77")
    window = make_app().window
    page = window.show_page("settings")
    table = page.findChild(QTableView, "SettingsTable")
    model = table.model()
    assert model.rowCount() == len(setting_names())
    rows = {
        model.index(r, 0).data(): [model.index(r, c).data() for c in range(4)]
        for r in range(model.rowCount())
    }
    assert rows["MAX_CONNECTIONS"][1:3] == ["77", "environment"]
    assert rows["API_GATEWAY_PORT"][1:3] == ["8000", "default"]
    assert "65535" in rows["API_GATEWAY_PORT"][3]
    names = [model.index(r, 0).data() for r in range(model.rowCount())]
    row = names.index("MAX_CONNECTIONS")
    assert "Upper bound" in model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_theme_switch_applies_palette_and_is_remembered(make_app: Any, qapp: QApplication) -> None:
    app = make_app()
    window = app.window
    dark = load_palette("dark")
    light = load_palette("light")
    app.theme.set_mode(ThemeMode.LIGHT)
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == light["window"]
    page = window.show_page("settings")
    page.theme_combo.setCurrentIndex(page.theme_combo.findData("dark"))
    assert app.theme.current == "dark"
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == dark["window"]
    assert dark["rail"] in qapp.styleSheet()
    assert window.theme_actions["dark"].isChecked()
    window.toggle_theme()
    assert app.theme.current == "light"
    assert page.theme_combo.currentData() == "light"
    assert QSettings(window.state.fileName(), QSettings.Format.IniFormat).value("theme") == "light"


def test_system_theme_is_followed(make_app: Any) -> None:
    app = make_app()
    app.theme.set_mode(ThemeMode.SYSTEM)
    hints = QGuiApplication.styleHints()
    # The offscreen platform has no colour scheme of its own, so play the OS's part by
    # emitting the signal Qt sends when the desktop switches.
    try:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert app.theme.current == "dark"
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert app.theme.current == "light"
        app.theme.set_mode(ThemeMode.DARK)
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert app.theme.current == "dark"  # an explicit choice wins over the system
    finally:
        hints.colorSchemeChanged.emit(hints.colorScheme())


def test_geometry_and_last_page_are_remembered(make_app: Any, qtbot: Any) -> None:
    first = make_app()
    first.window.show()
    qtbot.waitExposed(first.window)
    first.window.resize(700, 598)  # the offscreen screen is 800 × 600
    first.window.show_page("analysis")
    first.window.close()
    second = make_app()
    assert second.window.size().width() == 700
    assert second.window.size().height() == 598
    assert second.window.current_page() == "analysis"


def test_platform_starts_behind_the_window_and_reports_health(make_app: Any, qtbot: Any) -> None:
    app = make_app()
    app.window.show()
    assert "Starting" in app.window.status.health_label.text() or app.bridge.state == "stopped"
    app.start_platform()
    assert app.bridge.state == "running"
    assert app.window.status.database_label.text().startswith("Database: SQLite · ")
    qtbot.waitUntil(lambda: "healthy" in app.window.status.health_label.text())
    assert (
        app.window.status.health_label.text() == f"● All {len(EXPECTED_SERVICES)} services healthy"
    )
    tooltip = app.window.status.health_label.toolTip()
    assert "database: ok" in tooltip


def test_closing_cleans_up_every_service_task_and_thread(make_app: Any, qtbot: Any) -> None:
    threads_before = {t.ident for t in threading.enumerate()}
    app = make_app()
    app.window.show()
    app.start_platform()
    platform = app.bridge.platform
    assert platform is not None
    assert platform.registry.running == EXPECTED_SERVICES
    closed: list[bool] = []
    app.window.sig_closed.connect(lambda: closed.append(True))
    app.window.close()
    assert closed == [True]
    app.shutdown()
    assert platform.registry.running == []
    assert not platform.running
    assert app.tasks.active == 0
    pending = app.run(_other_tasks())
    assert pending == []
    app.run(app.loop.shutdown_default_executor())

    def leaked() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]

    # worker threads (aiosqlite's, the import executor's) finish right after their close call
    qtbot.waitUntil(lambda: leaked() == [], timeout=3000)


async def _other_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


def test_start_failure_is_shown_and_window_keeps_working(make_app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("AUTERITY_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    app = make_app()
    app.window.show()
    app.start_platform()
    assert app.bridge.state == "failed"
    assert app.window.status.health_label.text() == "● Services failed to start"
    assert "Cannot open the database" in app.window.status.health_label.toolTip()
    (dialog,) = app.crash.dialogs
    assert dialog.windowTitle() == "Operation failed"
    assert "SERVICE_START_FAILED" in dialog.findChildren(QLabel)[0].text()
    app.window.show_page("settings")
    assert app.window.current_page() == "settings"


def test_about_dialog_shows_versions_and_database(make_app: Any) -> None:
    app = make_app()
    app.start_platform()
    dialog = app.window.show_about()
    assert "Auterity Desktop 0.1.0" in dialog.text
    assert "PySide6" in dialog.text
    assert "Database: SQLite" in dialog.text
    dialog.close()
