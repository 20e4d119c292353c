"""Cyclic garbage collection on the GUI thread only.

Python runs its cycle collector in whichever thread happens to allocate when a generation's
threshold is crossed: here that is often aiosqlite's worker thread or the loop's executor. A
collected cycle that holds a Qt wrapper (a widget captured by a lambda connected to its own
signal, say) then deletes the C++ object from that thread, or in the middle of a Qt event
handler on the GUI thread; either can crash the process much later. pyqtgraph documents the
same remedy: switch automatic collection off and collect from a GUI-thread timer, when no Qt
code is on the stack.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100


class MainThreadGarbageCollector(QObject):
    """Collects the generations whose thresholds were crossed, from a GUI-thread timer."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = True

    @property
    def installed(self) -> bool:
        return self._timer.isActive()

    def install(self) -> None:
        if self.installed:
            return
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def uninstall(self) -> None:
        """Collect what is left, here, and give collection back to Python."""
        if not self.installed:
            return
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> None:
        """Same policy as the interpreter's: the oldest generation past its threshold."""
        thresholds = gc.get_threshold()
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return
