"""Starts the GUI: settings, QApplication, the window, then the qasync loop and services.

Order matters for start-up time. Settings are validated first (a bad value must stop
start-up before anything is shown). The window is built and shown next, importing only what
it draws; qasync and the service layer (SQLAlchemy, Alembic) load after it is on screen, and
the platform starts in the background while the status bar says so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from auterity_desktop import APP_ID, APP_NAME, __version__
from auterity_desktop.config import SettingsError, load_settings
from auterity_desktop.core.logging import configure_logging, shutdown_logging

logger = logging.getLogger(__name__)


def _fatal_settings(error: SettingsError) -> None:
    for line in error.lines:
        print(f"{APP_ID}: {line}", file=sys.stderr)


def run_gui(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    on_shown: Callable[[object], None] | None = None,
    smoke_test: float | None = None,
) -> int:
    """Run the application until its window closes; returns the process exit code.

    ``on_shown(window)`` is called once the window is on screen and the event loop runs
    (the start-up benchmark uses it). With ``smoke_test`` (seconds) the application closes
    by itself once the window is shown and the services run (see ``SmokeTest``).
    """
    try:
        settings, sources = load_settings(env, config_file)
    except SettingsError as error:
        _fatal_settings(error)
        _show_fatal_dialog(error)
        return 2
    configure_logging(settings.log_dir, settings.log_level)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from auterity_desktop.ui.asyncgen_hooks import install_asyncgen_hooks
    from auterity_desktop.ui.crash_handler import CrashHandler
    from auterity_desktop.ui.garbage_collector import MainThreadGarbageCollector
    from auterity_desktop.ui.leftover_tasks import cancel_leftover_tasks
    from auterity_desktop.ui.main_window import MainWindow, window_state
    from auterity_desktop.ui.platform_bridge import PlatformBridge
    from auterity_desktop.ui.quit_signals import QuitOnSignals
    from auterity_desktop.ui.resources import app_icon
    from auterity_desktop.ui.tasks import TaskRunner
    from auterity_desktop.ui.theme import ThemeManager, ThemeMode

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Auterity")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # we quit ourselves, after services stopped

    state = window_state(settings)
    mode = str(state.value("theme", ThemeMode.SYSTEM.value))
    theme = ThemeManager(
        app, ThemeMode(mode) if mode in ThemeMode.__members__.values() else ThemeMode.SYSTEM
    )
    window_ref: list[MainWindow] = []
    crash = CrashHandler(lambda: window_ref[0] if window_ref else None)
    tasks = TaskRunner(crash.report)
    bridge = PlatformBridge(settings, sources, tasks)
    window = MainWindow(settings, sources, theme, bridge, tasks, state)
    window_ref.append(window)
    window.show()
    if on_shown is not None:
        QTimer.singleShot(0, lambda: on_shown(window))
    smoke = None
    if smoke_test:
        from auterity_desktop.ui.smoke_test import SmokeTest

        smoke = SmokeTest(window, bridge, tasks, crash, smoke_test)

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    restore_asyncgen_hooks = install_asyncgen_hooks(loop)
    crash.install(loop)
    collector = MainThreadGarbageCollector(app)
    collector.install()
    quit_signals = QuitOnSignals(window.close)
    quit_signals.install()
    closed: asyncio.Future[None] = loop.create_future()
    window.sig_closed.connect(lambda: closed.done() or closed.set_result(None))

    async def lifetime() -> None:
        await closed
        # first the GUI's own work (page loads, session checks), then the services under it
        await tasks.shutdown()
        await bridge.stop()
        await cancel_leftover_tasks()

    try:
        bridge.start()
        # One run of the loop from start to stop: between two run_until_complete calls Qt
        # can still deliver a timer, and a task stepped then finds no running loop.
        loop.run_until_complete(lifetime())
    finally:
        quit_signals.uninstall()
        crash.uninstall()
        collector.uninstall()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        restore_asyncgen_hooks()
        asyncio.set_event_loop(None)
        loop.close()
        shutdown_logging()
    return smoke.finish() if smoke is not None else 0


def _show_fatal_dialog(error: SettingsError) -> None:
    """Also tell a user who started the app from a menu (no terminal) why it did not open."""
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox
    except ImportError:  # pragma: no cover - the GUI extra is always installed
        return
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return  # no screen: creating a QApplication would abort the process
    app = QApplication.instance() or QApplication(sys.argv[:1])
    QMessageBox.critical(None, f"{APP_NAME} cannot start", "\n".join(error.lines))
    del app


def main() -> int:
    """Entry point of ``auterity-desktop``."""
    return run_gui(sys.argv)


if __name__ == "__main__":
    raise SystemExit(main())
