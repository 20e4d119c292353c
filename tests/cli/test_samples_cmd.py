"""``auterity samples load``: the sample pack without the window, audited under the OS user."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from auterity_desktop.cli import main


def test_samples_load_prints_what_it_made_and_is_idempotent(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    assert main(["samples", "load"]) == 0
    out, err = capsys.readouterr()
    assert "[  0%] Creating the sample queues" in err and "[100%] Samples loaded" in err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("workflow")] == [
        "workflow  dlq_alerting",
        "workflow  inventory_price_check",
        "workflow  lead_follow_up",
        "workflow  service_appointment_reminder",
    ]
    assert f"event log {data_dir / 'samples' / 'service_repair_orders.csv'}" in lines
    assert "model     lead-conversion 2024.11" in lines
    assert (data_dir / "samples" / "repair_orders_2024.csv").exists()
    assert main(["samples", "load"]) == 0
    again = capsys.readouterr().out
    assert "already there, left as they were: Dead-letter alerting" in again
    assert main(["audit", "export", str(data_dir / "audit.jsonl")]) == 0
    audit = (data_dir / "audit.jsonl").read_text(encoding="utf-8")
    assert f'"actor":"cli:{getpass.getuser()}"' in audit.replace(" ", "")
    assert "workflow.created" in audit


def test_samples_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["samples"])
    assert info.value.code == 2
    assert "required: ACTION" in capsys.readouterr().err
