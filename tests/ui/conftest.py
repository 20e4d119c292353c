"""Qt fixtures: a qasync loop for coroutine-driven tests and a fully wired main window."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytestqt.plugin
import qasync
from PySide6.QtWidgets import QApplication

from auterity_desktop.config import load_settings
from auterity_desktop.ui.asyncgen_hooks import install_asyncgen_hooks
from auterity_desktop.ui.crash_handler import CrashHandler
from auterity_desktop.ui.garbage_collector import MainThreadGarbageCollector
from auterity_desktop.ui.leftover_tasks import cancel_leftover_tasks
from auterity_desktop.ui.main_window import MainWindow, window_state
from auterity_desktop.ui.platform_bridge import PlatformBridge
from auterity_desktop.ui.tasks import TaskRunner
from auterity_desktop.ui.theme import ThemeManager, ThemeMode


@pytest.fixture(autouse=True)
def gui_thread_garbage_collection(qapp: QApplication) -> Iterator[None]:
    """As in the app: cycles holding Qt objects are collected on the GUI thread only, and
    what one test left behind is collected before the next starts."""
    collector = MainThreadGarbageCollector()
    collector.install()
    try:
        yield
    finally:
        collector.uninstall()
        collector.deleteLater()


def run_in(loop: qasync.QEventLoop, awaitable: Any) -> Any:
    """Run ``loop`` until ``awaitable`` is done.

    Not ``loop.run_until_complete``: qasync's processes Qt events once more after the loop
    stopped, with no running asyncio loop, so a background coroutine (a workflow run the
    engine drives) that steps then fails with "no running event loop" — inside a database
    call that leaves its connection unreturned, torn down later by the garbage collector.
    Stopping ``run_forever`` leaves such steps queued for the next run."""
    future = asyncio.ensure_future(awaitable, loop=loop)
    future.add_done_callback(lambda _f: loop.stop())
    loop.run_forever()
    return future.result()


_loops: list[qasync.QEventLoop] = []  # the test's qasync loop, while it is open
_process_qt_events = pytestqt.plugin._process_events


def _process_events_inside_the_loop() -> None:
    """pytest-qt processes Qt events around every test phase (``app.processEvents()``).
    With a qasync loop open but not running, that steps coroutines — qasync schedules
    them as Qt timers — with no running asyncio loop, the hazard ``run_in`` avoids; so
    while a test's loop is open its events are processed by running the loop briefly."""
    loop = _loops[-1] if _loops else None
    if loop is None or loop.is_closed() or loop.is_running():
        _process_qt_events()
    else:
        run_in(loop, asyncio.sleep(0))


pytestqt.plugin._process_events = _process_events_inside_the_loop


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    restore_asyncgen_hooks = install_asyncgen_hooks(loop)  # as the app does
    _loops.append(loop)
    try:
        yield loop
    finally:
        run_in(loop, cancel_leftover_tasks())  # as the app does
        run_in(loop, loop.shutdown_asyncgens())
        run_in(loop, loop.shutdown_default_executor())
        _loops.remove(loop)
        restore_asyncgen_hooks()
        asyncio.set_event_loop(None)
        loop.close()


@dataclass
class App:
    window: MainWindow
    bridge: PlatformBridge
    tasks: TaskRunner
    crash: CrashHandler
    theme: ThemeManager
    loop: qasync.QEventLoop

    def run(self, awaitable: Any) -> Any:
        """Run the loop until ``awaitable`` is done (see ``run_in``)."""
        return run_in(self.loop, awaitable)

    def start_platform(self) -> None:
        """Start services; a failure is left to the window to show, as in the real app."""
        self.run(asyncio.gather(self.bridge.start(), return_exceptions=True))

    def until(self, predicate: Callable[[], Any], timeout: float = 15.0) -> None:
        """Run the event loop until ``predicate()`` is true (async work finished)."""

        async def poll() -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while not predicate():
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("condition not reached in time")
                await asyncio.sleep(0.01)
            # Let the GUI's other work settle too: coroutine steps must not run later from
            # bare Qt event processing (qtbot), where no asyncio loop is running.
            while self.tasks.active and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

        self.run(poll())

    def sign_in_first_admin(
        self, username: str = "alice", password: str = "Correct-Horse-42!"
    ) -> None:
        self.start_platform()
        self.until(lambda: self.window.login_dialog is not None)
        dialog = self.window.login_dialog
        if hasattr(dialog, "samples_check"):  # first run: a test brings its own data
            dialog.samples_check.setChecked(False)
        dialog.username.setText(username)
        dialog.password.setText(password)
        dialog.confirm.setText(password)
        dialog.submit()
        self.until(lambda: self.window.session.signed_in)

    def sign_in_as(self, username: str, password: str) -> None:
        """Sign out whoever is signed in and sign in as ``username`` through the dialog."""
        if self.window.session.signed_in:
            self.window.sign_out()
        self.until(
            lambda: self.window.login_dialog is not None and not self.window.session.signed_in
        )
        dialog = self.window.login_dialog
        dialog.username.setText(username)
        dialog.password.setText(password)
        dialog.submit()
        self.until(lambda: self.window.session.signed_in)

    def shutdown(self) -> None:
        self.window.session.stop()
        self.run(self.tasks.shutdown())
        self.run(self.bridge.stop())


@pytest.fixture
def make_app(
    qapp: QApplication, qloop: qasync.QEventLoop, qtbot: Any
) -> Iterator[Callable[[], App]]:
    built: list[App] = []

    def build() -> App:
        settings, sources = load_settings()
        state = window_state(settings)
        mode = str(state.value("theme", "system"))
        theme = ThemeManager(qapp, ThemeMode(mode))
        holder: list[MainWindow] = []
        crash = CrashHandler(lambda: holder[0] if holder else None)
        crash.install(qloop)
        tasks = TaskRunner(crash.report)
        bridge = PlatformBridge(settings, sources, tasks)
        window = MainWindow(settings, sources, theme, bridge, tasks, state)
        holder.append(window)
        qtbot.addWidget(window)
        app = App(window, bridge, tasks, crash, theme, qloop)
        built.append(app)
        return app

    yield build
    for app in built:
        app.shutdown()
        app.crash.uninstall()
        for dialog in list(app.crash.dialogs):
            dialog.close()
        app.theme.detach()
        app.theme.set_mode(ThemeMode.LIGHT)
        app.theme.deleteLater()
