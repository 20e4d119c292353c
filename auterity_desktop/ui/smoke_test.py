"""``auterity gui --smoke-test``: the check that an installed or packaged application
really starts — window, services, keyring, a worker process and every page."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any


async def _in_daemon_thread(function: Callable[[], Any]) -> Any:
    """``function()`` in a daemon thread: unlike ``asyncio.to_thread`` a call that never
    returns (a D-Bus that does not answer) cannot hold up the executor's shutdown."""
    import threading

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def deliver(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def call() -> None:
        try:
            result, error = function(), None
        except Exception as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=call, name="smoke-test-keyring", daemon=True).start()
    return await future


class SmokeTest:
    """``auterity gui --smoke-test``: proves that an installed or bundled application works.

    Once the window is on screen and the platform has started, it asks every service for
    its health, the platform for the keyring it would use and a process-mining worker for
    its process id (a frozen application starts those workers by running itself again),
    builds every page, prints ``smoke test: window shown, N services started`` and what it
    found, and closes the window: exit code 0. A platform that fails to start, a failed
    check, any unexpected exception on the way (a crash report) or no start within
    ``timeout`` seconds make it exit 1 with the reason on stderr. The keyring is asked in a
    thread with a time limit of its own, so a D-Bus without a Secret Service cannot hold
    the test up.
    """

    KEYRING_TIMEOUT = 10.0

    def __init__(self, window: Any, bridge: Any, tasks: Any, crash: Any, timeout: float) -> None:
        from PySide6.QtCore import QTimer

        self.window = window
        self.bridge = bridge
        self.tasks = tasks
        self.crash = crash
        self.errors: list[str] = []
        self.passed = False
        self._done = False
        bridge.sig_started.connect(self._started)
        bridge.sig_start_failed.connect(self._start_failed)
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timed_out)
        self._timer.start(int(timeout * 1000))
        self._timeout = timeout

    def _started(self, platform: Any) -> None:
        self.tasks.spawn(self._check(platform), on_error=self._check_failed)

    async def _check(self, platform: Any) -> None:
        if not self.window.isVisible():
            raise RuntimeError("the main window is not visible")
        services = list(platform.registry.running)
        health = await platform.health()
        not_ok = sorted(
            f"{name} ({state.state.value})" for name, state in health.items() if not state.ok
        )
        try:
            keyring = await asyncio.wait_for(
                _in_daemon_thread(platform.secrets.backend_name), self.KEYRING_TIMEOUT
            )
        except TimeoutError:
            keyring = f"no answer within {self.KEYRING_TIMEOUT:g} s"
        except Exception as exc:  # a missing keyring is not what this test is about
            keyring = f"unavailable ({type(exc).__name__}: {exc})"
        # multiprocessing's spawn runs a frozen application again: one round trip to a
        # worker proves that path (the launcher's freeze_support) works.
        pool = getattr(getattr(platform, "process_mining", None), "pool", None)
        worker = await asyncio.wait_for(pool.run(os.getpid), 60) if pool is not None else None
        if worker == os.getpid():
            raise RuntimeError("the process-mining worker ran in the application's process")
        pages = self._build_every_page()
        if self._done:
            return
        print(f"smoke test: window shown, {len(services)} services started", flush=True)
        print(f"smoke test: {pages} pages built", flush=True)
        print(f"smoke test: database {platform.database.description}", flush=True)
        print(f"smoke test: keyring {keyring}", flush=True)
        if worker is not None:
            print(f"smoke test: a process-mining worker answered (pid {worker})", flush=True)
        if not_ok:
            print(f"smoke test: not healthy: {', '.join(not_ok)}", flush=True)
        self.passed = True
        self._close()

    def _build_every_page(self) -> int:
        """Pages are imported when first opened, charts and pandas with them: build each
        (a frozen application fails here if something was left out), then go back."""
        from auterity_desktop.ui.pages import PAGES

        current = self.window.current_page()
        for spec in PAGES:
            self.window.show_page(spec.key)
        if current is not None:
            self.window.show_page(current)
        return len(PAGES)

    def _check_failed(self, exc: BaseException) -> None:
        self.errors.append(f"the check failed: {type(exc).__name__}: {exc}")
        self._close()

    def _start_failed(self, exc: BaseException) -> None:
        self.errors.append(f"the platform failed to start: {type(exc).__name__}: {exc}")
        self._close()

    def _timed_out(self) -> None:
        self.errors.append(f"timed out after {self._timeout:g} s (platform {self.bridge.state})")
        self._close()

    def _close(self) -> None:
        if not self._done:
            self._done = True
            self._timer.stop()
            self.window.close()

    def finish(self) -> int:
        """The exit code, after the loop ended; reasons for a failure go to stderr."""
        errors = list(self.errors)
        errors += [f"unexpected error:\n{report}" for report in self.crash.reports]
        for error in errors:
            print(f"smoke test: {error}", file=sys.stderr, flush=True)
        if not self.passed and not errors:
            print("smoke test: the window closed before the check ended", file=sys.stderr)
        return 0 if self.passed and not errors else 1
