"""The workflow and run commands, including a run killed with SIGKILL and resumed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auterity_desktop", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=dict(os.environ),
    )


def write(path: Path, nodes: list[dict], edges: list[tuple[str, str]]) -> Path:
    doc = {
        "name": path.stem,
        "nodes": [{"name": n["id"], "params": {}, **n} for n in nodes],
        "edges": [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(edges)],
    }
    path.write_text(json.dumps(doc))
    return path


def test_validate_import_export_and_run(data_dir: Path, tmp_path: Path) -> None:
    good = write(
        tmp_path / "quote.json",
        [
            {"id": "t", "type": "manual_trigger"},
            {
                "id": "quote",
                "type": "set_fields",
                "params": {"fields": {"total": "{{ $params.price * $params.qty }}"}},
            },
        ],
        [("t", "quote")],
    )
    checked = cli("workflow", "validate", str(good))
    assert checked.returncode == 0
    assert "'quote' is valid (2 nodes, 1 edges)" in checked.stdout
    bad = write(tmp_path / "bad.json", [{"id": "d", "type": "delay"}], [("d", "ghost")])
    checked = cli("workflow", "validate", str(bad))
    assert checked.returncode == 1
    assert "e0: DANGLING_EDGE" in checked.stdout
    assert "d: MISSING_PARAM: seconds is required" in checked.stdout
    assert "NO_TRIGGER" in checked.stdout
    (tmp_path / "broken.json").write_text("{nope")
    assert cli("workflow", "validate", str(tmp_path / "broken.json")).returncode == 1

    ran = cli("workflow", "run", str(good), "--param", "price=100", "--param", "qty=3", "--watch")
    assert ran.returncode == 0, ran.stderr
    assert "quote: succeeded" in ran.stdout
    assert '"total": 300' in ran.stdout
    failed = cli("workflow", "run", str(good), "--param", "price=oops", "--param", "qty=null")
    assert failed.returncode == 1
    assert "cannot apply '*' to str and NoneType" in failed.stdout

    imported = cli("workflow", "import", str(good))
    workflow_id = imported.stdout.split(" as ")[1].split()[0]
    out = tmp_path / "out.json"
    assert cli("workflow", "export", workflow_id, str(out)).returncode == 0
    assert json.loads(out.read_text())["name"] == "quote"
    listing = cli("run", "list")
    assert listing.stdout.count("succeeded") == 1
    assert listing.stdout.count("failed") == 1


def test_sigkill_mid_run_then_resume_runs_no_finished_node_twice(
    data_dir: Path, tmp_path: Path
) -> None:
    flow = write(
        tmp_path / "crash.json",
        [
            {"id": "t", "type": "manual_trigger"},
            {"id": "stamp", "type": "set_fields", "params": {"fields": {"stamped": True}}},
            {"id": "wait", "type": "delay", "params": {"seconds": "{{ $params.wait }}"}},
            {"id": "end", "type": "log"},
        ],
        [("t", "stamp"), ("stamp", "wait"), ("wait", "end")],
    )
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auterity_desktop",
            "workflow",
            "run",
            str(flow),
            "--param",
            "wait=2",
            "--watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    )
    assert child.stdout is not None
    run_id = None
    deadline = time.monotonic() + 60
    for line in child.stdout:
        if line.startswith("run ") and "started" in line:
            run_id = line.split()[1]
        if "stamp: succeeded" in line:
            break
        assert time.monotonic() < deadline
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)  # reaps the process and closes its pipes
    assert run_id is not None
    db = sqlite3.connect(data_dir / "auterity.db")
    before = db.execute(
        "SELECT status, started_at FROM node_runs WHERE run_id=? AND node_id='stamp'", (run_id,)
    ).fetchone()
    assert before[0] == "succeeded"
    assert db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()[0] == "running"
    db.close()

    status = cli("run", "status", run_id)
    assert status.returncode == 0
    resumed = cli("run", "resume", run_id, "--watch")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"run {run_id}: succeeded (100%)" in resumed.stdout
    assert "stamp: succeeded" not in resumed.stdout  # it did not run again
    db = sqlite3.connect(data_dir / "auterity.db")
    after = db.execute(
        "SELECT status, started_at, attempt FROM node_runs WHERE run_id=? AND node_id='stamp'",
        (run_id,),
    ).fetchone()
    end = db.execute(
        "SELECT status FROM node_runs WHERE run_id=? AND node_id='end'", (run_id,)
    ).fetchone()
    db.close()
    assert after == (before[0], before[1], 1)
    assert end[0] == "succeeded"


def test_approve_and_cancel_from_another_process(data_dir: Path, tmp_path: Path) -> None:
    ask = tmp_path / "discount.json"
    ask.write_text(
        json.dumps(
            {
                "name": "discount",
                "nodes": [
                    {"id": "t", "name": "t", "type": "manual_trigger"},
                    {
                        "id": "ask",
                        "name": "ask",
                        "type": "approval",
                        "params": {"message": "Give 12% off?"},
                    },
                    {"id": "yes", "name": "yes", "type": "log"},
                ],
                "edges": [{"id": "e1", "source": "t", "target": "ask"},
                          {"id": "e2", "source": "ask", "source_port": "approved",
                           "target": "yes"}],
            }
        )
    )  # fmt: skip
    parked = cli("workflow", "run", str(ask), "--param", "deal=7")
    assert parked.returncode == 3, parked.stdout + parked.stderr
    assert "ask waits for approval: Give 12% off?" in parked.stdout
    run_id = parked.stdout.split()[1]
    assert "waiting" in cli("run", "list", "--status", "waiting").stdout
    approved = cli("run", "approve", run_id, "--comment", "regular customer", "--watch")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert f"run {run_id}: succeeded" in approved.stdout
    assert '"regular customer"' in approved.stdout
    assert cli("run", "approve", run_id).returncode != 0  # nothing left to decide

    slow = write(
        tmp_path / "slow.json",
        [{"id": "t", "type": "manual_trigger"}, {"id": "wait", "type": "delay",
          "params": {"seconds": 60}}],
        [("t", "wait")],
    )  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-m", "auterity_desktop", "workflow", "run", str(slow)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    assert "started" in first, first
    busy_id = first.split()[1]
    cancelled = cli("run", "cancel", busy_id)  # a second process: must not steal the run
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert "asked it to stop" in cancelled.stdout
    assert f"run {busy_id}: cancelled" in cancelled.stdout
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 1
    assert f"run {busy_id}: cancelled" in out
