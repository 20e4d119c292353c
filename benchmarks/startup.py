"""Start-up time: process start → main window shown, against a bare PySide6 window.

Each measurement launches a fresh interpreter (offscreen Qt) and times from just before the
process is spawned until the child prints SHOWN from the event loop's first turn after
``show()``. Runs alternate between the two programs so that both see the same machine
state; the first run of each is a discarded warm-up (disk cache). Prints both medians and
their ratio; exits 1 when the ratio exceeds the target.

    python benchmarks/startup.py [--runs 5] [--target 3.0]
"""

from __future__ import annotations

import _unshadow  # noqa: F401 - must come first, see its docstring

# isort: split

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1280, 800)
window.show()
QTimer.singleShot(0, lambda: (print("SHOWN", flush=True), window.close(), app.quit()))
app.exec()
"""

APP = """
from auterity_desktop.ui.app import run_gui
def shown(window):
    print("SHOWN", flush=True)
    window.close()
raise SystemExit(run_gui(["auterity"], on_shown=shown))
"""


def measure(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "SHOWN":
            elapsed = time.perf_counter() - started
            break
    else:
        raise SystemExit(
            f"child never showed its window:\n{child.stderr.read() if child.stderr else ''}"
        )
    _, err = child.communicate(timeout=60)
    if child.returncode != 0:
        raise SystemExit(f"child exited with {child.returncode}:\n{err}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--target", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "AUTERITY_DATA_DIR": data_dir,
            "AUTERITY_CONFIG_FILE": os.path.join(data_dir, "settings.toml"),
        }
        measure(BARE, env)  # warm-ups: fill the disk cache, create the database
        measure(APP, env)
        bare, app = [], []
        for _ in range(args.runs):
            bare.append(measure(BARE, env))
            app.append(measure(APP, env))
    bare_median = statistics.median(bare)
    app_median = statistics.median(app)
    ratio = app_median / bare_median
    print(f"bare PySide6 window : median {bare_median:.3f} s  runs {[round(x, 3) for x in bare]}")
    print(f"Auterity main window: median {app_median:.3f} s  runs {[round(x, 3) for x in app]}")
    verdict = "OK" if ratio <= args.target else "TOO SLOW"
    print(f"ratio {ratio:.2f} (target ≤ {args.target:.1f}): {verdict}")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
