from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

from auterity_desktop.core.errors import ErrorCode, ServiceError


@pytest.mark.qt_no_exception_capture
def test_exception_in_a_slot_shows_a_copyable_report_and_app_keeps_running(
    make_app: Any, qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    window = app.window
    window.show()
    button = QPushButton("Break", window)

    def broken_slot() -> None:
        raise ZeroDivisionError("dealer count was zero")

    button.clicked.connect(broken_slot)
    with caplog.at_level(logging.ERROR):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    (dialog,) = app.crash.dialogs
    assert dialog.isVisible()
    assert dialog.windowTitle() == "Unexpected error"
    assert "ZeroDivisionError: dealer count was zero" in dialog.report
    assert "Traceback" in dialog.report
    assert "broken_slot" in dialog.report
    dialog.copy_report()
    assert QGuiApplication.clipboard().text() == dialog.report
    assert any(r.message == "unexpected exception in the GUI" for r in caplog.records)
    # the application is still alive and responsive
    qtbot.mouseClick(window.rail.buttons["settings"], Qt.MouseButton.LeftButton)
    assert window.current_page() == "settings"


def test_failed_background_task_is_reported(make_app: Any) -> None:
    app = make_app()

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ServiceError(ErrorCode.TIMEOUT, "DMS did not answer", {"after": 30})

    task = app.tasks.spawn(failing())
    app.run(asyncio.gather(task, return_exceptions=True))
    (dialog,) = app.crash.dialogs
    assert dialog.windowTitle() == "Operation failed"
    assert "DMS did not answer (TIMEOUT)" in dialog.findChildren(type(dialog.details))[
        0
    ].toPlainText() or ("DMS did not answer" in dialog.report)


def test_unhandled_loop_exception_is_reported(make_app: Any) -> None:
    app = make_app()

    def callback() -> None:
        raise RuntimeError("from a loop callback")

    async def run_callback() -> None:
        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(0.01)

    app.run(run_callback())
    assert any("from a loop callback" in report for report in app.crash.reports)
