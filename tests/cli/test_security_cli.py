from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auterity_desktop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=dict(os.environ),
    )


def test_first_admin_audit_verify_export_and_tamper(data_dir: Path, tmp_path: Path) -> None:
    created = cli(
        "user", "create", "alice", "--admin", "--password-stdin", stdin="Correct-Horse-42!\n"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created admin alice"
    again = cli("user", "create", "bob", "--admin", "--password-stdin", stdin="Another-Pass-777\n")
    assert again.returncode == 1
    assert "Users already exist" in again.stderr

    verified = cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK: All 1 entries verify.")

    export = tmp_path / "trail.jsonl"
    exported = cli("audit", "export", str(export))
    assert exported.returncode == 0
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [e["action"] for e in lines] == ["user.created"]
    assert cli("audit", "verify", "--file", str(export)).returncode == 0
    csv_export = tmp_path / "trail.csv"
    assert cli("audit", "export", str(csv_export), "--actor", "system").returncode == 0
    assert cli("audit", "verify", "--file", str(csv_export)).returncode == 0

    db = sqlite3.connect(data_dir / "auterity.db")
    db.execute("UPDATE audit_entries SET body = replace(body, 'alice', 'mallory') WHERE seq = 1")
    db.commit()
    db.close()
    tampered = cli("audit", "verify")
    assert tampered.returncode == 1
    assert tampered.stdout.startswith("FAILED at entry 1 (altered)")

    export.write_text("not json\n")
    broken = cli("audit", "verify", "--file", str(export))
    assert broken.returncode == 1
    assert "is not JSON" in broken.stderr
    assert "Traceback" not in broken.stderr
