"""A Qt warning fails the suite wherever it is printed: inside a test (pytest-qt with the
project's ``qt_log_level_fail = "WARNING"``), while a test's fixtures are torn down, and at
import or between tests (the session handler in ``tests/conftest.py``). Checked by running a
small suite with the project's own pytest configuration in a separate process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

INNER_CONFTEST = """
from tests.conftest import QtMessagesOutsideTests


def pytest_configure(config):
    config.pluginmanager.register(QtMessagesOutsideTests(config), "qt-messages-outside-tests")
"""

INNER_TESTS = """
import pytest
from PySide6 import QtCore

QtCore.qWarning("polish-check: printed at import")


def test_a_warning_fails(qapp):
    QtCore.qWarning("polish-check: printed by the test")


def test_a_critical_message_fails(qapp):
    QtCore.qCritical("polish-check: critical")


def test_a_debug_message_passes(qapp):
    QtCore.qDebug("polish-check: only debugging")


def test_an_ignored_warning_passes(qapp):
    QtCore.qWarning("This plugin does not support propagateSizeHints()")


def test_clean_passes(qapp):
    pass


@pytest.fixture
def warns_in_teardown(qapp):
    yield
    QtCore.qWarning("polish-check: printed in teardown")


def test_a_warning_in_teardown_fails(warns_in_teardown):
    pass


@pytest.mark.no_qt_log
def test_no_qt_log_opts_out(warns_in_teardown):
    QtCore.qWarning("polish-check: the test asked not to be told")
"""


# Under pytest-xdist (the README's test command) only the workers import the tests.
INNER_QUIET_TESTS = """
from PySide6 import QtCore

QtCore.qWarning("polish-check: printed at import")


def test_clean_passes(qapp):
    pass


def test_clean_passes_too(qapp):
    pass
"""


def run_inner(folder: Path, tests: str, *options: str) -> tuple[int, str]:
    (folder / "conftest.py").write_text(INNER_CONFTEST, encoding="utf-8")
    (folder / "test_inner.py").write_text(tests, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(  # the project's configuration: -c pyproject.toml
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-p",
         "no:cacheprovider", "-rA", "-q", *options, str(folder / "test_inner.py")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def inner_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    return run_inner(tmp_path_factory.mktemp("qt_warnings"), INNER_TESTS)


def outcomes(output: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for kind, name in re.findall(r"^(PASSED|FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE):
        found.setdefault(name, set()).add(kind)
    return found


def test_the_project_fails_tests_on_qt_warnings(request: pytest.FixtureRequest) -> None:
    assert request.config.getini("qt_log_level_fail") == "WARNING"
    # ...and this session listens outside tests too
    assert request.config.pluginmanager.get_plugin("qt-messages-outside-tests") is not None


def test_a_qt_warning_inside_a_test_fails_it(inner_run: tuple[int, str]) -> None:
    code, output = inner_run
    results = outcomes(output)
    assert results["test_a_warning_fails"] == {"FAILED"}, output
    assert "polish-check: printed by the test" in output
    assert results["test_a_critical_message_fails"] == {"FAILED"}, output
    assert results["test_a_debug_message_passes"] == {"PASSED"}, output
    assert results["test_an_ignored_warning_passes"] == {"PASSED"}, output
    assert results["test_clean_passes"] == {"PASSED"}, output
    assert code == pytest.ExitCode.TESTS_FAILED


def test_a_qt_warning_in_teardown_fails_the_teardown(inner_run: tuple[int, str]) -> None:
    _code, output = inner_run
    results = outcomes(output)
    assert results["test_a_warning_in_teardown_fails"] == {"PASSED", "ERROR"}, output
    assert "polish-check: printed in teardown" in output
    assert results["test_no_qt_log_opts_out"] == {"PASSED"}, output


def test_a_qt_warning_outside_any_test_fails_the_session(inner_run: tuple[int, str]) -> None:
    _code, output = inner_run
    summary = output.split("Qt messages outside tests", 1)
    assert len(summary) == 2, output
    assert "polish-check: printed at import" in summary[1]


def test_a_qt_warning_in_a_parallel_worker_fails_the_session(tmp_path: Path) -> None:
    code, output = run_inner(tmp_path, INNER_QUIET_TESTS, "-n", "2")
    results = outcomes(output)
    assert results["test_clean_passes"] == {"PASSED"}, output
    assert results["test_clean_passes_too"] == {"PASSED"}, output
    summary = output.split("Qt messages outside tests", 1)
    assert len(summary) == 2, output
    assert "polish-check: printed at import" in summary[1]
    assert code == pytest.ExitCode.TESTS_FAILED, output
