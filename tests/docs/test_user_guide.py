"""The user guide: every picture it shows exists, and the screenshot script produces every
one of them in a single run of the real application (offscreen here; under Xvfb for the
committed pictures), following the walkthrough the guide describes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from auterity_desktop.ui.guide_viewer import guide_path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "user-guide.md"
PNG = b"\x89PNG\r\n\x1a\n"


def pictures() -> list[str]:
    return re.findall(r"!\[[^\]]*\]\((images/[^)]+\.png)\)", GUIDE.read_text(encoding="utf-8"))


def test_the_guide_shows_every_step_and_ships_with_the_application() -> None:
    names = pictures()
    assert [n for n in names if n.startswith("images/guide-")] == [
        "images/guide-welcome.png",
        "images/guide-samples.png",
        "images/guide-editor.png",
        "images/guide-run.png",
        "images/guide-dashboard.png",
        "images/guide-mining.png",
        "images/guide-audit.png",
        "images/guide-help.png",
    ]
    for name in names:
        assert (GUIDE.parent / name).read_bytes().startswith(PNG), name
    assert guide_path().resolve() == GUIDE.resolve()  # what Help ▸ User guide opens
    assert "docs/user-guide.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_screenshot_script_takes_the_whole_walkthrough_in_one_run(tmp_path: Path) -> None:
    out = tmp_path / "pictures"
    out.mkdir()
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "AUTERITY_SCREENSHOT_DIR": str(out),
        "AUTERITY_DATA_DIR": str(tmp_path / "data"),  # one fresh data folder: one run
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "take_screenshots.py"), "guide"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wanted = [Path(n).name for n in pictures() if n.startswith("images/guide-")]
    assert sorted(p.name for p in out.iterdir()) == sorted(wanted)
    for name in wanted:
        assert (out / name).read_bytes().startswith(PNG)
        assert (out / name).stat().st_size > 20_000, name  # a picture, not a blank
    log = (tmp_path / "data" / "logs" / "auterity.log").read_text(encoding="utf-8")
    assert '"level": "ERROR"' not in log
