"""``auterity gui --smoke-test``: the window opens, the services start, one line is printed
and the application exits by itself — 0 when it works, 1 with the reason when not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auterity_desktop import cli
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.platform import Platform
from auterity_desktop.ui.app import run_gui
from auterity_desktop.ui.pages import PAGES
from auterity_desktop.ui.tasks import TaskRunner


def test_smoke_test_prints_the_services_and_exits_0(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_gui(["auterity"], smoke_test=60) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("smoke test: window shown, ")
    assert out[0].endswith(" services started")
    assert int(out[0].split(", ")[1].split()[0]) >= 10
    assert f"smoke test: {len(PAGES)} pages built" in out
    assert f"smoke test: database SQLite · {data_dir / 'auterity.db'}" in out
    assert "smoke test: keyring keyring.backends.SecretService.Keyring" in out
    worker = next(line for line in out if "process-mining worker answered" in line)
    assert int(worker.rsplit(" ", 1)[1].rstrip(")")) != os.getpid()
    log = (data_dir / "logs" / "auterity.log").read_text()
    assert "platform started" in log
    assert "platform stopped" in log  # it closed the normal way, services stopped


def test_a_platform_that_fails_to_start_exits_1_with_the_reason(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def fail(_self: Platform) -> None:
        raise ServiceError(ErrorCode.SERVICE_START_FAILED, "the database is on fire")

    monkeypatch.setattr(Platform, "start", fail)
    assert run_gui(["auterity"], smoke_test=60) == 1
    captured = capsys.readouterr()
    assert "window shown" not in captured.out
    assert captured.err.splitlines()[0] == (
        "smoke test: the platform failed to start: ServiceError: "
        "SERVICE_START_FAILED: the database is on fire"
    )


def test_a_platform_that_never_starts_times_out(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def hang(_self: Platform) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(Platform, "start", hang)
    monkeypatch.setattr(TaskRunner.shutdown, "__defaults__", (0.1,))  # no 5 s grace here
    assert run_gui(["auterity"], smoke_test=1.0) == 1
    assert capsys.readouterr().err.splitlines() == [
        "smoke test: timed out after 1 s (platform starting)"
    ]


def test_the_command_line_option(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run_gui(**kwargs: Any) -> int:
        calls.append(kwargs)
        return 0

    monkeypatch.setattr("auterity_desktop.ui.app.run_gui", fake_run_gui)
    assert cli.main(["gui", "--smoke-test"]) == 0
    assert cli.main(["gui", "--smoke-test", "5"]) == 0
    assert cli.main(["gui"]) == 0
    assert calls == [{"smoke_test": cli.SMOKE_TEST_TIMEOUT}, {"smoke_test": 5.0}, {}]
    assert cli.main(["gui", "--smoke-test", "0"]) == cli.EXIT_USAGE
    assert "--smoke-test" not in cli.build_parser().format_help()


def test_smoke_test_through_the_real_command(data_dir: Path) -> None:
    """As the packaged application runs it: a process of its own, the ``auterity`` entry."""
    done = subprocess.run(
        [sys.executable, "-m", "auterity_desktop", "gui", "--smoke-test", "60"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("smoke test: window shown, ")
