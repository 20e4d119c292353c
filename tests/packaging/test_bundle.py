"""The PyInstaller bundle: ``packaging/build.sh`` builds it once for this module into a
temporary folder, then the bundled ``auterity`` runs — ``--version``, the window offscreen
(``gui --smoke-test``: services, keyring, a process-mining worker, every page), and after
``install.sh`` copied the bundle elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auterity_desktop import APP_ID, APP_NAME, __version__
from auterity_desktop.ui.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 900
RUN_TIMEOUT = 180
# The bundle was about 405 MB with PySide6 6.11, pyarrow 26 and scipy 1.17 (pyarrow's
# libraries are a quarter of it); a much bigger one has picked up something it should not.
MAX_BUNDLE_MB = 520


def _prebuilt(folder: Path) -> Path:
    """The bundle tests/run_all.sh builds beside the test run (AUTERITY_TEST_BUNDLE):
    wait for its build to end and take it."""
    deadline = time.monotonic() + BUILD_TIMEOUT
    while not (folder / "rc").exists():
        assert time.monotonic() < deadline, "the bundle's build did not end in time"
        time.sleep(1)
    log = (folder / "log").read_text(encoding="utf-8", errors="replace")
    assert (folder / "rc").read_text().strip() == "0", log[-8000:]
    print(f"\nbundle built beside the tests: {log.strip().splitlines()[-1:]}")
    return folder / "dist" / "auterity"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prebuilt = os.environ.get("AUTERITY_TEST_BUNDLE")
    if prebuilt:
        app = _prebuilt(Path(prebuilt))
        assert (app / "auterity").is_file()
        return app
    work = tmp_path_factory.mktemp("pyinstaller")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DISTPATH": str(work / "dist"),
        "WORKPATH": str(work / "build"),
    }
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
    print(f"\nbundle built in {time.monotonic() - started:.0f} s: {done.stdout.strip()}")
    shutil.rmtree(work / "build", ignore_errors=True)  # PyInstaller's intermediate files
    app = work / "dist" / "auterity"
    assert (app / "auterity").is_file()
    return app


def run(
    program: Path, *args: str, data_dir: Path, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """The bundled program with a data folder and settings file of the test's own."""
    env = {
        **os.environ,
        "AUTERITY_DATA_DIR": str(data_dir),
        "AUTERITY_CONFIG_FILE": str(data_dir.parent / "settings.toml"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.pop("PYTHONPATH", None)  # the bundle must not need anything from outside
    return subprocess.run(
        [str(program), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version(bundle: Path, data_dir: Path) -> None:
    done = run(bundle / "auterity", "--version", data_dir=data_dir, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{APP_NAME} {__version__}"


def test_the_window_opens_offscreen_and_the_services_start(bundle: Path, data_dir: Path) -> None:
    done = run(bundle / "auterity", "gui", "--smoke-test", "120", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("smoke test: window shown, ")
    assert lines[0].endswith(" services started")
    assert int(lines[0].split(", ")[1].split()[0]) >= 10
    # every page imports in the bundle (pyqtgraph, pandas and the editor come with them)
    assert f"smoke test: {len(PAGES)} pages built" in lines
    assert f"smoke test: database SQLite · {data_dir / 'auterity.db'}" in lines
    # the keyring's backends are found in the bundle (the tests run with a Secret Service)
    assert "smoke test: keyring keyring.backends.SecretService.Keyring" in lines
    # multiprocessing's spawn ran the bundled executable as a worker (freeze_support)
    assert any(line.startswith("smoke test: a process-mining worker answered") for line in lines)
    assert "Traceback" not in done.stderr
    log = (data_dir / "logs" / "auterity.log").read_text()
    assert "platform stopped" in log
    assert '"level": "ERROR"' not in log


def test_the_bundle_is_lean(bundle: Path) -> None:
    internal = bundle / "_internal"
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"\nbundle size: {size / 1e6:.0f} MB")
    assert size < MAX_BUNDLE_MB * 1e6
    unwanted = [
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/translations",
        "PySide6/QtNetwork.abi3.so",
        "PySide6/QtTest.abi3.so",
        "libgtk-3.so.0",
        "pyarrow/include",
        "pyarrow/libarrow_flight.so.2600",
        "PIL",
        "mypy",
        "hypothesis",
        "pytest",
        "_pytest",
        "setuptools",
    ]
    assert [name for name in unwanted if (internal / name).exists()] == []
    # what the application reads at run time
    resources = internal / "auterity_desktop" / "resources"
    assert (resources / "icons" / "app-icon.svg").is_file()
    assert (resources / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").is_file()
    assert sorted((internal / "auterity_desktop/core/migrations/versions").glob("0001_*.py"))
    assert (internal / "PySide6/Qt/plugins/platforms/libqxcb.so").is_file()
    assert (internal / "PySide6/Qt/plugins/platforms/libqwayland.so").is_file()


def test_install_sh_installs_the_bundle_for_a_user(
    bundle: Path, data_dir: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "prefix"
    done = subprocess.run(
        ["bash", str(bundle / "install.sh"), "--prefix", str(prefix)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    program = prefix / "lib" / APP_ID / "auterity"
    assert (prefix / "bin" / "auterity").resolve() == program.resolve()
    entry = (prefix / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f'Exec="{program}" gui' in entry.splitlines()
    assert f"TryExec={program}" in entry.splitlines()
    icons = prefix / "share" / "icons" / "hicolor"
    assert (icons / "48x48" / "apps" / f"{APP_ID}.png").is_file()
    assert (icons / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    # the copy runs from its new place
    moved = run(prefix / "bin" / "auterity", "--version", data_dir=data_dir, timeout=60)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == f"{APP_NAME} {__version__}"

    done = subprocess.run(
        ["bash", str(bundle / "install.sh"), "--prefix", str(prefix), "--uninstall"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not (prefix / "bin" / "auterity").exists()
    assert not (prefix / "lib" / APP_ID).exists()
    assert not (prefix / "share" / "applications" / f"{APP_ID}.desktop").exists()
    assert list(icons.rglob(f"{APP_ID}.*")) == []
