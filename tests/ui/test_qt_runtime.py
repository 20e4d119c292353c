"""Guards against Qt binding regressions that only show after many event-loop callbacks."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import asyncio
from PySide6.QtWidgets import QApplication
import qasync
app = QApplication([])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
async def spin():
    for _ in range(5000):
        await asyncio.sleep(0)
loop.run_until_complete(spin())
loop.close()
print("clean exit")
"""


def test_many_qasync_callbacks_do_not_corrupt_the_interpreter() -> None:
    # PySide6 6.12.0 over-released True/False in QObject.killTimer; the process aborted.
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert "bool_dealloc" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean exit"
