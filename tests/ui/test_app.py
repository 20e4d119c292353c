"""The real start-up path, ``run_gui``, from settings to a clean shutdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from auterity_desktop.ui.app import run_gui


def test_run_gui_shows_the_window_starts_services_and_cleans_up(data_dir: Path) -> None:
    seen: dict[str, Any] = {}

    def on_shown(window: Any) -> None:
        seen["visible"] = window.isVisible()
        seen["title"] = window.windowTitle()

        def when_running() -> None:
            if window.bridge.state != "running":
                QTimer.singleShot(20, when_running)
                return
            seen["platform"] = window.bridge.platform
            seen["database"] = window.status.database_label.text()
            window.close()

        when_running()

    assert run_gui(["auterity"], on_shown=on_shown) == 0
    assert seen["visible"] is True
    assert seen["title"] == "Auterity Desktop"
    assert seen["database"] == f"Database: SQLite · {data_dir / 'auterity.db'}"
    platform = seen["platform"]
    assert not platform.running
    assert platform.registry.running == []
    log = [
        json.loads(line) for line in (data_dir / "logs" / "auterity.log").read_text().splitlines()
    ]
    assert [e["message"] for e in log if e["logger"] == "auterity_desktop.platform"] == [
        "platform started",
        "platform stopped",
    ]
    assert (data_dir / "ui-state.ini").exists()


def test_bad_setting_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALERT_THRESHOLD", "high")
    assert run_gui(["auterity"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "auterity-desktop: Invalid setting ALERT_THRESHOLD='high' (from environment): "
        "allowed is a number above 0 and at most 1."
    ]


def test_sigterm_closes_the_window_and_stops_services(data_dir: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "from auterity_desktop.ui.app import run_gui\n"
        "def shown(window):\n"
        "    print('SHOWN', flush=True)\n"
        "raise SystemExit(run_gui(['auterity'], on_shown=shown))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "SHOWN"
    log_path = data_dir / "logs" / "auterity.log"
    deadline = time.monotonic() + 60
    while "platform started" not in (log_path.read_text() if log_path.exists() else ""):
        assert time.monotonic() < deadline, "services never started"
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    messages = [json.loads(line)["message"] for line in log_path.read_text().splitlines()]
    assert messages[-1] == "platform stopped"
