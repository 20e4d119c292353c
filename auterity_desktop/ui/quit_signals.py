"""Close the window cleanly on SIGINT/SIGTERM (Ctrl+C in a terminal, logout, ``kill``).

Without this the process dies on the spot and services never run their cleanup. Python only
runs signal handlers between bytecodes, and Qt's event loop may sit in C++ for long, so a
short timer keeps waking the interpreter while the window is open.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QObject, QTimer

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WAKE_INTERVAL_MS = 250


class QuitOnSignals(QObject):
    def __init__(self, close: Callable[[], object]) -> None:
        super().__init__()
        self._close = close
        self._previous: dict[int, object] = {}
        self._wake = QTimer(self)
        self._wake.setInterval(WAKE_INTERVAL_MS)
        self._wake.timeout.connect(lambda: None)
        self.received: list[int] = []

    def install(self) -> None:
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        self._wake.start()

    def uninstall(self) -> None:
        self._wake.stop()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        QTimer.singleShot(0, self._close)
