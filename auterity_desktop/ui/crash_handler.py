"""Turns unexpected exceptions in slots and tasks into a logged report and a dialog.

Without this, an exception in a Qt slot is printed to a console nobody sees and the user is
left wondering why a button did nothing. The handler keeps the application running: it logs
the full report, shows it in a non-modal ``ErrorDialog`` (a modal one would re-enter the
asyncio loop from inside a callback) and returns.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, qVersion
from PySide6.QtWidgets import QWidget

from auterity_desktop import APP_NAME, __version__
from auterity_desktop.core.errors import ServiceError
from auterity_desktop.ui.error_dialog import ErrorDialog

logger = logging.getLogger(__name__)

ExcHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


def build_report(exc: BaseException, context: str = "") -> str:
    lines = [
        f"{APP_NAME} {__version__}",
        f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version}",
        f"System: {platform.platform()}",
    ]
    if context:
        lines.append(f"Context: {context}")
    lines.append("")
    lines.extend(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(line.rstrip("\n") for line in lines)


class CrashHandler(QObject):
    def __init__(self, parent_window: Callable[[], QWidget | None] | None = None) -> None:
        super().__init__()
        self._parent_window = parent_window or (lambda: None)
        self._previous_hook: ExcHook | None = None
        self.reports: list[str] = []
        self.dialogs: list[ErrorDialog] = []

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._previous_hook = sys.excepthook
        sys.excepthook = self._excepthook
        if loop is not None:
            loop.set_exception_handler(self._loop_exception)

    def uninstall(self) -> None:
        if self._previous_hook is not None and sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_hook
        self._previous_hook = None

    def _excepthook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt) and self._previous_hook is not None:
            self._previous_hook(exc_type, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        self.report(exc)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is None:
            logger.warning("asyncio: %s", context.get("message", "unknown problem"))
            return
        self.report(exc, context.get("message", ""))

    def report(self, exc: BaseException, context: str = "") -> ErrorDialog:
        """Log ``exc`` and show it; returns the dialog (tests and callers may close it)."""
        text = build_report(exc, context)
        self.reports.append(text)
        if isinstance(exc, ServiceError):
            title, summary = "Operation failed", f"{exc.message} ({exc.code.value})"
            logger.warning(
                "operation failed", extra={"code": exc.code.value, "details": exc.details}
            )
        else:
            title = "Unexpected error"
            summary = f"Something went wrong: {type(exc).__name__}: {exc}"
            logger.error(
                "unexpected exception in the GUI", exc_info=exc, extra={"context": context}
            )
        dialog = ErrorDialog(title, summary, text, self._parent_window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def _forget(self, dialog: ErrorDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
