"""Cycles are collected on the GUI thread, never in a worker thread that allocates."""

from __future__ import annotations

import gc
import threading
from typing import Any

from PySide6.QtCore import QObject

from auterity_desktop.ui.garbage_collector import MainThreadGarbageCollector


class _Cycle:
    """A reference cycle holding a Qt object; records the thread that finalised it."""

    def __init__(self, seen: list[str]) -> None:
        self.me = self
        self.qobject = QObject()
        self.seen = seen

    def __del__(self) -> None:
        self.seen.append(threading.current_thread().name)


def _allocate_in_a_worker() -> list[list[int]]:
    """Net allocations (kept alive) past every generation's threshold, in another thread."""
    kept: list[list[int]] = []
    worker = threading.Thread(target=lambda: kept.extend([i] for i in range(200_000)))
    worker.name = "churn"
    worker.start()
    worker.join()
    return kept


def test_a_worker_that_allocates_does_not_collect_qt_cycles(qtbot: Any) -> None:
    collector = MainThreadGarbageCollector(interval_ms=10)
    collector.install()
    try:
        assert not gc.isenabled()
        seen: list[str] = []
        _Cycle(seen)
        kept = _allocate_in_a_worker()
        assert seen == []  # the worker's allocations collected nothing
        qtbot.waitUntil(lambda: seen != [], timeout=3000)
        assert seen == [threading.main_thread().name]
        del kept
    finally:
        collector.uninstall()


def test_without_it_the_worker_would_collect_the_cycle() -> None:
    """The hazard the collector removes, shown with Python's own automatic collection."""
    was_enabled = gc.isenabled()  # off: the UI tests' fixture installed a collector
    gc.enable()
    try:
        gc.collect()
        seen: list[str] = []
        _Cycle(seen)
        kept = _allocate_in_a_worker()
        assert seen == ["churn"]
        del kept
    finally:
        if not was_enabled:
            gc.disable()


def test_uninstall_collects_what_is_left_and_restores_the_previous_mode() -> None:
    was_enabled = gc.isenabled()
    collector = MainThreadGarbageCollector()
    collector.install()
    seen: list[str] = []
    _Cycle(seen)
    collector.uninstall()
    assert seen == [threading.main_thread().name]
    assert gc.isenabled() == was_enabled
